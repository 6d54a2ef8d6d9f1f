with

source as (
    select * from {{ source('ehr', 'fhir_resources') }}
    where resource_type = 'Procedure'
),

renamed as (
    select
        resource_id as procedure_id,
        version_id,
        last_updated as last_updated_at,
        {{ json_string('resource', '$.status') }} as status,
        {{ fhir_reference_id(json_string('resource', '$.subject.reference')) }} as patient_id,
        {{ fhir_reference_id(json_string('resource', '$.encounter.reference')) }} as encounter_id,
        {{ json_string('resource', '$.code.coding[0].system') }} as code_system,
        {{ json_string('resource', '$.code.coding[0].code') }} as procedure_code,
        {{ dbt.safe_cast(json_string('resource', '$.performedDateTime'), api.Column.translate_type('timestamp')) }}
            as performed_at,
        _batch_id,
        _source_file,
        _source_record,
        _loaded_at
    from source
)

select * from renamed
