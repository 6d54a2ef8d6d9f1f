with

source as (
    select * from {{ source('ehr', 'fhir_resources') }}
    where resource_type = 'Practitioner'
),

renamed as (
    select
        resource_id as practitioner_id,
        version_id,
        last_updated as last_updated_at,
        case
            when {{ json_string('resource', '$.identifier[0].system') }} = 'http://hl7.org/fhir/sid/us-npi'
                then {{ json_string('resource', '$.identifier[0].value') }}
            when {{ json_string('resource', '$.identifier[1].system') }} = 'http://hl7.org/fhir/sid/us-npi'
                then {{ json_string('resource', '$.identifier[1].value') }}
        end as npi,
        {{ json_string('resource', '$.name[0].family') }} as family_name,
        {{ json_string('resource', '$.name[0].given[0]') }} as given_name,
        {{ json_string('resource', '$.name[0].prefix[0]') }} as name_prefix,
        _batch_id,
        _source_file,
        _source_record,
        _loaded_at
    from source
)

select * from renamed
