-- RESTRICTED (reads patient control numbers; outputs none). One row per 835 CLP, matched
-- to a claim version: by patient control number (CLP01 = CLM01), preferring the version
-- whose charge equals CLP03 and that was submitted on or before the remit date, then the
-- latest; a reversal (CLP02 = 22) follows the payer claim control number (CLP07) to the
-- claim its original payment matched, and names that original CLP (reversed_remit_claim_key:
-- the latest non-reversal CLP of the same CLP01 and CLP07 paid on or before it; null when the
-- original never landed), which orders a same-day pay-and-reverse in the A/R transactions
-- (fct_ar_claim_transactions). Unmatched CLPs stay, with claim_id null. The payee
-- NPI (N1*PE N104 when N103 = XX) and tax id of the ERA ride along: they place a CLP that
-- matches no claim on a facility (fct_remittance_claims).
{{ config(tags=['restricted']) }}

with

remit_claims as (
    select * from {{ ref('stg_billing__remit_claims') }}
),

remit_payments as (
    select * from {{ ref('stg_billing__remit_payments') }}
),

claims as (
    select * from {{ ref('int_claims__versions') }}
),

payer_xwalk as (
    select * from {{ ref('int_crosswalk__payers') }}
),

clp as (
    select
        {{ surrogate_key([
            'remit_claims._batch_id', 'remit_claims.interchange_control_number',
            'remit_claims.transaction_set_control_number', 'remit_claims.claim_seq',
        ]) }}
            as remit_claim_key,
        remit_claims.patient_control_number,
        remit_claims.payer_claim_control_number,
        remit_claims.claim_seq,
        remit_claims.claim_status_code,
        remit_claims.claim_status_code = '22' as is_reversal,
        remit_claims.charge_amount,
        remit_claims.payment_amount,
        remit_claims.patient_responsibility_amount,
        remit_claims.claim_frequency_code,
        remit_claims.drg_code,
        remit_claims.rendering_npi,
        remit_claims.interchange_control_number,
        remit_claims.transaction_set_control_number,
        coalesce(remit_payments.trace_number, remit_claims.trace_number) as trace_number,
        remit_payments.payment_date as remit_date,
        remit_payments.x12_payer_id,
        case when remit_payments.payee_id_qualifier = 'XX' then remit_payments.payee_id end as payee_npi,
        remit_payments.payee_tax_id,
        remit_claims._batch_id,
        remit_claims._source_record,
        remit_claims._loaded_at
    from remit_claims
    -- a bare ST..SE (no ISA, MISSING_ENVELOPE) has no interchange control number: null joins null
    left join remit_payments
        on remit_payments._batch_id = remit_claims._batch_id
        and coalesce(remit_payments.interchange_control_number, '')
        = coalesce(remit_claims.interchange_control_number, '')
        and remit_payments.transaction_set_control_number = remit_claims.transaction_set_control_number
),

pcn_candidates as (
    select
        clp.remit_claim_key,
        claims.claim_id,
        row_number() over (
            partition by clp.remit_claim_key
            order by
                case when claims.charge_amount = abs(clp.charge_amount) then 0 else 1 end,
                case when claims.claim_frequency_code = '8' then 1 else 0 end,
                case when claims.submitted_date <= clp.remit_date then 0 else 1 end,
                claims.submitted_date desc,
                claims.claim_id desc
        ) as preference
    from clp
    inner join claims on claims.patient_control_number = clp.patient_control_number
),

pcn_matches as (
    select remit_claim_key, claim_id from pcn_candidates where preference = 1
),

matched_payments as (
    select clp.payer_claim_control_number, pcn_matches.claim_id, clp.remit_date, clp._loaded_at
    from clp
    inner join pcn_matches on pcn_matches.remit_claim_key = clp.remit_claim_key
    where not clp.is_reversal and clp.payer_claim_control_number is not null
),

original_payments as (
    -- the claim each non-reversal payment matched, by payer claim control number
    {{ deduplicate('matched_payments', 'payer_claim_control_number', 'remit_date desc, _loaded_at desc') }}
),

reversal_candidates as (
    -- a reversal's original: a non-reversal CLP of the same CLP identity (CLP01 patient control
    -- number + CLP07 payer claim control number) paid on or before the reversal
    select
        reversals.remit_claim_key,
        originals.remit_claim_key as reversed_remit_claim_key,
        originals.remit_date as reversed_remit_date,
        originals._loaded_at as reversed_loaded_at
    from clp as reversals
    inner join clp as originals
        on originals.patient_control_number = reversals.patient_control_number
        and originals.payer_claim_control_number = reversals.payer_claim_control_number
        and not originals.is_reversal
        and originals.remit_date <= reversals.remit_date
    where reversals.is_reversal
),

reversed_originals as (
    {{ deduplicate(
        'reversal_candidates', 'remit_claim_key',
        'reversed_remit_date desc, reversed_loaded_at desc, reversed_remit_claim_key desc'
    ) }}
),

final as (
    select
        clp.remit_claim_key,
        clp.remit_date,
        clp.trace_number,
        clp.x12_payer_id,
        coalesce(payer_xwalk.payer_code, 'UNMAPPED') as payer_code,
        clp.payee_npi,
        clp.payee_tax_id,
        clp.claim_seq,
        clp.claim_status_code,
        clp.is_reversal,
        clp.payer_claim_control_number,
        reversed_originals.reversed_remit_claim_key,
        clp.claim_frequency_code,
        clp.drg_code,
        clp.rendering_npi,
        case
            when clp.is_reversal then coalesce(original_payments.claim_id, pcn_matches.claim_id)
            else pcn_matches.claim_id
        end as claim_id,
        case
            when clp.is_reversal and original_payments.claim_id is not null then 'payer_claim_control_number'
            when pcn_matches.claim_id is not null then 'patient_control_number'
            else 'unmatched'
        end as match_method,
        clp.charge_amount,
        clp.payment_amount,
        clp.patient_responsibility_amount,
        clp.interchange_control_number,
        clp.transaction_set_control_number,
        clp._batch_id,
        clp._source_record,
        clp._loaded_at
    from clp
    left join pcn_matches on pcn_matches.remit_claim_key = clp.remit_claim_key
    -- a plain equi-join (one original payment per payer claim control number; only reversal
    -- rows read it, in the case expressions above): `on clp.is_reversal and ...` made DuckDB
    -- fall back to a nested-loop join, quadratic in CLPs (36.7 s -> 0.8 s at 100k encounters)
    left join original_payments
        on original_payments.payer_claim_control_number = clp.payer_claim_control_number
    left join reversed_originals on reversed_originals.remit_claim_key = clp.remit_claim_key
    left join payer_xwalk on payer_xwalk.source_system = 'x12' and payer_xwalk.source_code = clp.x12_payer_id
)

select * from final
