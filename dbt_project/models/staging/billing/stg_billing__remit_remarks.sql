with

source as (
    select * from {{ source('billing', 'remit_remarks') }}
),

renamed as (
    select
        nullif(trim(interchange_control_number), '') as interchange_control_number,
        nullif(trim(transaction_set_control_number), '') as transaction_set_control_number,
        nullif(trim(trace_number), '') as trace_number,
        claim_seq,
        line_seq,
        nullif(trim(source_segment), '') as source_segment,
        nullif(trim(remark_code), '') as remark_code,
        _batch_id,
        _source_file,
        _source_record,
        _record_hash,
        _loaded_at
    from source
)

select * from renamed
