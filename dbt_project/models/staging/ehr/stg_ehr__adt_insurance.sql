with

source as (
    select * from {{ source('ehr', 'adt_insurance') }}
),

renamed as (
    select
        nullif(trim(message_control_id), '') as message_control_id,
        nullif(trim(visit_number), '') as encounter_id,
        set_id,
        nullif(trim(plan_id), '') as plan_id,
        nullif(trim(company_id), '') as company_id,
        nullif(trim(company_name), '') as company_name,
        nullif(trim(group_number), '') as group_number,
        nullif(trim(member_id), '') as member_id,
        _batch_id,
        _source_file,
        _source_record,
        _record_hash,
        _loaded_at
    from source
)

select * from renamed
