-- Cash reconciliation per legal entity x deposit day (docs/marts.md): what the 835s
-- (BPR02) and the patient transactions' lockbox batches say should reach the bank against
-- the BAI2 deposits, and where they part. Per row:
--   deposit_amount - expected_amount
--     = unmatched_deposit_amount - unmatched_remittance_amount + mismatch_difference_amount
-- A day is reconciled when every receipt matched its deposit to the cent.
with

items as (
    select * from {{ ref('fct_cash_reconciliation_items') }}
),

periods as (
    select * from {{ ref('dim_accounting_period') }}
),

days as (
    select
        legal_entity_id,
        deposit_date,
        sum(case when receipt_source = 'era' and receipt_key is not null then 1 else 0 end) as remittance_count,
        sum(
            case when receipt_source = 'era' then coalesce(remittance_amount, 0) else 0 end
        ) as remittance_amount,
        sum(
            case when receipt_source = 'lockbox' then coalesce(remittance_amount, 0) else 0 end
        ) as patient_cash_amount,
        sum(coalesce(remittance_amount, 0)) as expected_amount,
        sum(case when deposit_key is not null then 1 else 0 end) as deposit_count,
        sum(
            case when receipt_source = 'era' then coalesce(deposit_amount, 0) else 0 end
        ) as payer_deposit_amount,
        sum(
            case when receipt_source = 'lockbox' then coalesce(deposit_amount, 0) else 0 end
        ) as lockbox_deposit_amount,
        sum(coalesce(deposit_amount, 0)) as deposit_amount,
        sum(case when match_status = 'matched' then 1 else 0 end) as matched_count,
        sum(case when match_status = 'matched' then deposit_amount else 0 end) as matched_amount,
        sum(case when match_status = 'remittance_without_deposit' then 1 else 0 end) as unmatched_remittance_count,
        sum(
            case when match_status = 'remittance_without_deposit' then remittance_amount else 0 end
        ) as unmatched_remittance_amount,
        sum(case when match_status = 'deposit_without_remittance' then 1 else 0 end) as unmatched_deposit_count,
        sum(
            case when match_status = 'deposit_without_remittance' then deposit_amount else 0 end
        ) as unmatched_deposit_amount,
        sum(case when match_status = 'amount_mismatch' then 1 else 0 end) as mismatch_count,
        sum(
            case when match_status = 'amount_mismatch' then difference_amount else 0 end
        ) as mismatch_difference_amount,
        sum(
            case when match_status = 'amount_mismatch' and is_plb_explained then difference_amount else 0 end
        ) as plb_difference_amount
    from items
    group by 1, 2
),

final as (
    select
        days.legal_entity_id,
        days.deposit_date,
        coalesce(periods.period_id, 'UNMAPPED') as period_id,
        cast(days.remittance_count as bigint) as remittance_count,
        cast(days.remittance_amount as decimal(18, 2)) as remittance_amount,
        cast(days.patient_cash_amount as decimal(18, 2)) as patient_cash_amount,
        cast(days.expected_amount as decimal(18, 2)) as expected_amount,
        cast(days.deposit_count as bigint) as deposit_count,
        cast(days.payer_deposit_amount as decimal(18, 2)) as payer_deposit_amount,
        cast(days.lockbox_deposit_amount as decimal(18, 2)) as lockbox_deposit_amount,
        cast(days.deposit_amount as decimal(18, 2)) as deposit_amount,
        cast(days.matched_count as bigint) as matched_count,
        cast(days.matched_amount as decimal(18, 2)) as matched_amount,
        cast(days.unmatched_remittance_count as bigint) as unmatched_remittance_count,
        cast(days.unmatched_remittance_amount as decimal(18, 2)) as unmatched_remittance_amount,
        cast(days.unmatched_deposit_count as bigint) as unmatched_deposit_count,
        cast(days.unmatched_deposit_amount as decimal(18, 2)) as unmatched_deposit_amount,
        cast(days.mismatch_count as bigint) as mismatch_count,
        cast(days.mismatch_difference_amount as decimal(18, 2)) as mismatch_difference_amount,
        cast(days.plb_difference_amount as decimal(18, 2)) as plb_difference_amount,
        cast(
            days.unmatched_remittance_count + days.unmatched_deposit_count + days.mismatch_count as bigint
        ) as exception_count,
        days.unmatched_remittance_count + days.unmatched_deposit_count + days.mismatch_count = 0
            as is_reconciled
    from days
    left join periods
        on days.deposit_date between periods.period_start_date and periods.period_end_date
)

select * from final
