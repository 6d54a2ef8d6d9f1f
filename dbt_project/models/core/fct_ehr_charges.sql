-- One row per EHR charge transaction (HL7 DFT FT1, the latest version of each FT1-2
-- transaction id; earlier versions were replaced by the EHR and are counted in
-- version_count): the EHR side of the charge-capture reconciliation. Charges count
-- positive, credits (FT1-6 CD / CR) negative; payments, adjustments and transactions with no
-- type carry no charge amount. A transaction the reconciliation cannot place (no encounter, no
-- service date, no amount, not a charge or credit) has is_placed false and an unplaced
-- reason, and is a CHARGE_CAPTURE_UNPLACED row of core.fct_data_quality_exceptions.
-- No PHI: the patient is patient_key.
with

ehr_charges as (
    select * from {{ ref('int_ehr__charges') }}
),

latest as (
    select * from ehr_charges
    where is_latest_version
),

classified as (
    select
        ehr_charge_key,
        transaction_id,
        encounter_id,
        patient_key,
        service_date,
        posting_date,
        cast(message_at as date) as message_date,
        sending_facility,
        transaction_type,
        transaction_category,
        transaction_code,
        transaction_description,
        procedure_code,
        modifiers,
        diagnosis_code,
        department_code,
        performed_by_npi,
        ordered_by_npi,
        quantity,
        extended_amount,
        {{ money('charge_amount') }} as charge_amount,
        version_count,
        case
            when encounter_id is null then 'no encounter (PV1-19 visit number empty)'
            when service_date is null then 'no service date (FT1-4 empty or not a date)'
            when transaction_category = 'unknown' then 'no transaction type (FT1-6 empty)'
            when transaction_category = 'other'
                then 'transaction type ' || transaction_type || ' is not a charge or credit'
            when charge_amount is null then 'no amount (FT1-11 empty or not a number)'
        end as unplaced_reason,
        _batch_id
    from latest
),

final as (
    select
        classified.*,
        unplaced_reason is null as is_placed
    from classified
)

select * from final
