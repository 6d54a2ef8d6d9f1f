with

source as (
    select * from {{ source('ehr', 'fhir_resources') }}
    where resource_type = 'Encounter'
),

renamed as (
    select
        resource_id as encounter_id,
        version_id,
        last_updated as last_updated_at,
        {{ json_string('resource', '$.status') }} as status,
        {{ json_string('resource', '$.class.code') }} as class_code,
        {{ fhir_reference_id(json_string('resource', '$.subject.reference')) }} as patient_id,
        {{ fhir_reference_id(json_string('resource', '$.participant[0].individual.reference')) }} as attending_practitioner_id,
        {{ fhir_reference_id(json_string('resource', '$.location[0].location.reference')) }} as department_location_id,
        {{ fhir_reference_id(json_string('resource', '$.serviceProvider.reference')) }} as service_provider_organization_id,
        {{ dbt.safe_cast(json_string('resource', '$.period.start'), api.Column.translate_type('timestamp')) }} as period_start_at,
        {{ dbt.safe_cast(json_string('resource', '$.period.end'), api.Column.translate_type('timestamp')) }} as period_end_at,
        {{ json_string('resource', '$.hospitalization.dischargeDisposition.coding[0].code') }} as discharge_disposition_code,
        _batch_id,
        _source_file,
        _source_record,
        _loaded_at
    from source
)

select * from renamed
