with

source as (
    select * from {{ source('ehr', 'bar_accounts') }}
),

renamed as (
    select
        nullif(trim(message_control_id), '') as message_control_id,
        nullif(trim(trigger_event), '') as trigger_event,
        message_at,
        event_at,
        nullif(trim(sending_facility), '') as sending_facility,
        nullif(trim(patient_mrn), '') as patient_mrn,
        nullif(trim(account_number), '') as patient_control_number,
        visit_set,
        nullif(trim(visit_number), '') as encounter_id,
        nullif(trim(patient_class), '') as patient_class,
        nullif(trim(hospital_service), '') as hospital_service,
        nullif(trim(attending_npi), '') as attending_npi,
        nullif(trim(financial_class), '') as financial_class,
        nullif(trim(account_status), '') as account_status,
        admit_at,
        discharge_at,
        nullif(trim(raw_message), '') as raw_message,
        _batch_id,
        _source_file,
        _source_record,
        _record_hash,
        _loaded_at
    from source
)

select * from renamed
