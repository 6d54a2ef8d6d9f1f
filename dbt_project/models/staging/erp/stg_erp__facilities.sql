with

source as (
    select * from {{ source('erp', 'facilities') }}
),

renamed as (
    select
        nullif(trim(facility_id), '') as facility_id,
        nullif(trim(facility_name), '') as facility_name,
        nullif(trim(facility_type), '') as facility_type,
        nullif(trim(legal_entity_id), '') as legal_entity_id,
        nullif(trim(address_line), '') as address_line,
        nullif(trim(city), '') as city,
        nullif(trim(state), '') as state,
        nullif(trim(zip), '') as zip,
        bed_count,
        _batch_id,
        _source_file,
        _source_record,
        _record_hash,
        _loaded_at
    from source
)

select * from renamed
