-- One row per expected bank receipt or bank deposit, paired on the reference both sides
-- carry: an 835 payment (BPR02, by its TRN02 trace number) or a lockbox batch of patient
-- cash (the patient transactions' deposit_reference) against a BAI2 detail (its customer
-- reference). Matching is on reference and amount first; what is left under a reference
-- then pairs in amount order, so nothing fans out and nothing is lost. Status:
--   matched                     both sides, same amount
--   amount_mismatch             both sides, amounts differ (is_plb_explained when the
--                               difference equals the 835's provider-level adjustments:
--                               the deposit carries the claim payments before the PLB)
--   remittance_without_deposit  an expected receipt that no deposit carries
--   deposit_without_remittance  a deposit whose reference no 835 or lockbox batch names
-- The legal entity is the deposit account's (the bank knows whose account it hit), else the
-- receipt's. 835s that move no money (BPR02 = 0, BPR04 = NON) expect no deposit and are
-- not rows.
with

remit_payments as (
    select * from {{ ref('int_remits__payments') }}
),

patient_transactions as (
    select * from {{ ref('int_billing__patient_transactions') }}
),

deposits as (
    select * from {{ ref('int_bank__deposits') }}
),

era_receipts as (
    select
        'era' as receipt_source,
        remit_payment_key as receipt_key,
        trace_number as reference,
        legal_entity_id,
        remit_date as receipt_date,
        payer_code,
        1 as item_count,
        payment_amount as remittance_amount,
        plb_amount
    from remit_payments
    where payment_amount <> 0
),

lockbox_receipts as (
    select
        'lockbox' as receipt_source,
        deposit_reference as receipt_key,
        deposit_reference as reference,
        coalesce(min(nullif(legal_entity_id, 'UNMAPPED')), 'UNMAPPED') as legal_entity_id,
        max(transaction_date) as receipt_date,
        'PATIENT' as payer_code,
        count(*) as item_count,
        sum(cash_amount) as remittance_amount,
        0 as plb_amount
    from patient_transactions
    where is_cash and deposit_reference is not null
    group by deposit_reference
),

receipts as (
    select * from era_receipts
    union all
    select * from lockbox_receipts
),

-- first pass: the same reference and the same amount (the n-th of each side pair up)
exact_receipts as (
    select
        *,
        row_number() over (partition by reference, remittance_amount order by receipt_key) as exact_seq
    from receipts
),

exact_deposits as (
    select
        *,
        row_number() over (partition by customer_reference, deposit_amount order by deposit_key) as exact_seq
    from deposits
),

exact_pairs as (
    select exact_receipts.receipt_key, exact_deposits.deposit_key
    from exact_receipts
    inner join exact_deposits
        on exact_deposits.customer_reference = exact_receipts.reference
        and exact_deposits.deposit_amount = exact_receipts.remittance_amount
        and exact_deposits.exact_seq = exact_receipts.exact_seq
),

-- second pass: what is left pairs on the reference alone, in amount order
ranked_receipts as (
    select
        receipts.*,
        coalesce(
            'E' || exact_pairs.deposit_key,
            'S' || cast(row_number() over (
                partition by receipts.reference, exact_pairs.deposit_key is null
                order by receipts.remittance_amount, receipts.receipt_key
            ) as {{ dbt.type_string() }})
        ) as match_seq
    from receipts
    left join exact_pairs on exact_pairs.receipt_key = receipts.receipt_key
),

ranked_deposits as (
    select
        deposits.*,
        coalesce(
            'E' || case when exact_pairs.receipt_key is not null then deposits.deposit_key end,
            'S' || cast(row_number() over (
                partition by deposits.customer_reference, exact_pairs.receipt_key is null
                order by deposits.deposit_amount, deposits.deposit_key
            ) as {{ dbt.type_string() }})
        ) as match_seq
    from deposits
    left join exact_pairs on exact_pairs.deposit_key = deposits.deposit_key
),

paired as (
    select
        ranked_receipts.receipt_source,
        ranked_receipts.receipt_key,
        ranked_receipts.reference as receipt_reference,
        ranked_receipts.legal_entity_id as receipt_legal_entity_id,
        ranked_receipts.receipt_date,
        ranked_receipts.payer_code,
        ranked_receipts.item_count,
        ranked_receipts.remittance_amount,
        ranked_receipts.plb_amount,
        ranked_deposits.deposit_key,
        ranked_deposits.customer_reference as deposit_reference,
        ranked_deposits.legal_entity_id as deposit_legal_entity_id,
        ranked_deposits.deposit_date,
        ranked_deposits.type_code,
        ranked_deposits.bank_account_number,
        ranked_deposits.deposit_amount,
        ranked_deposits._source_file as deposit_source_file
    from ranked_receipts
    full outer join ranked_deposits
        on ranked_deposits.customer_reference = ranked_receipts.reference
        and ranked_deposits.match_seq = ranked_receipts.match_seq
),

final as (
    select
        {{ surrogate_key(['receipt_key', 'deposit_key']) }} as item_key,
        coalesce(nullif(deposit_legal_entity_id, 'UNMAPPED'), receipt_legal_entity_id, 'UNMAPPED') as legal_entity_id,
        coalesce(deposit_date, receipt_date) as deposit_date,
        coalesce(receipt_source, case when type_code = '115' then 'lockbox' else 'era' end) as receipt_source,
        coalesce(receipt_reference, deposit_reference) as reference,
        case
            when receipt_key is null then 'deposit_without_remittance'
            when deposit_key is null then 'remittance_without_deposit'
            when remittance_amount <> deposit_amount then 'amount_mismatch'
            else 'matched'
        end as match_status,
        receipt_key is not null and deposit_key is not null and deposit_amount - remittance_amount = plb_amount
        and plb_amount <> 0 as is_plb_explained,
        receipt_key,
        deposit_key,
        receipt_date,
        deposit_date as bank_deposit_date,
        payer_code,
        coalesce(item_count, 0) as receipt_item_count,
        type_code as bank_type_code,
        bank_account_number,
        deposit_legal_entity_id,
        cast(remittance_amount as decimal(18, 2)) as remittance_amount,
        cast(deposit_amount as decimal(18, 2)) as deposit_amount,
        cast(coalesce(deposit_amount, 0) - coalesce(remittance_amount, 0) as decimal(18, 2)) as difference_amount,
        cast(coalesce(plb_amount, 0) as decimal(18, 2)) as plb_amount,
        deposit_source_file
    from paired
)

select * from final
