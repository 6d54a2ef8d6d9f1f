-- One row per claim version (claim_id): original (1), replacement (7) or void (8), with
-- the current-version and voided flags, conformed keys, service line, expected
-- reimbursement and the clean-claim flag (an original with no later version and no
-- denial on any remittance or in the denial work queue).
with

claims as (
    select * from {{ ref('int_claims__attributed') }}
),

payers as (
    select * from {{ ref('dim_payer') }}
),

remits as (
    select * from {{ ref('int_remits__claims_matched') }}
),

adjustments as (
    select * from {{ ref('int_remits__adjustments_categorized') }}
),

denial_events as (
    select * from {{ ref('int_billing__denial_events') }}
),

chain_sizes as (
    select root_claim_id, count(*) as chain_version_count
    from claims
    group by root_claim_id
),

remit_denials as (
    select distinct remits.claim_id
    from remits
    left join adjustments on adjustments.remit_claim_key = remits.remit_claim_key
    where remits.claim_id is not null
        and (remits.claim_status_code = '4' or (adjustments.adjustment_bucket = 'denial' and adjustments.amount <> 0))
    union
    select distinct claim_id from denial_events where event_type = 'denial_received'
),

final as (
    select
        claims.claim_id,
        {{ surrogate_key(['claims.claim_id']) }} as claim_key,
        claims.claim_frequency_code,
        claims.is_current_version,
        claims.is_voided,
        claims.original_claim_id,
        claims.root_claim_id,
        claims.version_number,
        claims.encounter_id,
        claims.patient_key,
        claims.payer_code,
        coalesce(payers.payer_class, 'UNMAPPED') as payer_class,
        claims.facility_id,
        claims.legal_entity_id,
        claims.department_code,
        claims.cost_center_id,
        claims.service_line_code,
        claims.service_line_rule,
        claims.billing_npi,
        claims.rendering_npi,
        claims.claim_type,
        claims.bill_type,
        claims.drg_code,
        claims.statement_from_date,
        claims.statement_to_date,
        claims.submitted_date,
        claims.line_count,
        claims.charge_amount,
        claims.expected_reimbursement_amount,
        claims.claim_frequency_code = '1' and chain_sizes.chain_version_count = 1 and remit_denials.claim_id is null
            as is_clean_claim,
        claims._batch_id,
        claims._loaded_at
    from claims
    left join payers on payers.payer_code = claims.payer_code
    left join chain_sizes on chain_sizes.root_claim_id = claims.root_claim_id
    left join remit_denials on remit_denials.claim_id = claims.claim_id
)

select * from final
