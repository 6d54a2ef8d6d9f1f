-- Claim-level A/R subledger (docs/marts.md "A/R subledger"): one row per claim chain x
-- accounting period end with a balance, from fct_ar_claim_transactions posted on or before
-- the period end:
--   gross   = charges - payments - contractual adjustments - denials - patient responsibility
--             (payer A/R, 1200)
--   reserve = contractual reserve booked - released (1290)
--   net     = gross - reserve (A/R at expected value)
-- Days outstanding are counted from the discharge (statement_to_date) and from the bill date
-- (the chain's first submission); a claim not yet billed at the period end (DNFB) has no
-- bill-date age. Claims that cannot be placed are AR_UNPLACED rows of
-- mart_reconciliation_exceptions instead. No patient-level data: the claim id is a billing
-- source reference (DESIGN.md, PHI policy).
with

transactions as (
    select * from {{ ref('fct_ar_claim_transactions') }}
    where is_placed
),

claims as (
    select * from {{ ref('fct_claims') }}
),

periods as (
    select * from {{ ref('dim_accounting_period') }}
),

chain_dates as (
    select
        root_claim_id,
        min(submitted_date) as bill_date,
        max(case when is_current_version then statement_to_date end) as discharge_date,
        max(case when is_current_version then claim_type end) as claim_type
    from claims
    group by root_claim_id
),

chains as (
    select
        claim_id,
        max(current_claim_id) as current_claim_id,
        max(legal_entity_id) as legal_entity_id,
        max(facility_id) as facility_id,
        max(payer_code) as payer_code,
        max(payer_class) as payer_class,
        max(service_line_code) as service_line_code,
        min(posting_date) as first_posting_date
    from transactions
    group by claim_id
),

period_activity as (
    select
        claim_id,
        period_id,
        sum(gross_change_amount) as gross_change_amount,
        sum(reserve_change_amount) as reserve_change_amount,
        sum(charge_amount) as charge_amount,
        sum(reserve_booked_amount) as reserve_booked_amount
    from transactions
    group by claim_id, period_id
),

claim_periods as (
    -- every period end from the chain's first posting on
    select chains.*, periods.period_id, periods.period_end_date
    from chains
    inner join periods on periods.period_end_date >= chains.first_posting_date
),

balances as (
    select
        claim_periods.*,
        sum(coalesce(period_activity.gross_change_amount, 0)) over (
            partition by claim_periods.claim_id order by claim_periods.period_end_date
            rows between unbounded preceding and current row
        ) as gross_balance_amount,
        sum(coalesce(period_activity.reserve_change_amount, 0)) over (
            partition by claim_periods.claim_id order by claim_periods.period_end_date
            rows between unbounded preceding and current row
        ) as reserve_balance_amount,
        sum(coalesce(period_activity.charge_amount, 0)) over (
            partition by claim_periods.claim_id order by claim_periods.period_end_date
            rows between unbounded preceding and current row
        ) as charges_to_date_amount,
        sum(coalesce(period_activity.reserve_booked_amount, 0)) over (
            partition by claim_periods.claim_id order by claim_periods.period_end_date
            rows between unbounded preceding and current row
        ) as reserve_booked_to_date_amount
    from claim_periods
    left join period_activity
        on period_activity.claim_id = claim_periods.claim_id
        and period_activity.period_id = claim_periods.period_id
),

final as (
    select
        {{ surrogate_key(['balances.claim_id', 'balances.period_id']) }} as ar_subledger_key,
        balances.period_id,
        balances.period_end_date,
        balances.claim_id,
        balances.current_claim_id,
        balances.legal_entity_id,
        balances.facility_id,
        balances.payer_code,
        balances.payer_class,
        balances.service_line_code,
        chain_dates.claim_type,
        chain_dates.discharge_date,
        chain_dates.bill_date,
        chain_dates.bill_date <= balances.period_end_date as is_billed,
        cast(
            {{ dbt.datediff('chain_dates.discharge_date', 'balances.period_end_date', 'day') }}
            as integer
        ) as days_outstanding_from_discharge,
        case
            when chain_dates.bill_date <= balances.period_end_date
                then cast(
                    {{ dbt.datediff('chain_dates.bill_date', 'balances.period_end_date', 'day') }}
                    as integer
                )
        end as days_outstanding_from_bill,
        {{ money('balances.charges_to_date_amount') }} as charges_to_date_amount,
        {{ money('balances.charges_to_date_amount - balances.reserve_booked_to_date_amount') }}
            as expected_reimbursement_amount,
        {{ money('balances.gross_balance_amount') }} as gross_balance_amount,
        {{ money('balances.reserve_balance_amount') }} as reserve_balance_amount,
        {{ money('balances.gross_balance_amount - balances.reserve_balance_amount') }} as net_balance_amount
    from balances
    inner join chain_dates on chain_dates.root_claim_id = balances.claim_id
    where balances.gross_balance_amount <> 0 or balances.reserve_balance_amount <> 0
)

select * from final
