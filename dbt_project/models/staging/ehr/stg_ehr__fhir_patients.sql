{#- Patient.identifier is a list whose order means nothing: the MRN can be in any position and
    under any system (Synthea puts it second, typed v2-0203 MR, under its own system).
    Staging lifts the first `identifier_slots` identifiers with their type codings;
    int_patients__fhir_mrns picks the MRN among them. -#}
{%- set identifier_slots = 8 -%}
{%- set identifier_fields = [] -%}
{%- for i in range(identifier_slots) -%}
    {%- do identifier_fields.extend([
        ['identifier_' ~ i ~ '_system', '$.identifier[' ~ i ~ '].system'],
        ['identifier_' ~ i ~ '_value', '$.identifier[' ~ i ~ '].value'],
        ['identifier_' ~ i ~ '_type_0_system', '$.identifier[' ~ i ~ '].type.coding[0].system'],
        ['identifier_' ~ i ~ '_type_0_code', '$.identifier[' ~ i ~ '].type.coding[0].code'],
        ['identifier_' ~ i ~ '_type_1_system', '$.identifier[' ~ i ~ '].type.coding[1].system'],
        ['identifier_' ~ i ~ '_type_1_code', '$.identifier[' ~ i ~ '].type.coding[1].code'],
    ]) -%}
{%- endfor -%}

with

source as (
    select * from {{ source('ehr', 'fhir_resources') }}
    where resource_type = 'Patient'
),

-- each JSON path parsed once per resource (json_fields is dispatched per engine)
fields as (
    {{ json_fields('source', 'resource', identifier_fields + [
        ['meta_source_text', '$.meta.source'],
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
        meta_source_text as sending_system,
        {%- for i in range(identifier_slots) %}
        identifier_{{ i }}_system,
        identifier_{{ i }}_value,
        identifier_{{ i }}_type_0_system,
        identifier_{{ i }}_type_0_code,
        identifier_{{ i }}_type_1_system,
        identifier_{{ i }}_type_1_code,
        {%- endfor %}
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
