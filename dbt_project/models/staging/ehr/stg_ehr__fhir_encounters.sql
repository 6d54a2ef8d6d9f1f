with

source as (
    select * from {{ source('ehr', 'fhir_resources') }}
    where resource_type = 'Encounter'
),

-- each JSON path parsed once per resource (json_fields is dispatched per engine)
fields as (
    {{ json_fields('source', 'resource', [
        ['status_text', '$.status'],
        ['class_code_text', '$.class.code'],
        ['subject_reference', '$.subject.reference'],
        ['attending_reference', '$.participant[0].individual.reference'],
        ['location_reference', '$.location[0].location.reference'],
        ['service_provider_reference', '$.serviceProvider.reference'],
        ['period_start_text', '$.period.start'],
        ['period_end_text', '$.period.end'],
        ['discharge_disposition_text', '$.hospitalization.dischargeDisposition.coding[0].code'],
    ]) }}
),

renamed as (
    select
        resource_id as encounter_id,
        version_id,
        last_updated as last_updated_at,
        status_text as status,
        class_code_text as class_code,
        {{ fhir_reference_id('subject_reference') }} as patient_id,
        -- a conditional subject (Patient?identifier=system|value) has no id: its identifier
        {{ fhir_reference_identifier_system('subject_reference') }} as patient_identifier_system,
        {{ fhir_reference_identifier_value('subject_reference') }} as patient_identifier_value,
        {{ fhir_reference_id('attending_reference') }} as attending_practitioner_id,
        {{ fhir_reference_id('location_reference') }} as department_location_id,
        {{ fhir_reference_id('service_provider_reference') }} as service_provider_organization_id,
        {{ dbt.safe_cast('period_start_text', api.Column.translate_type('timestamp')) }} as period_start_at,
        {{ dbt.safe_cast('period_end_text', api.Column.translate_type('timestamp')) }} as period_end_at,
        discharge_disposition_text as discharge_disposition_code,
        _batch_id,
        _source_file,
        _source_record,
        _loaded_at
    from fields
)

select * from renamed
