with

source as (
    select * from {{ source('ehr', 'dft_messages') }}
),

renamed as (
    select
        nullif(trim(message_control_id), '') as message_control_id,
        nullif(trim(trigger_event), '') as trigger_event,
        message_at,
        event_at,
        nullif(trim(sending_application), '') as sending_application,
        nullif(trim(sending_facility), '') as sending_facility,
        nullif(trim(hl7_version), '') as hl7_version,
        nullif(trim(patient_mrn), '') as patient_mrn,
        nullif(trim(account_number), '') as patient_control_number,
        nullif(trim(visit_number), '') as encounter_id,
        nullif(trim(patient_class), '') as patient_class,
        nullif(trim(attending_npi), '') as attending_npi,
        charge_count,
        nullif(trim(raw_message), '') as raw_message,
        _batch_id,
        _source_file,
        _source_record,
        _record_hash,
        _loaded_at
    from source
)

select * from renamed
