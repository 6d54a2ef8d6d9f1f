with

source as (
    select * from {{ source('ehr', 'adt_messages') }}
),

renamed as (
    select
        nullif(trim(message_control_id), '') as message_control_id,
        nullif(trim(message_type), '') as message_type,
        nullif(trim(trigger_event), '') as trigger_event,
        message_at,
        event_at,
        nullif(trim(sending_application), '') as sending_application,
        nullif(trim(sending_facility), '') as sending_facility,
        nullif(trim(hl7_version), '') as hl7_version,
        nullif(trim(patient_mrn), '') as patient_mrn,
        nullif(trim(patient_family_name), '') as patient_family_name,
        nullif(trim(patient_given_name), '') as patient_given_name,
        birth_date,
        nullif(trim(sex), '') as sex,
        nullif(trim(address_line), '') as address_line,
        nullif(trim(city), '') as city,
        nullif(trim(state), '') as state,
        nullif(trim(zip), '') as zip,
        nullif(trim(phone), '') as phone,
        nullif(trim(ssn), '') as ssn,
        nullif(trim(visit_number), '') as encounter_id,
        nullif(trim(patient_class), '') as patient_class,
        nullif(trim(point_of_care), '') as department_code,
        nullif(trim(room), '') as room,
        nullif(trim(bed), '') as bed,
        nullif(trim(location_facility), '') as facility_code,
        nullif(trim(attending_npi), '') as attending_npi,
        nullif(trim(hospital_service), '') as hospital_service,
        nullif(trim(admit_source), '') as admit_source,
        nullif(trim(discharge_disposition), '') as discharge_disposition,
        admit_at,
        discharge_at,
        nullif(trim(admit_reason), '') as admit_reason,
        nullif(trim(prior_mrn), '') as prior_mrn,
        nullif(trim(prior_visit_number), '') as prior_encounter_id,
        nullif(trim(raw_message), '') as raw_message,
        _batch_id,
        _source_file,
        _source_record,
        _record_hash,
        _loaded_at
    from source
)

select * from renamed
