-- Payroll hours and cost by pay period, employee and cost center (duplicates removed).
with

payroll as (
    select * from {{ ref('int_erp__payroll') }}
    where not is_duplicate
),

final as (
    select
        payroll_cost_key, pay_period_end_date, period_id, employee_id, npi, facility_id, cost_center_id,
        service_line_code, job_code, hours, cost_amount, _batch_id
    from payroll
)

select * from final
