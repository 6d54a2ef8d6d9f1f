-- RESTRICTED (reads the claim number, a patient control number; outputs none). One row per
-- FHIR ExplanationOfBenefit (its latest version), summed the way an 835 CLP is: charge
-- (submitted), payer payment (payment.amount, else the paidtoprovider amounts), contractual,
-- denial, unclassified and patient-responsibility adjustments (int_remits__fhir_eob_adjudications;
-- item and claim-level amounts, the EOB.total only when no item or claim-level amount of that
-- measure exists), the residual the categories leave unexplained, and the billing claim it
-- adjudicates: the claim number (identifier[0]) matched to a claim's patient control number,
-- else to its claim id, the current version preferred.
-- Decision (docs/ingest.md): when an 835 CLP also pays the same claim, the 835 wins: the EOB
-- has is_superseded_by_835 = true and is not counted; payment_difference_amount says whether
-- its payment differed from the 835's, which fct_data_quality_exceptions reports.
{{ config(tags=['restricted']) }}

with

eobs as (
    select * from {{ ref('stg_ehr__fhir_eobs') }}
),

adjudications as (
    select * from {{ ref('int_remits__fhir_eob_adjudications') }}
),

claims as (
    select * from {{ ref('int_claims__versions') }}
),

remits as (
    select * from {{ ref('int_remits__claims_matched') }}
),

latest_eobs as (
    {{ deduplicate('eobs', 'eob_id', 'last_updated_at desc nulls last, _loaded_at desc, _source_record desc') }}
),

current_adjudications as (
    select adjudications.*
    from adjudications
    inner join latest_eobs
        on latest_eobs._batch_id = adjudications._batch_id
        and latest_eobs._source_record = adjudications._source_record
),

sums as (
    select
        eob_id,
        sum(case when adjudication_level <> 'total' and measure = 'charge' then amount end) as charge_amount,
        sum(case when adjudication_level = 'total' and measure = 'charge' then amount end) as total_charge_amount,
        sum(case when adjudication_level <> 'total' and measure = 'payment' then amount end) as paid_amount,
        sum(case when adjudication_level = 'total' and measure = 'payment' then amount end) as total_paid_amount,
        sum(case when adjudication_level <> 'total' and measure = 'allowed' then amount end) as allowed_amount,
        sum(case when adjudication_level <> 'total' and adjustment_bucket = 'contractual' then amount else 0 end)
            as contractual_amount,
        sum(case when adjudication_level <> 'total' and adjustment_bucket = 'denial' then amount else 0 end)
            as denial_amount,
        sum(case when adjudication_level <> 'total' and adjustment_bucket = 'unclassified' then amount else 0 end)
            as unclassified_amount,
        sum(
            case
                when adjudication_level <> 'total' and adjustment_bucket = 'patient_responsibility' then amount
                else 0
            end
        ) as patient_responsibility_amount,
        sum(case when adjudication_level <> 'total' and not is_placed then amount else 0 end) as unplaced_amount,
        count(case when not is_placed then 1 end) as unplaced_count
    from current_adjudications
    group by 1
),

claim_candidates as (
    -- two equi-joins, not one join on `a or b` (a nested loop in DuckDB)
    select latest_eobs.eob_id, claims.claim_id, 0 as match_rank, claims.is_current_version
    from latest_eobs
    inner join claims on claims.patient_control_number = latest_eobs.claim_number
    union all
    select latest_eobs.eob_id, claims.claim_id, 1 as match_rank, claims.is_current_version
    from latest_eobs
    inner join claims on claims.claim_id = latest_eobs.claim_number
),

ranked_candidates as (
    select
        eob_id,
        claim_id,
        row_number() over (
            partition by eob_id
            order by match_rank asc, case when is_current_version then 0 else 1 end asc, claim_id desc
        ) as preference
    from claim_candidates
),

claim_matches as (
    select eob_id, claim_id from ranked_candidates where preference = 1
),

x12_payments as (
    select claim_id, sum(payment_amount) as x12_payment_amount, count(*) as x12_clp_count
    from remits
    where claim_id is not null
    group by 1
),

final as (
    select
        latest_eobs.eob_id,
        latest_eobs.status,
        latest_eobs.outcome,
        latest_eobs.claim_type_code,
        latest_eobs.claim_resource_id,
        latest_eobs.insurer_organization_id,
        latest_eobs.provider_id,
        latest_eobs.payment_date as remit_date,
        latest_eobs.payment_identifier as trace_number,
        claim_matches.claim_id,
        case when claim_matches.claim_id is not null then 'claim_number' else 'unmatched' end as match_method,
        {{ money('coalesce(sums.charge_amount, sums.total_charge_amount, 0)') }} as charge_amount,
        {{ money('coalesce(latest_eobs.payment_amount, sums.paid_amount, sums.total_paid_amount, 0)') }}
            as payment_amount,
        {{ money('sums.allowed_amount') }} as allowed_amount,
        {{ money('coalesce(sums.contractual_amount, 0)') }} as contractual_amount,
        {{ money('coalesce(sums.denial_amount, 0)') }} as denial_amount,
        {{ money('coalesce(sums.unclassified_amount, 0)') }} as unclassified_amount,
        {{ money('coalesce(sums.patient_responsibility_amount, 0)') }} as patient_responsibility_amount,
        {{ money('coalesce(sums.unplaced_amount, 0)') }} as unplaced_amount,
        coalesce(sums.unplaced_count, 0) as unplaced_count,
        {{ money(
            'coalesce(sums.charge_amount, sums.total_charge_amount, 0)'
            ~ ' - coalesce(latest_eobs.payment_amount, sums.paid_amount, sums.total_paid_amount, 0)'
            ~ ' - coalesce(sums.contractual_amount, 0) - coalesce(sums.denial_amount, 0)'
            ~ ' - coalesce(sums.unclassified_amount, 0) - coalesce(sums.patient_responsibility_amount, 0)'
        ) }} as residual_amount,
        x12_payments.claim_id is not null as is_superseded_by_835,
        {{ money('x12_payments.x12_payment_amount') }} as x12_payment_amount,
        case when x12_payments.claim_id is not null then {{ money(
            'coalesce(latest_eobs.payment_amount, sums.paid_amount, sums.total_paid_amount, 0)'
            ~ ' - x12_payments.x12_payment_amount'
        ) }} end as payment_difference_amount,
        'fhir_eob' as source_system,
        latest_eobs._batch_id,
        latest_eobs._source_file,
        latest_eobs._source_record,
        latest_eobs._loaded_at
    from latest_eobs
    left join sums on sums.eob_id = latest_eobs.eob_id
    left join claim_matches on claim_matches.eob_id = latest_eobs.eob_id
    left join x12_payments on x12_payments.claim_id = claim_matches.claim_id
)

select * from final
