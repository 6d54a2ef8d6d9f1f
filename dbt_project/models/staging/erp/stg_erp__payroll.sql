with

source as (
    select * from {{ source('erp', 'payroll') }}
),

renamed as (
    select
        pay_period_end_date,
        nullif(trim(employee_id), '') as employee_id,
        nullif(trim(npi), '') as npi,
        nullif(trim(cost_center_id), '') as cost_center_id,
        nullif(trim(job_code), '') as job_code,
        hours,
        cost_amount,
        _batch_id,
        _source_file,
        _source_record,
        _record_hash,
        _loaded_at
    from source
)

select * from renamed
