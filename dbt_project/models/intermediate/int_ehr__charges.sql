-- RESTRICTED (PHI in: MRN). One row per FT1 transaction of every landed DFT message, with the
-- message's context (MSH-7 time, sending facility, patient_key from the MRN through the
-- ADT merges), the PR1 procedure that follows the FT1 and the message's first DG1, its
-- version (latest per FT1-2 transaction id: the same id resent or corrected in a later
-- message replaces the earlier one) and its signed charge amount:
--   CG charge         +extended amount
--   CD / CR credit    -|extended amount| (a reversal of a charge, whatever sign it is sent with)
--   PY, AJ, other     not a charge: no charge amount (a CHARGE_CAPTURE_UNPLACED exception)
-- An FT1 with no transaction id is its own version (batch, message, set id).
{{ config(tags=['restricted']) }}

with

charges as (
    select * from {{ ref('stg_ehr__dft_charges') }}
),

messages as (
    select * from {{ ref('stg_ehr__dft_messages') }}
),

procedures as (
    select * from {{ ref('stg_ehr__dft_procedures') }}
),

diagnoses as (
    select * from {{ ref('stg_ehr__dft_diagnoses') }}
),

patient_merges as (
    select * from {{ ref('int_patients__merges') }}
),

-- the first PR1 after each FT1 (DFT_P03's FINANCIAL group)
charge_procedures as (
    select
        _batch_id,
        _source_record,
        charge_set_id,
        procedure_code,
        coding_system
    from ({{ deduplicate('procedures', '_batch_id, _source_record, charge_set_id', 'set_id, procedure_code') }})
        as first_procedures
    where charge_set_id is not null
),

-- the message's first DG1
message_diagnoses as (
    select
        _batch_id,
        _source_record,
        diagnosis_code
    from ({{ deduplicate('diagnoses', '_batch_id, _source_record', 'set_id, diagnosis_code') }}) as first_diagnoses
),

with_context as (
    select
        charges.*,
        coalesce(charges.encounter_id, messages.encounter_id) as visit_encounter_id,
        messages.message_at,
        messages.trigger_event,
        messages.sending_facility,
        messages.patient_mrn,
        charge_procedures.procedure_code as pr1_procedure_code,
        message_diagnoses.diagnosis_code as message_diagnosis_code,
        coalesce(
            charges.transaction_id,
            charges._batch_id || ':' || cast(charges._source_record as {{ dbt.type_string() }}) || ':'
            || coalesce(cast(charges.set_id as {{ dbt.type_string() }}), '')
        ) as transaction_key,
        -- a sender that repeats FT1-1 within a message: content orders the repeats
        row_number() over (
            partition by charges._batch_id, charges._source_record, charges.set_id
            order by charges.transaction_id, charges.extended_amount, charges.transaction_code,
                charges.procedure_code, charges.service_date
        ) as set_repeat
    from charges
    left join messages
        on messages._batch_id = charges._batch_id
        and messages._source_record = charges._source_record
    left join charge_procedures
        on charge_procedures._batch_id = charges._batch_id
        and charge_procedures._source_record = charges._source_record
        and charge_procedures.charge_set_id = charges.set_id
    left join message_diagnoses
        on message_diagnoses._batch_id = charges._batch_id
        and message_diagnoses._source_record = charges._source_record
),

versioned as (
    select
        with_context.*,
        row_number() over (
            partition by transaction_key
            order by message_at desc, _loaded_at desc, _batch_id desc, _source_record desc, set_repeat desc
        ) as version_recency,
        count(*) over (partition by transaction_key) as version_count
    from with_context
),

final as (
    select
        {{ surrogate_key([
            'versioned._batch_id', 'versioned._source_record', 'versioned.set_id', 'versioned.set_repeat'
        ]) }} as ehr_charge_line_key,
        {{ surrogate_key(['versioned.transaction_key']) }} as ehr_charge_key,
        versioned.transaction_key,
        versioned.transaction_id,
        versioned.message_control_id,
        versioned.visit_encounter_id as encounter_id,
        {{ patient_key('coalesce(patient_merges.surviving_mrn, versioned.patient_mrn)') }} as patient_key,
        versioned.sending_facility,
        versioned.message_at,
        versioned.trigger_event,
        versioned.set_id,
        versioned.service_date,
        versioned.posting_date,
        versioned.transaction_type,
        case
            when versioned.transaction_type = 'CG' then 'charge'
            when versioned.transaction_type in ('CD', 'CR') then 'credit'
            when versioned.transaction_type is null then 'unknown'
            else 'other'
        end as transaction_category,
        versioned.transaction_code,
        versioned.transaction_description,
        versioned.quantity,
        versioned.extended_amount,
        versioned.unit_amount,
        case
            when versioned.transaction_type = 'CG' then versioned.extended_amount
            when versioned.transaction_type in ('CD', 'CR') then -1 * abs(versioned.extended_amount)
        end as charge_amount,
        versioned.department_code,
        coalesce(versioned.procedure_code, versioned.pr1_procedure_code) as procedure_code,
        versioned.procedure_coding_system,
        versioned.modifiers,
        coalesce(versioned.diagnosis_code, versioned.message_diagnosis_code) as diagnosis_code,
        versioned.performed_by_npi,
        versioned.ordered_by_npi,
        versioned.version_recency = 1 as is_latest_version,
        versioned.version_count,
        versioned._batch_id,
        versioned._source_file,
        versioned._source_record,
        versioned._loaded_at
    from versioned
    left join patient_merges on patient_merges.prior_mrn = versioned.patient_mrn
)

select * from final
