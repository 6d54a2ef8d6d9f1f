with

source as (
    select * from {{ source('meta', 'quarantine') }}
),

renamed as (
    select
        nullif(trim(batch_id), '') as batch_id,
        nullif(trim(source_file), '') as source_file,
        record_index,
        nullif(trim(reason_code), '') as reason_code,
        nullif(trim(message), '') as message,
        nullif(trim(raw_text), '') as raw_text,
        quarantined_at
    from source
)

select * from renamed
