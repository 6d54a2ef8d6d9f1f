with

source as (
    select * from {{ source('ehr', 'fhir_resources') }}
    where resource_type = 'Patient'
),

renamed as (
    select
        resource_id as patient_id,
        version_id,
        last_updated as last_updated_at,
        case
            when {{ json_string('resource', '$.identifier[0].system') }} = 'urn:careledger:mrn'
                then {{ json_string('resource', '$.identifier[0].value') }}
            when {{ json_string('resource', '$.identifier[1].system') }} = 'urn:careledger:mrn'
                then {{ json_string('resource', '$.identifier[1].value') }}
        end as patient_mrn,
        {{ json_string('resource', '$.name[0].family') }} as patient_family_name,
        {{ json_string('resource', '$.name[0].given[0]') }} as patient_given_name,
        {{ dbt.safe_cast(json_string('resource', '$.birthDate'), api.Column.translate_type('date')) }} as birth_date,
        {{ json_string('resource', '$.gender') }} as gender,
        {{ json_string('resource', '$.address[0].postalCode') }} as zip,
        _batch_id,
        _source_file,
        _source_record,
        _loaded_at
    from source
)

select * from renamed
