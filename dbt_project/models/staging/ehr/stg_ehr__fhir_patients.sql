with

source as (
    select * from {{ source('ehr', 'fhir_resources') }}
    where resource_type = 'Patient'
),

-- each JSON path parsed once per resource (json_fields is dispatched per engine)
fields as (
    {{ json_fields('source', 'resource', [
        ['identifier_0_system', '$.identifier[0].system'],
        ['identifier_0_value', '$.identifier[0].value'],
        ['identifier_1_system', '$.identifier[1].system'],
        ['identifier_1_value', '$.identifier[1].value'],
        ['family_name_text', '$.name[0].family'],
        ['given_name_text', '$.name[0].given[0]'],
        ['birth_date_text', '$.birthDate'],
        ['gender_text', '$.gender'],
        ['postal_code_text', '$.address[0].postalCode'],
    ]) }}
),

renamed as (
    select
        resource_id as patient_id,
        version_id,
        last_updated as last_updated_at,
        case
            when identifier_0_system = 'urn:careledger:mrn' then identifier_0_value
            when identifier_1_system = 'urn:careledger:mrn' then identifier_1_value
        end as patient_mrn,
        family_name_text as patient_family_name,
        given_name_text as patient_given_name,
        {{ dbt.safe_cast('birth_date_text', api.Column.translate_type('date')) }} as birth_date,
        gender_text as gender,
        postal_code_text as zip,
        _batch_id,
        _source_file,
        _source_record,
        _loaded_at
    from fields
)

select * from renamed
