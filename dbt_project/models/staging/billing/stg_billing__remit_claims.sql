with

source as (
    select * from {{ source('billing', 'remit_claims') }}
),

renamed as (
    select
        nullif(trim(interchange_control_number), '') as interchange_control_number,
        nullif(trim(transaction_set_control_number), '') as transaction_set_control_number,
        nullif(trim(trace_number), '') as trace_number,
        claim_seq,
        nullif(trim(patient_control_number), '') as patient_control_number,
        nullif(trim(claim_status_code), '') as claim_status_code,
        total_charge_amount as charge_amount,
        payment_amount,
        patient_responsibility_amount,
        nullif(trim(claim_filing_indicator), '') as claim_filing_indicator,
        nullif(trim(payer_claim_control_number), '') as payer_claim_control_number,
        nullif(trim(facility_type_code), '') as facility_type_code,
        nullif(trim(claim_frequency_code), '') as claim_frequency_code,
        nullif(trim(drg_code), '') as drg_code,
        nullif(trim(patient_family_name), '') as patient_family_name,
        nullif(trim(patient_given_name), '') as patient_given_name,
        nullif(trim(member_id), '') as member_id,
        nullif(trim(rendering_npi), '') as rendering_npi,
        statement_from_date,
        statement_to_date,
        received_date,
        coverage_amount,
        _batch_id,
        _source_file,
        _source_record,
        _record_hash,
        _loaded_at
    from source
)

select * from renamed
