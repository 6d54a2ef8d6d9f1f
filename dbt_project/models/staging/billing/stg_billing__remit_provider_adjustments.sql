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
        -- the adjustment's place within its PLB segment: the key, since a PLB may repeat one
        -- (reason, reference, amount) pair and real payers often send no reference (PLB03 `CS`)
        row_number() over (
            partition by _batch_id, _source_record
            order by reason_code nulls last, reference_id nulls last, amount
        ) as occurrence_seq,
        _batch_id,
        _source_file,
        _source_record,
        _record_hash,
        _loaded_at
    from source
)

select * from renamed
