{#-
    Service-line margin, one row per accounting period x facility x service line.

    Revenue basis (docs/marts.md):
      * gross charges, expected reimbursement and encounters: current, non-voided claim
        versions, in the period of the claim's statement_to_date;
      * payments, contractual adjustments, denials and patient responsibility: 835 claim
        payments (reversals negative), in the period of the remit date;
      * net revenue = gross charges - contractual adjustments - denials.
    Direct cost = GL expense on revenue/ancillary cost centers, by the cost center's service
    line. Indirect cost = GL expense on overhead cost centers, allocated to the facility's
    service lines by var('indirect_cost_driver') with largest-remainder rounding, so each
    facility-period total is conserved to the cent.
-#}

{%- set driver = var('indirect_cost_driver', 'gross_charges') -%}
{%- if driver not in ('gross_charges', 'encounters', 'payroll_hours') -%}
    {{ exceptions.raise_compiler_error(
        "var('indirect_cost_driver') must be gross_charges, encounters or payroll_hours, got '"
        ~ driver ~ "'"
    ) }}
{%- endif -%}

with

activities as (
    select * from {{ ref('fct_service_line_activities') }}
),

gl_actuals as (
    select * from {{ ref('fct_gl_actuals') }}
),

payroll_costs as (
    select * from {{ ref('fct_payroll_costs') }}
),

gl_accounts as (
    select * from {{ ref('dim_gl_account') }}
),

cost_centers as (
    select * from {{ ref('dim_cost_center') }}
),

facilities as (
    select * from {{ ref('dim_facility') }}
),

service_lines as (
    select * from {{ ref('dim_service_line') }}
),

accounting_periods as (
    select * from {{ ref('dim_accounting_period') }}
),

-- charges and 835 payments, dated once in fct_service_line_activities
charges as (
    select
        period_id,
        facility_id,
        service_line_code,
        count(distinct encounter_id) as encounter_count,
        sum(charge_amount) as gross_charge_amount,
        sum(expected_reimbursement_amount) as expected_reimbursement_amount
    from activities
    where activity_kind = 'charge'
    group by 1, 2, 3
),

remits as (
    select
        period_id,
        facility_id,
        service_line_code,
        sum(payment_amount) as payment_amount,
        sum(contractual_adjustment_amount) as contractual_adjustment_amount,
        sum(denial_amount) as denial_amount,
        sum(patient_responsibility_amount) as patient_responsibility_amount
    from activities
    where activity_kind = 'remit'
    group by 1, 2, 3
),

-- GL expense (debit - credit on expense accounts) by cost center and period
cost_center_expense as (
    select
        coalesce(gl_actuals.period_id, 'UNMAPPED') as period_id,
        cost_centers.facility_id,
        cost_centers.cost_center_type,
        coalesce(cost_centers.service_line_code, 'UNMAPPED') as service_line_code,
        sum(gl_actuals.debit_amount - gl_actuals.credit_amount) as expense_amount
    from gl_actuals
    inner join cost_centers on gl_actuals.cost_center_id = cost_centers.cost_center_id
    inner join gl_accounts on gl_actuals.account_id = gl_accounts.account_id
    where gl_accounts.account_type = 'expense'
    group by 1, 2, 3, 4
),

direct_costs as (
    select
        period_id,
        facility_id,
        service_line_code,
        sum(expense_amount) as direct_cost_amount
    from cost_center_expense
    where cost_center_type in ('revenue', 'ancillary')
    group by 1, 2, 3
),

overhead_costs as (
    select
        period_id,
        facility_id,
        cast(sum(expense_amount) * 100 as decimal(38, 0)) as overhead_cents
    from cost_center_expense
    where cost_center_type = 'overhead'
    group by 1, 2
),

-- read by driver_units only when the driver is payroll_hours
payroll_hours as (  -- noqa: ST03
    select
        coalesce(accounting_periods.period_id, 'UNMAPPED') as period_id,
        cost_centers.facility_id,
        coalesce(cost_centers.service_line_code, 'UNMAPPED') as service_line_code,
        sum(payroll_costs.hours) as payroll_hours
    from payroll_costs
    inner join cost_centers on payroll_costs.cost_center_id = cost_centers.cost_center_id
    left join accounting_periods
        on payroll_costs.pay_period_end_date between accounting_periods.period_start_date
        and accounting_periods.period_end_date
    where cost_centers.cost_center_type in ('revenue', 'ancillary')
    group by 1, 2, 3
),

-- allocation driver in whole units (cents, encounters, hundredths of an hour)
driver_units as (
    {%- if driver == 'gross_charges' %}
    select
        period_id,
        facility_id,
        service_line_code,
        cast(gross_charge_amount * 100 as decimal(38, 0)) as driver_units
    from charges
    {%- elif driver == 'encounters' %}
    select
        period_id,
        facility_id,
        service_line_code,
        cast(encounter_count as decimal(38, 0)) as driver_units
    from charges
    {%- else %}
    select
        period_id,
        facility_id,
        service_line_code,
        cast(payroll_hours * 100 as decimal(38, 0)) as driver_units
    from payroll_hours
    {%- endif %}
),

positive_drivers as (
    select * from driver_units where driver_units > 0
),

driver_totals as (
    select
        period_id,
        facility_id,
        sum(driver_units) as total_driver_units
    from positive_drivers
    group by 1, 2
),

-- a facility-period with overhead but no driver keeps its overhead on UNMAPPED
allocation_targets as (
    select
        overhead_costs.period_id,
        overhead_costs.facility_id,
        coalesce(positive_drivers.service_line_code, 'UNMAPPED') as service_line_code,
        overhead_costs.overhead_cents,
        coalesce(positive_drivers.driver_units, 1) as driver_units,
        coalesce(driver_totals.total_driver_units, 1) as total_driver_units
    from overhead_costs
    left join driver_totals
        on overhead_costs.period_id = driver_totals.period_id
        and overhead_costs.facility_id = driver_totals.facility_id
    left join positive_drivers
        on overhead_costs.period_id = positive_drivers.period_id
        and overhead_costs.facility_id = positive_drivers.facility_id
),

-- floor(overhead * driver / total) exactly, leftover cents by largest remainder
allocated_overhead as (
    {{ allocate_largest_remainder(
        'allocation_targets', ['overhead'], 'driver_units', 'total_driver_units',
        ['period_id', 'facility_id'], ['service_line_code']
    ) }}
),

indirect_costs as (
    select
        period_id,
        facility_id,
        service_line_code,
        cast(overhead_allocated_cents * 0.01 as decimal(18, 2)) as indirect_cost_amount
    from allocated_overhead
),

measures as (
    select
        period_id, facility_id, service_line_code,
        encounter_count, gross_charge_amount, expected_reimbursement_amount,
        0 as payment_amount, 0 as contractual_adjustment_amount, 0 as denial_amount,
        0 as patient_responsibility_amount, 0 as direct_cost_amount, 0 as indirect_cost_amount
    from charges
    union all
    select
        period_id, facility_id, service_line_code,
        0 as encounter_count, 0 as gross_charge_amount, 0 as expected_reimbursement_amount,
        payment_amount, contractual_adjustment_amount, denial_amount,
        patient_responsibility_amount, 0 as direct_cost_amount, 0 as indirect_cost_amount
    from remits
    union all
    select
        period_id, facility_id, service_line_code,
        0 as encounter_count, 0 as gross_charge_amount, 0 as expected_reimbursement_amount,
        0 as payment_amount, 0 as contractual_adjustment_amount, 0 as denial_amount,
        0 as patient_responsibility_amount, direct_cost_amount, 0 as indirect_cost_amount
    from direct_costs
    union all
    select
        period_id, facility_id, service_line_code,
        0 as encounter_count, 0 as gross_charge_amount, 0 as expected_reimbursement_amount,
        0 as payment_amount, 0 as contractual_adjustment_amount, 0 as denial_amount,
        0 as patient_responsibility_amount, 0 as direct_cost_amount, indirect_cost_amount
    from indirect_costs
),

summed as (
    select
        period_id,
        facility_id,
        service_line_code,
        sum(encounter_count) as encounter_count,
        sum(gross_charge_amount) as gross_charge_amount,
        sum(expected_reimbursement_amount) as expected_reimbursement_amount,
        sum(payment_amount) as payment_amount,
        sum(contractual_adjustment_amount) as contractual_adjustment_amount,
        sum(denial_amount) as denial_amount,
        sum(patient_responsibility_amount) as patient_responsibility_amount,
        sum(direct_cost_amount) as direct_cost_amount,
        sum(indirect_cost_amount) as indirect_cost_amount
    from measures
    group by 1, 2, 3
),

final as (
    select
        summed.period_id,
        accounting_periods.period_start_date,
        summed.facility_id,
        coalesce(facilities.facility_name, 'Unmapped facility') as facility_name,
        summed.service_line_code,
        coalesce(service_lines.service_line_name, 'Unmapped service line')
            as service_line_name,
        {{ margin_measures('summed') }}
    from summed
    left join accounting_periods on summed.period_id = accounting_periods.period_id
    left join facilities on summed.facility_id = facilities.facility_id
    left join service_lines on summed.service_line_code = service_lines.service_line_code
)

select * from final
