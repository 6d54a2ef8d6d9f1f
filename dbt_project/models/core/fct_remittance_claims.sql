-- One row per 835 CLP, dated by its remit date (BPR16), matched to a claim version when
-- possible (claim_id null otherwise), with CAS adjustments (claim and line level) summed
-- into the four buckets: charge = payment + patient responsibility + contractual + denial
-- + unclassified (a CARC no reference lists: never a denial, docs/accounting_policy.md)
-- + out of balance (what the CAS does not explain of a CLP that ingest landed with a
-- CLAIM_OUT_OF_BALANCE finding: it posts to remittance suspense).
-- Reversals (CLP02 = 22) keep the negative amounts of the 835. The payer is the matched
-- claim's payer (billing is the source of truth), else the 835 payer id through the crosswalk.
-- The facility and legal entity are the matched claim's; a CLP that matches no claim takes
-- the facility its payee NPI maps to (int_crosswalk__payees), else its payee TIN's (only
-- when the TIN names one facility; a TIN of several facilities gives their legal entity
-- only), else UNMAPPED (facility_source says which; a PAYEE_UNMAPPED exception).
with

remits as (
    select * from {{ ref('int_remits__claims_matched') }}
),

adjustments as (
    select * from {{ ref('int_remits__adjustments_categorized') }}
),

claims as (
    select * from {{ ref('int_claims__attributed') }}
),

payers as (
    select * from {{ ref('dim_payer') }}
),

payees as (
    select * from {{ ref('int_crosswalk__payees') }}
),

buckets as (
    select
        remit_claim_key,
        sum(case when adjustment_bucket = 'patient_responsibility' then amount else 0 end)
            as patient_responsibility_amount,
        sum(case when adjustment_bucket = 'contractual' then amount else 0 end) as contractual_adjustment_amount,
        sum(case when adjustment_bucket = 'denial' then amount else 0 end) as denial_amount,
        sum(case when adjustment_bucket = 'unclassified' then amount else 0 end) as unclassified_adjustment_amount
    from adjustments
    group by remit_claim_key
),

final as (
    select
        remits.remit_claim_key,
        remits.remit_date,
        remits.trace_number,
        coalesce(claim_payers.payer_code, remits.payer_code) as payer_code,
        coalesce(claim_payers.payer_class, payers.payer_class, 'UNMAPPED') as payer_class,
        remits.claim_id,
        remits.claim_id is not null as is_matched,
        remits.match_method,
        coalesce(claims.facility_id, payee_npis.facility_id, payee_tins.facility_id, 'UNMAPPED') as facility_id,
        coalesce(
            claims.legal_entity_id,
            case when payee_npis.facility_id is not null then payee_npis.legal_entity_id end,
            payee_tins.legal_entity_id,
            'UNMAPPED'
        ) as legal_entity_id,
        case
            when claims.claim_id is not null then 'claim'
            when payee_npis.facility_id is not null then 'payee_npi'
            when payee_tins.facility_id is not null then 'payee_tin'
            when payee_tins.legal_entity_id is not null then 'payee_tin_legal_entity'
            else 'unmapped'
        end as facility_source,
        remits.payee_npi,
        remits.payee_tax_id,
        coalesce(claims.service_line_code, 'UNMAPPED') as service_line_code,
        coalesce(claims.cost_center_id, 'UNMAPPED') as cost_center_id,
        remits.claim_status_code,
        remits.claim_status_code = '4' or coalesce(buckets.denial_amount, 0) <> 0 as is_denied,
        remits.is_reversal,
        remits.payer_claim_control_number,
        remits.reversed_remit_claim_key,
        remits.charge_amount,
        remits.payment_amount,
        {{ money('coalesce(buckets.patient_responsibility_amount, 0)') }} as patient_responsibility_amount,
        {{ money('coalesce(buckets.contractual_adjustment_amount, 0)') }} as contractual_adjustment_amount,
        {{ money('coalesce(buckets.denial_amount, 0)') }} as denial_amount,
        {{ money('coalesce(buckets.unclassified_adjustment_amount, 0)') }} as unclassified_adjustment_amount,
        {{ money(
            'remits.charge_amount - remits.payment_amount'
            ~ ' - coalesce(buckets.patient_responsibility_amount, 0) - coalesce(buckets.contractual_adjustment_amount, 0)'
            ~ ' - coalesce(buckets.denial_amount, 0) - coalesce(buckets.unclassified_adjustment_amount, 0)'
        ) }} as out_of_balance_amount,
        remits.patient_responsibility_amount as reported_patient_responsibility_amount,
        remits._batch_id,
        remits._loaded_at
    from remits
    left join buckets on buckets.remit_claim_key = remits.remit_claim_key
    left join claims on claims.claim_id = remits.claim_id
    left join payers on payers.payer_code = remits.payer_code
    -- plain equi-joins (one row per payee id); only unmatched CLPs read them, through the
    -- coalesce and case expressions above
    left join payees as payee_npis on payee_npis.source_system = 'npi' and payee_npis.source_code = remits.payee_npi
    left join payees as payee_tins on payee_tins.source_system = 'tin' and payee_tins.source_code = remits.payee_tax_id
    left join payers as claim_payers on claim_payers.payer_code = claims.payer_code and not claim_payers.is_unmapped
)

select * from final
