with

source as (
    select * from {{ source('erp', 'accounting_periods') }}
),

renamed as (
    select
        nullif(trim(period_id), '') as period_id,
        period_start_date,
        period_end_date,
        fiscal_year,
        fiscal_period,
        nullif(trim(status), '') as status,
        _batch_id,
        _source_file,
        _source_record,
        _record_hash,
        _loaded_at
    from source
)

select * from renamed
