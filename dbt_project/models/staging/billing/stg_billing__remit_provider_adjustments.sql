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
        -- a PLB may repeat one adjustment (same reason, reference and amount) within its segment:
        -- each occurrence stays a row of its own and keeps a unique key
        row_number() over (
            partition by _batch_id, _source_record, reason_code, reference_id, amount
            order by _record_hash
        ) as occurrence_seq,
        _batch_id,
        _source_file,
        _source_record,
        _record_hash,
        _loaded_at
    from source
)

select * from renamed
