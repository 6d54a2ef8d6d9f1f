with

source as (
    select * from {{ source('ehr', 'bar_procedures') }}
),

renamed as (
    select
        nullif(trim(message_control_id), '') as message_control_id,
        nullif(trim(account_number), '') as patient_control_number,
        nullif(trim(visit_number), '') as encounter_id,
        set_id,
        nullif(trim(procedure_code), '') as procedure_code,
        nullif(trim(coding_system), '') as coding_system,
        procedure_at,
        nullif(trim(surgeon_npi), '') as surgeon_npi,
        _batch_id,
        _source_file,
        _source_record,
        _record_hash,
        _loaded_at
    from source
)

select * from renamed
