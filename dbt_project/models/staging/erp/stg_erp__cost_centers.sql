with

source as (
    select * from {{ source('erp', 'cost_centers') }}
),

renamed as (
    select
        nullif(trim(cost_center_id), '') as cost_center_id,
        nullif(trim(cost_center_name), '') as cost_center_name,
        nullif(trim(parent_cost_center_id), '') as parent_cost_center_id,
        nullif(trim(facility_id), '') as facility_id,
        nullif(trim(cost_center_type), '') as cost_center_type,
        nullif(trim(service_line_code), '') as service_line_code,
        is_active,
        _batch_id,
        _source_file,
        _source_record,
        _record_hash,
        _loaded_at
    from source
)

select * from renamed
