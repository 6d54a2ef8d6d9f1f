with

source as (
    select * from {{ source('ehr', 'fhir_resources') }}
    where resource_type = 'PractitionerRole'
),

renamed as (
    select
        resource_id as practitioner_role_id,
        version_id,
        last_updated as last_updated_at,
        {{ fhir_reference_id(json_string('resource', '$.practitioner.reference')) }} as practitioner_id,
        {{ fhir_reference_id(json_string('resource', '$.organization.reference')) }} as organization_id,
        {{ fhir_reference_id(json_string('resource', '$.location[0].reference')) }} as location_id,
        {{ json_string('resource', '$.specialty[0].coding[0].code') }} as specialty_code,
        {{ json_string('resource', '$.specialty[0].coding[0].display') }} as specialty_name,
        _batch_id,
        _source_file,
        _source_record,
        _loaded_at
    from source
)

select * from renamed
