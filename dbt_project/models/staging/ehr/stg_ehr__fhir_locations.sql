with

source as (
    select * from {{ source('ehr', 'fhir_resources') }}
    where resource_type = 'Location'
),

renamed as (
    select
        resource_id as location_id,
        version_id,
        last_updated as last_updated_at,
        {{ json_string('resource', '$.name') }} as location_name,
        {{ json_string('resource', '$.status') }} as status,
        {{ json_string('resource', '$.physicalType.coding[0].code') }} as physical_type_code,
        {{ fhir_reference_id(json_string('resource', '$.partOf.reference')) }} as part_of_location_id,
        {{ fhir_reference_id(json_string('resource', '$.managingOrganization.reference')) }}
            as managing_organization_id,
        _batch_id,
        _source_file,
        _source_record,
        _loaded_at
    from source
)

select * from renamed
