with

source as (
    select * from {{ source('erp', 'crosswalks') }}
),

renamed as (
    select
        nullif(trim(entity), '') as entity,
        nullif(trim(source_system), '') as source_system,
        nullif(trim(source_code), '') as source_code,
        nullif(trim(target_code), '') as target_code,
        _batch_id,
        _source_file,
        _source_record,
        _record_hash,
        _loaded_at
    from source
)

select * from renamed
