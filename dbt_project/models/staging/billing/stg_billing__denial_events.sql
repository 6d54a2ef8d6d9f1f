with

source as (
    select * from {{ source('billing', 'denial_events') }}
),

renamed as (
    select
        nullif(trim(event_id), '') as event_id,
        nullif(trim(claim_id), '') as claim_id,
        nullif(trim(payer_code), '') as payer_code,
        nullif(trim(event_type), '') as event_type,
        event_date,
        nullif(trim(group_code), '') as group_code,
        nullif(trim(carc_code), '') as carc_code,
        amount,
        nullif(trim(work_queue), '') as work_queue,
        nullif(trim(note), '') as note,
        _batch_id,
        _source_file,
        _source_record,
        _record_hash,
        _loaded_at
    from source
)

select * from renamed
