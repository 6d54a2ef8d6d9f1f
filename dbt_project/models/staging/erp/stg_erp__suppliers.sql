with

source as (
    select * from {{ source('erp', 'suppliers') }}
),

renamed as (
    select
        nullif(trim(supplier_id), '') as supplier_id,
        nullif(trim(supplier_name), '') as supplier_name,
        nullif(trim(supplier_category), '') as supplier_category,
        _batch_id,
        _source_file,
        _source_record,
        _record_hash,
        _loaded_at
    from source
)

select * from renamed
