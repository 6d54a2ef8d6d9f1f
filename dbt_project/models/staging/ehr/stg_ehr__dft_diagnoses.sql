with

source as (
    select * from {{ source('ehr', 'dft_diagnoses') }}
),

renamed as (
    select
        nullif(trim(message_control_id), '') as message_control_id,
        nullif(trim(visit_number), '') as encounter_id,
        set_id,
        nullif(trim(diagnosis_code), '') as diagnosis_code,
        nullif(trim(coding_system), '') as coding_system,
        nullif(trim(description), '') as description,
        nullif(trim(diagnosis_type), '') as diagnosis_type,
        _batch_id,
        _source_file,
        _source_record,
        _record_hash,
        _loaded_at
    from source
)

select * from renamed
