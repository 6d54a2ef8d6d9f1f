with

source as (
    select * from {{ source('billing', 'remit_adjustments') }}
),

renamed as (
    select
        nullif(trim(interchange_control_number), '') as interchange_control_number,
        nullif(trim(transaction_set_control_number), '') as transaction_set_control_number,
        nullif(trim(trace_number), '') as trace_number,
        claim_seq,
        line_seq,
        nullif(trim(adjustment_level), '') as adjustment_level,
        triplet_seq,
        nullif(trim(group_code), '') as group_code,
        nullif(trim(carc_code), '') as carc_code,
        amount,
        quantity,
        _batch_id,
        _source_file,
        _source_record,
        _record_hash,
        _loaded_at
    from source
)

select * from renamed
