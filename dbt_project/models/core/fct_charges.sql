-- Gross charges that count: the lines of the current version of each claim chain that
-- is not voided, dated by the claim's statement_to_date and placed in its accounting
-- period. Feeds the month-end revenue accrual.
with

claim_lines as (
    select * from {{ ref('int_claim_lines__attributed') }}
    where is_current_version and not is_voided
),

periods as (
    select * from {{ ref('dim_accounting_period') }}
),

-- each charge date mapped to its period once (a range join on distinct dates, not on lines)
charge_periods as (
    select charge_dates.charge_date, periods.period_id
    from (select distinct statement_to_date as charge_date from claim_lines) as charge_dates
    left join periods
        on charge_dates.charge_date >= periods.period_start_date
        and charge_dates.charge_date <= periods.period_end_date
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
    left join charge_periods on charge_periods.charge_date = claim_lines.statement_to_date
)

select * from final
