with

source as (
    select * from {{ source('ehr', 'fhir_resources') }}
    where resource_type = 'Organization'
),

renamed as (
    select
        resource_id as organization_id,
        version_id,
        last_updated as last_updated_at,
        {{ json_string('resource', '$.name') }} as organization_name,
        {{ json_string('resource', '$.type[0].coding[0].code') }} as organization_type_code,
        {{ json_string('resource', '$.identifier[0].value') }} as identifier_value,
        case
            when {{ json_string('resource', '$.identifier[0].system') }} = 'http://hl7.org/fhir/sid/us-npi'
                then {{ json_string('resource', '$.identifier[0].value') }}
            when {{ json_string('resource', '$.identifier[1].system') }} = 'http://hl7.org/fhir/sid/us-npi'
                then {{ json_string('resource', '$.identifier[1].value') }}
        end as npi,
        _batch_id,
        _source_file,
        _source_record,
        _loaded_at
    from source
)

select * from renamed
