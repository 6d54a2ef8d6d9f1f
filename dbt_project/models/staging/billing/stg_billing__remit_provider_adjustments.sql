with

source as (
    select * from {{ source('billing', 'remit_provider_adjustments') }}
),

renamed as (
    select
        nullif(trim(interchange_control_number), '') as interchange_control_number,
        nullif(trim(transaction_set_control_number), '') as transaction_set_control_number,
        nullif(trim(trace_number), '') as trace_number,
        nullif(trim(provider_id), '') as provider_id,
        fiscal_period_date,
        nullif(trim(reason_code), '') as reason_code,
        nullif(trim(reference_id), '') as reference_id,
        amount,
        _batch_id,
        _source_file,
        _source_record,
        _record_hash,
        _loaded_at
    from source
)

select * from renamed
