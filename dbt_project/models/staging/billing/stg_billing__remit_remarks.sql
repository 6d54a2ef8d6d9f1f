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
        -- the remark's place among its segment's remarks: the key, since an MOA / MIA may carry
        -- one remark code twice and an SVC repeat its LQ
        row_number() over (
            partition by _batch_id, _source_record, source_segment
            order by remark_code nulls last
        ) as occurrence_seq,
        _batch_id,
        _source_file,
        _source_record,
        _record_hash,
        _loaded_at
    from source
)

select * from renamed
