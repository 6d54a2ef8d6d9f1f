-- One row per FHIR Claim version: what the provider billed (CARIN Blue Button sources send it
-- beside the ExplanationOfBenefit that adjudicates it; EOB.claim references it).
with

source as (
    select * from {{ source('ehr', 'fhir_resources') }}
    where resource_type = 'Claim'
),

renamed as (
    select
        resource_id as claim_resource_id,
        version_id,
        last_updated as last_updated_at,
        {{ json_string('resource', '$.status') }} as status,
        {{ json_string('resource', '$.use') }} as claim_use,
        {{ json_string('resource', '$.type.coding[0].code') }} as claim_type_code,
        {{ json_string('resource', '$.identifier[0].system') }} as identifier_system,
        {{ json_string('resource', '$.identifier[0].value') }} as claim_number,
        {{ fhir_reference_id(json_string('resource', '$.patient.reference')) }} as patient_id,
        {{ fhir_reference_id(json_string('resource', '$.insurer.reference')) }} as insurer_organization_id,
        {{ fhir_reference_type(json_string('resource', '$.provider.reference')) }} as provider_reference_type,
        {{ fhir_reference_id(json_string('resource', '$.provider.reference')) }} as provider_id,
        {{ fhir_reference_id(json_string('resource', '$.item[0].encounter[0].reference')) }} as encounter_id,
        {{ dbt.safe_cast(json_string('resource', '$.billablePeriod.start'), api.Column.translate_type('date')) }}
            as billable_period_start_date,
        {{ dbt.safe_cast(json_string('resource', '$.billablePeriod.end'), api.Column.translate_type('date')) }}
            as billable_period_end_date,
        {{ dbt.safe_cast(json_string('resource', '$.created'), api.Column.translate_type('date')) }} as created_date,
        {{ dbt.safe_cast(json_string('resource', '$.total.value'), 'decimal(18, 2)') }} as total_amount,
        _batch_id,
        _source_file,
        _source_record,
        _loaded_at
    from source
)

select * from renamed
