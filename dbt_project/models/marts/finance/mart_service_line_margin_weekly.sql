{#-
    Service-line margin for the clinic-group case: one row per week (Monday start) x
    facility (location) x rendering physician x service line.

    Revenue measures use the same basis as mart_service_line_margin_monthly, dated to the
    week instead of the period. Costs are not booked per physician, so the monthly mart's
    direct and indirect cost of each period x facility x service line is spread over that
    cell's week x physician rows by their gross charges, with largest-remainder rounding:
    the weekly costs add up to the monthly costs to the cent. A cell with cost but no
    charges keeps its cost on rendering_npi 'UNALLOCATED' in the week of the period start
    (week 1900-01-01 when the period is UNMAPPED).
-#}

with

activities as (
    select * from {{ ref('fct_service_line_activities') }}
),

providers as (
    select * from {{ ref('dim_provider') }}
),

accounting_periods as (
    select * from {{ ref('dim_accounting_period') }}
),

monthly_margin as (
    select * from {{ ref('mart_service_line_margin_monthly') }}
),

-- charges and 835 payments, dated once in fct_service_line_activities
charges as (
    select
        period_id,
        week_start_date,
        facility_id,
        rendering_npi,
        service_line_code,
        count(distinct encounter_id) as encounter_count,
        sum(charge_amount) as gross_charge_amount,
        sum(expected_reimbursement_amount) as expected_reimbursement_amount
    from activities
    where activity_kind = 'charge'
    group by 1, 2, 3, 4, 5
),

remits as (
    select
        week_start_date,
        facility_id,
        rendering_npi,
        service_line_code,
        sum(payment_amount) as payment_amount,
        sum(contractual_adjustment_amount) as contractual_adjustment_amount,
        sum(denial_amount) as denial_amount,
        sum(patient_responsibility_amount) as patient_responsibility_amount
    from activities
    where activity_kind = 'remit'
    group by 1, 2, 3, 4
),

-- monthly costs to spread, in cents
monthly_costs as (
    select
        period_id,
        facility_id,
        service_line_code,
        cast(direct_cost_amount * 100 as decimal(38, 0)) as direct_cents,
        cast(indirect_cost_amount * 100 as decimal(38, 0)) as indirect_cents
    from monthly_margin
    where direct_cost_amount <> 0 or indirect_cost_amount <> 0
),

-- every week x physician charge row of a cost cell, weighted by its (positive) charges
allocation_base as (
    select
        charges.*,
        case
            when charges.gross_charge_amount > 0
                then cast(charges.gross_charge_amount * 100 as decimal(38, 0))
            else cast(0 as decimal(38, 0))
        end as driver_units,
        sum(
            case
                when charges.gross_charge_amount > 0
                    then cast(charges.gross_charge_amount * 100 as decimal(38, 0))
                else cast(0 as decimal(38, 0))
            end
        ) over (
            partition by charges.period_id, charges.facility_id, charges.service_line_code
        ) as total_driver_units,
        coalesce(monthly_costs.direct_cents, 0) as direct_cents,
        coalesce(monthly_costs.indirect_cents, 0) as indirect_cents
    from charges
    left join monthly_costs
        on charges.period_id = monthly_costs.period_id
        and charges.facility_id = monthly_costs.facility_id
        and charges.service_line_code = monthly_costs.service_line_code
),

-- floor(cost * driver / total) exactly, leftover cents by largest remainder
allocated_costs as (
    {{ allocate_largest_remainder(
        'allocation_base', ['direct', 'indirect'], 'driver_units', 'total_driver_units',
        ['period_id', 'facility_id', 'service_line_code'], ['week_start_date', 'rendering_npi']
    ) }}
),

charges_with_costs as (
    select
        week_start_date,
        facility_id,
        rendering_npi,
        service_line_code,
        encounter_count,
        gross_charge_amount,
        expected_reimbursement_amount,
        cast(direct_allocated_cents * 0.01 as decimal(18, 2)) as direct_cost_amount,
        cast(indirect_allocated_cents * 0.01 as decimal(18, 2)) as indirect_cost_amount
    from allocated_costs
),

allocated_cells as (
    select distinct period_id, facility_id, service_line_code
    from allocation_base
    where total_driver_units > 0
),

-- a cost cell without charges keeps its cost on UNALLOCATED
unallocated_costs as (
    select
        coalesce(
            cast({{ dbt.date_trunc('week', 'accounting_periods.period_start_date') }} as date),
            -- cost of a period the ERP calendar does not know: a visible sentinel week
            cast('1900-01-01' as date)
        ) as week_start_date,
        monthly_costs.facility_id,
        'UNALLOCATED' as rendering_npi,
        monthly_costs.service_line_code,
        cast(monthly_costs.direct_cents * 0.01 as decimal(18, 2)) as direct_cost_amount,
        cast(monthly_costs.indirect_cents * 0.01 as decimal(18, 2)) as indirect_cost_amount
    from monthly_costs
    left join allocated_cells
        on monthly_costs.period_id = allocated_cells.period_id
        and monthly_costs.facility_id = allocated_cells.facility_id
        and monthly_costs.service_line_code = allocated_cells.service_line_code
    left join accounting_periods on monthly_costs.period_id = accounting_periods.period_id
    where allocated_cells.period_id is null
),

measures as (
    select
        week_start_date, facility_id, rendering_npi, service_line_code,
        cast(encounter_count as bigint) as encounter_count,
        cast(gross_charge_amount as decimal(18, 2)) as gross_charge_amount,
        cast(expected_reimbursement_amount as decimal(18, 2)) as expected_reimbursement_amount,
        cast(0 as decimal(18, 2)) as payment_amount,
        cast(0 as decimal(18, 2)) as contractual_adjustment_amount,
        cast(0 as decimal(18, 2)) as denial_amount,
        cast(0 as decimal(18, 2)) as patient_responsibility_amount,
        direct_cost_amount,
        indirect_cost_amount
    from charges_with_costs
    union all
    select
        week_start_date, facility_id, rendering_npi, service_line_code,
        0 as encounter_count, 0 as gross_charge_amount, 0 as expected_reimbursement_amount,
        cast(payment_amount as decimal(18, 2)) as payment_amount,
        cast(contractual_adjustment_amount as decimal(18, 2)) as contractual_adjustment_amount,
        cast(denial_amount as decimal(18, 2)) as denial_amount,
        cast(patient_responsibility_amount as decimal(18, 2)) as patient_responsibility_amount,
        0 as direct_cost_amount, 0 as indirect_cost_amount
    from remits
    union all
    select
        week_start_date, facility_id, rendering_npi, service_line_code,
        0 as encounter_count, 0 as gross_charge_amount, 0 as expected_reimbursement_amount,
        0 as payment_amount, 0 as contractual_adjustment_amount, 0 as denial_amount,
        0 as patient_responsibility_amount,
        direct_cost_amount,
        indirect_cost_amount
    from unallocated_costs
),

summed as (
    select
        week_start_date,
        facility_id,
        rendering_npi,
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
    group by 1, 2, 3, 4
),

final as (
    select
        summed.week_start_date,
        summed.facility_id,
        summed.rendering_npi,
        case
            when summed.rendering_npi = 'UNALLOCATED' then 'Unallocated cost'
            else coalesce(providers.provider_name, 'Unmapped provider')
        end as provider_name,
        summed.service_line_code,
        {{ margin_measures('summed') }}
    from summed
    left join providers on summed.rendering_npi = providers.npi
)

select * from final
