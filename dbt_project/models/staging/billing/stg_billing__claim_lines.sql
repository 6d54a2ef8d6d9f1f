with

source as (
    select * from {{ source('billing', 'claim_lines') }}
),

renamed as (
    select
        nullif(trim(claim_id), '') as claim_id,
        nullif(trim(claim_frequency_code), '') as claim_frequency_code,
        nullif(trim(original_claim_id), '') as original_claim_id,
        nullif(trim(patient_control_number), '') as patient_control_number,
        nullif(trim(encounter_id), '') as encounter_id,
        nullif(trim(patient_mrn), '') as patient_mrn,
        nullif(trim(member_id), '') as member_id,
        nullif(trim(payer_code), '') as payer_code,
        nullif(trim(billing_npi), '') as billing_npi,
        nullif(trim(rendering_npi), '') as rendering_npi,
        nullif(trim(facility_code), '') as facility_code,
        nullif(trim(department_code), '') as department_code,
        nullif(trim(claim_type), '') as claim_type,
        nullif(trim(bill_type), '') as bill_type,
        nullif(trim(drg_code), '') as drg_code,
        admit_date,
        discharge_date,
        statement_from_date,
        statement_to_date,
        submitted_date,
        line_number,
        service_date,
        nullif(trim(procedure_code), '') as procedure_code,
        nullif(trim(modifiers), '') as modifiers,
        nullif(trim(revenue_code), '') as revenue_code,
        units,
        charge_amount,
        nullif(trim(place_of_service), '') as place_of_service,
        nullif(trim(principal_diagnosis_code), '') as principal_diagnosis_code,
        _batch_id,
        _source_file,
        _source_record,
        _record_hash,
        _loaded_at
    from source
)

select * from renamed
