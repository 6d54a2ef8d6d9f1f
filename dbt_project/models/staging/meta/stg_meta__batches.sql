with

source as (
    select * from {{ source('meta', 'batches') }}
),

renamed as (
    select
        nullif(trim(batch_id), '') as batch_id,
        nullif(trim(source_system), '') as source_system,
        nullif(trim(format), '') as format,
        nullif(trim(source_file), '') as source_file,
        nullif(trim(file_name), '') as file_name,
        nullif(trim(sha256), '') as sha256,
        size_bytes,
        rows_read,
        rows_accepted,
        rows_quarantined,
        nullif(trim(status), '') as status,
        nullif(trim(message), '') as message,
        started_at,
        finished_at
    from source
)

select * from renamed
