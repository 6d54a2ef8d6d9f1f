with

source as (
    select * from {{ source('meta', 'validation_findings') }}
),

renamed as (
    select
        nullif(trim(batch_id), '') as batch_id,
        nullif(trim(source_file), '') as source_file,
        record_index,
        nullif(trim(severity), '') as severity,
        nullif(trim(rule), '') as rule,
        nullif(trim(location), '') as location,
        nullif(trim(message), '') as message
    from source
)

select * from renamed
