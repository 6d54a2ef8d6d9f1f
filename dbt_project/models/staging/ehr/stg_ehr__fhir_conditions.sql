with

source as (
    select * from {{ source('ehr', 'fhir_resources') }}
    where resource_type = 'Condition'
),

renamed as (
    select
        resource_id as condition_id,
        version_id,
        last_updated as last_updated_at,
        {{ fhir_reference_id(json_string('resource', '$.subject.reference')) }} as patient_id,
        {{ fhir_reference_id(json_string('resource', '$.encounter.reference')) }} as encounter_id,
        {{ json_string('resource', '$.code.coding[0].system') }} as code_system,
        {{ json_string('resource', '$.code.coding[0].code') }} as diagnosis_code,
        {{ dbt.safe_cast(json_string('resource', '$.recordedDate'), api.Column.translate_type('timestamp')) }}
            as recorded_at,
        _batch_id,
        _source_file,
        _source_record,
        _loaded_at
    from source
)

select * from renamed
