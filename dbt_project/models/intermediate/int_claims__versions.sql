-- RESTRICTED (PHI in: patient control number, MRN). One row per claim version (claim_id)
-- with its lifecycle: original (1), replacement (7) or void (8); the chain root; which
-- version is current (latest submitted; on a tie void > replacement > original, then
-- latest load); whether the chain ends in a void. Carries the patient control number for
-- remittance matching and the keyed patient_key. The header is the claim's latest load and
-- its lines the current landing of each (int_claim_lines__deduped): a re-sent export wins.
{{ config(tags=['restricted']) }}

with

claim_lines as (
    select * from {{ ref('stg_billing__claim_lines') }}
),

deduped_lines as (
    select * from {{ ref('int_claim_lines__deduped') }}
    where not is_duplicate
),

patient_merges as (
    select * from {{ ref('int_patients__merges') }}
),

first_lines as (
    -- the header of the claim's latest load (a re-sent export corrects it), from its lowest line
    {{ deduplicate('claim_lines', 'claim_id', '_loaded_at desc, _batch_id desc, line_number, _source_record desc') }}
),

headers as (
    select
        claim_id,
        claim_frequency_code,
        original_claim_id,
        patient_control_number,
        encounter_id,
        patient_mrn,
        payer_code,
        billing_npi,
        rendering_npi,
        facility_code,
        department_code,
        claim_type,
        bill_type,
        case when drg_code is not null then {{ dbt.right(dbt.concat(["'000'", 'drg_code']), 3) }} end as drg_code,
        admit_date,
        discharge_date,
        statement_from_date,
        statement_to_date,
        submitted_date,
        procedure_code as first_procedure_code,
        _batch_id,
        _loaded_at
    from first_lines
),

line_totals as (
    select
        claim_id,
        count(*) as line_count,
        sum(charge_amount) as charge_amount
    from deduped_lines
    group by claim_id
),

chained as (
    select
        headers.*,
        coalesce(grandparent.original_claim_id, parent.original_claim_id, headers.original_claim_id, headers.claim_id)
            as root_claim_id
    from headers
    left join headers as parent on parent.claim_id = headers.original_claim_id
    left join headers as grandparent on grandparent.claim_id = parent.original_claim_id
),

versioned as (
    select
        chained.*,
        row_number() over (
            partition by root_claim_id
            order by submitted_date desc,
                case claim_frequency_code when '8' then 3 when '7' then 2 else 1 end desc,
                _loaded_at desc,
                claim_id desc
        ) as version_recency,
        row_number() over (
            partition by root_claim_id order by submitted_date, claim_id
        ) as version_number
    from chained
),

chain_status as (
    select root_claim_id, max(case when version_recency = 1 and claim_frequency_code = '8' then 1 else 0 end) = 1
        as is_voided
    from versioned
    group by root_claim_id
),

final as (
    select
        versioned.claim_id,
        versioned.claim_frequency_code,
        versioned.original_claim_id,
        versioned.root_claim_id,
        versioned.version_number,
        versioned.version_recency = 1 as is_current_version,
        chain_status.is_voided,
        versioned.patient_control_number,
        {{ patient_key('coalesce(patient_merges.surviving_mrn, versioned.patient_mrn)') }} as patient_key,
        versioned.encounter_id,
        versioned.payer_code,
        versioned.billing_npi,
        versioned.rendering_npi,
        versioned.facility_code,
        versioned.department_code,
        versioned.claim_type,
        versioned.bill_type,
        versioned.drg_code,
        versioned.admit_date,
        versioned.discharge_date,
        versioned.statement_from_date,
        versioned.statement_to_date,
        versioned.submitted_date,
        versioned.first_procedure_code,
        coalesce(line_totals.line_count, 0) as line_count,
        {{ money('coalesce(line_totals.charge_amount, 0)') }} as charge_amount,
        versioned._batch_id,
        versioned._loaded_at
    from versioned
    inner join chain_status on chain_status.root_claim_id = versioned.root_claim_id
    left join line_totals on line_totals.claim_id = versioned.claim_id
    left join patient_merges on patient_merges.prior_mrn = versioned.patient_mrn
)

select * from final
