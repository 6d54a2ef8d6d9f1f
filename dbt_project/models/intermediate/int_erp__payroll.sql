-- ERP payroll rows mapped: cost center (-> facility, service line), NPI through the
-- provider crosswalk from the employee id when the row has none, accounting period.
-- A row landed twice (same period end, employee, cost center, job) keeps its first load.
with

payroll as (
    select * from {{ ref('stg_erp__payroll') }}
),

cost_centers as (
    select * from {{ ref('int_erp__cost_centers') }}
),

provider_xwalk as (
    select * from {{ ref('int_crosswalk__providers') }}
),

periods as (
    select * from {{ ref('int_erp__accounting_periods') }}
),

ranked as (
    select
        payroll.*,
        row_number() over (
            partition by pay_period_end_date, employee_id, cost_center_id, job_code
            order by _loaded_at, _batch_id, _source_record
        ) as occurrence
    from payroll
),

final as (
    select
        {{ surrogate_key([
            'ranked.pay_period_end_date', 'ranked.employee_id', 'ranked.cost_center_id', 'ranked.job_code',
        ]) }}
            as payroll_cost_key,
        ranked.pay_period_end_date,
        periods.period_id,
        ranked.employee_id,
        coalesce(ranked.npi, provider_xwalk.npi) as npi,
        coalesce(cost_centers.cost_center_id, 'UNMAPPED') as cost_center_id,
        coalesce(cost_centers.facility_id, 'UNMAPPED') as facility_id,
        case when cost_centers.cost_center_id is null then 'UNMAPPED' else cost_centers.service_line_code end
            as service_line_code,
        ranked.job_code,
        coalesce(ranked.hours, 0) as hours,
        coalesce(ranked.cost_amount, 0) as cost_amount,
        ranked.cost_center_id as cost_center_source_code,
        ranked.occurrence > 1 as is_duplicate,
        ranked._batch_id,
        ranked._loaded_at
    from ranked
    left join cost_centers on cost_centers.cost_center_id = ranked.cost_center_id
    left join provider_xwalk
        on provider_xwalk.source_system = 'erp' and provider_xwalk.source_code = ranked.employee_id
    left join periods
        on ranked.pay_period_end_date >= periods.period_start_date
        and ranked.pay_period_end_date <= periods.period_end_date
)

select * from final
