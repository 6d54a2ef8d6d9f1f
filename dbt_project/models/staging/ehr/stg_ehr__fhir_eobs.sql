-- One row per FHIR ExplanationOfBenefit version (CARIN Blue Button style): the payer's
-- adjudication of one claim, the billing source of an organization with no 835 feed.
-- Items and adjudications are in stg_ehr__fhir_eob_items and stg_ehr__fhir_eob_adjudications.
with

source as (
    select * from {{ source('ehr', 'fhir_resources') }}
    where resource_type = 'ExplanationOfBenefit'
),

renamed as (
    select
        resource_id as eob_id,
        version_id,
        last_updated as last_updated_at,
        {{ json_string('resource', '$.status') }} as status,
        {{ json_string('resource', '$.outcome') }} as outcome,
        {{ json_string('resource', '$.use') }} as claim_use,
        {{ json_string('resource', '$.type.coding[0].code') }} as claim_type_code,
        {{ json_string('resource', '$.identifier[0].system') }} as identifier_system,
        {{ json_string('resource', '$.identifier[0].value') }} as claim_number,
        {{ fhir_reference_id(json_string('resource', '$.claim.reference')) }} as claim_resource_id,
        {{ fhir_reference_id(json_string('resource', '$.patient.reference')) }} as patient_id,
        {{ fhir_reference_id(json_string('resource', '$.insurer.reference')) }} as insurer_organization_id,
        {{ json_string('resource', '$.insurer.identifier.value') }} as insurer_identifier,
        {{ fhir_reference_type(json_string('resource', '$.provider.reference')) }} as provider_reference_type,
        {{ fhir_reference_id(json_string('resource', '$.provider.reference')) }} as provider_id,
        {{ json_string('resource', '$.provider.identifier.value') }} as provider_identifier,
        {{ fhir_reference_id(json_string('resource', '$.facility.reference')) }} as facility_location_id,
        {{ dbt.safe_cast(json_string('resource', '$.billablePeriod.start'), api.Column.translate_type('date')) }}
            as billable_period_start_date,
        {{ dbt.safe_cast(json_string('resource', '$.billablePeriod.end'), api.Column.translate_type('date')) }}
            as billable_period_end_date,
        {{ dbt.safe_cast(json_string('resource', '$.created'), api.Column.translate_type('date')) }} as created_date,
        {{ json_string('resource', '$.payment.type.coding[0].code') }} as payment_type_code,
        {{ dbt.safe_cast(json_string('resource', '$.payment.date'), api.Column.translate_type('date')) }}
            as payment_date,
        {{ dbt.safe_cast(json_string('resource', '$.payment.amount.value'), 'decimal(18, 2)') }} as payment_amount,
        {{ json_string('resource', '$.payment.identifier.value') }} as payment_identifier,
        _batch_id,
        _source_file,
        _source_record,
        _loaded_at
    from source
)

select * from renamed
