with

source as (
    select * from {{ source('ehr', 'fhir_resources') }}
    where resource_type = 'Coverage'
),

renamed as (
    select
        resource_id as coverage_id,
        version_id,
        last_updated as last_updated_at,
        {{ json_string('resource', '$.status') }} as status,
        {{ fhir_reference_id(json_string('resource', '$.beneficiary.reference')) }} as patient_id,
        {{ fhir_reference_id(json_string('resource', '$.payor[0].reference')) }} as payer_organization_id,
        {{ json_string('resource', '$.subscriberId') }} as member_id,
        {{ dbt.safe_cast(json_string('resource', '$.period.start'), api.Column.translate_type('date')) }}
            as period_start_date,
        {{ dbt.safe_cast(json_string('resource', '$.period.end'), api.Column.translate_type('date')) }}
            as period_end_date,
        _batch_id,
        _source_file,
        _source_record,
        _loaded_at
    from source
)

select * from renamed
