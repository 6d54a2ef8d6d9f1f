{#-
    One row per cash reconciliation break (docs/marts.md), the same shape as
    mart_reconciliation_exceptions with the amounts of both sides:

      REMITTANCE_NO_DEPOSIT  an 835 payment (BPR02) or lockbox batch of patient cash that
                             no bank deposit carries; amount = the expected receipt
      DEPOSIT_NO_REMITTANCE  a bank deposit whose reference no 835 trace number or lockbox
                             batch names; amount = the deposit
      DEPOSIT_PLB_DIFFERENCE the deposit differs from BPR02 by exactly the 835's
                             provider-level adjustments; amount = deposit - BPR02
      DEPOSIT_AMOUNT_MISMATCH the deposit differs from its receipt by anything else;
                             amount = deposit - expected
      DEPOSIT_ACCOUNT_UNMAPPED a bank deposit on an account with no bank_account crosswalk
                             row (so on no legal entity of its own), matched or not; amount =
                             the deposit. It is a mapping break beside the match: it does not
                             move deposits - expected

    No patient-level identifiers: references are 835 trace numbers and lockbox batches.
-#}

with

all_items as (
    select * from {{ ref('fct_cash_reconciliation_items') }}
),

items as (
    select * from all_items
    where match_status <> 'matched'
),

classified as (
    select
        *,
        case
            when match_status = 'remittance_without_deposit' then 'REMITTANCE_NO_DEPOSIT'
            when match_status = 'deposit_without_remittance' then 'DEPOSIT_NO_REMITTANCE'
            when is_plb_explained then 'DEPOSIT_PLB_DIFFERENCE'
            else 'DEPOSIT_AMOUNT_MISMATCH'
        end as reason_code
    from items
),

match_breaks as (
    select
        reason_code,
        case when match_status = 'deposit_without_remittance' then 'remittance' else 'bank' end as checkpoint,
        item_key,
        legal_entity_id,
        deposit_date,
        receipt_source,
        reference,
        case
            when match_status = 'remittance_without_deposit' then remittance_amount
            when match_status = 'deposit_without_remittance' then deposit_amount
            else difference_amount
        end as amount,
        remittance_amount,
        deposit_amount,
        plb_amount,
        case
            when match_status = 'remittance_without_deposit' and receipt_source = 'era'
                then '835 payment with trace ' || coalesce(reference, '?')
                || ' has no bank deposit: ask the bank or the payer for the EFT'
            when match_status = 'remittance_without_deposit'
                then 'lockbox batch ' || coalesce(reference, '?')
                || ' of patient payments has no bank deposit: ask the bank for the lockbox report'
            when match_status = 'deposit_without_remittance'
                then 'bank deposit (type ' || coalesce(bank_type_code, '?') || ', reference '
                || coalesce(reference, 'none') || ') matches no 835 or lockbox batch: request the ERA'
            when is_plb_explained
                then 'deposit for trace ' || coalesce(reference, '?')
                || ' differs from BPR02 by the 835 provider-level adjustments (PLB)'
            else 'deposit for ' || coalesce(reference, '?') || ' differs from the expected amount'
        end as detail
    from classified
),

unmapped_accounts as (
    select
        'DEPOSIT_ACCOUNT_UNMAPPED' as reason_code,
        'mapping' as checkpoint,
        item_key,
        legal_entity_id,
        deposit_date,
        receipt_source,
        reference,
        deposit_amount as amount,
        remittance_amount,
        deposit_amount,
        plb_amount,
        'bank deposit on account ending ' || right(coalesce(bank_account_number, '????'), 4)
        || ' (' || coalesce(deposit_source_file, '?') || ') maps to no legal entity: add the account'
        || ' to erp/crosswalks.csv (entity bank_account)' as detail
    from all_items
    where deposit_key is not null and deposit_legal_entity_id = 'UNMAPPED'
),

breaks as (
    select * from match_breaks
    union all
    select * from unmapped_accounts
),

final as (
    select
        {{ dbt.hash("reason_code || '|' || item_key") }} as exception_key,
        reason_code,
        checkpoint,
        legal_entity_id,
        deposit_date as exception_date,
        receipt_source,
        reference,
        cast(amount as decimal(18, 2)) as amount,
        remittance_amount,
        deposit_amount,
        plb_amount,
        detail
    from breaks
)

select * from final
