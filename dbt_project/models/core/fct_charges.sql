-- Gross charges that count: the lines of the current version of each claim chain that
-- is not voided, dated by the claim's statement_to_date and placed in its accounting
-- period. Feeds the month-end revenue accrual. Each line carries its chain's bill date (the
-- first submission of any version) and the period of that date: a chain billed after the end
-- of its charge period is discharged-not-final-billed (DNFB) at that period end, so its charges
-- accrue to unbilled A/R there and move to payer A/R at the end of the period it is billed in
-- (docs/accounting_policy.md, section 1).
with

claim_lines as (
    select * from {{ ref('int_claim_lines__attributed') }}
    where is_current_version and not is_voided
),

claims as (
    select * from {{ ref('int_claims__attributed') }}
),

periods as (
    select * from {{ ref('dim_accounting_period') }}
),

chain_bills as (
    select root_claim_id, min(submitted_date) as bill_date
    from claims
    group by root_claim_id
),

line_chains as (
    select
        claim_lines.claim_line_key,
        chain_bills.bill_date
    from claim_lines
    inner join claims on claims.claim_id = claim_lines.claim_id
    left join chain_bills on chain_bills.root_claim_id = claims.root_claim_id
),

-- each charge or bill date mapped to its period once (a range join on distinct dates, not on lines)
date_periods as (
    select dates.period_date, periods.period_id, periods.period_end_date
    from (
        select statement_to_date as period_date from claim_lines
        union
        select bill_date from line_chains
    ) as dates
    left join periods
        on dates.period_date >= periods.period_start_date
        and dates.period_date <= periods.period_end_date
),

final as (
    select
        claim_lines.claim_line_key as charge_key,
        claim_lines.claim_line_key,
        claim_lines.claim_key,
        claim_lines.claim_id,
        claim_lines.line_number,
        claim_lines.statement_to_date as charge_date,
        charge_periods.period_id,
        line_chains.bill_date,
        bill_periods.period_id as bill_period_id,
        coalesce(
            line_chains.bill_date > charge_periods.period_end_date and bill_periods.period_id is not null, false
        ) as is_dnfb,
        coalesce(claim_lines.facility_id, 'UNMAPPED') as facility_id,
        coalesce(claim_lines.legal_entity_id, 'UNMAPPED') as legal_entity_id,
        coalesce(claim_lines.cost_center_id, 'UNMAPPED') as cost_center_id,
        coalesce(claim_lines.service_line_code, 'UNMAPPED') as service_line_code,
        claim_lines.revenue_category_code,
        coalesce(claim_lines.gl_account_id, 'UNMAPPED') as gl_account_id,
        claim_lines.procedure_code,
        claim_lines.revenue_code,
        claim_lines.units,
        claim_lines.charge_amount,
        claim_lines._batch_id
    from claim_lines
    left join line_chains on line_chains.claim_line_key = claim_lines.claim_line_key
    left join date_periods as charge_periods on charge_periods.period_date = claim_lines.statement_to_date
    left join date_periods as bill_periods on bill_periods.period_date = line_chains.bill_date
)

select * from final
