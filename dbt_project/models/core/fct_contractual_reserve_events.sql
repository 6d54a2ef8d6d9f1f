-- Contractual allowance reserve per claim chain (docs/accounting_policy.md sections 1 and 2):
--   reserve_booked   at the period end of the claim's charges: gross charges - expected
--                    reimbursement of the current, non-voided version of the chain;
--   reserve_released on the 835 CLP that adjudicates the chain: the chain's reserve, once,
--                    as fct_ar_claim_transactions releases it (one rule for the journals and
--                    the A/R subledger: released while an adjudication stands; a reversal
--                    that leaves none standing re-establishes it, a reversal with nothing
--                    standing re-establishes nothing, a second adjudication releases nothing);
--   true_up          on every CLP: its contractual adjustment - the reserve it released.
-- A CLP that matches no claim has no reserve: its whole contractual adjustment is true-up.
with

claims as (
    select * from {{ ref('fct_claims') }}
),

charges as (
    select * from {{ ref('fct_charges') }}
),

remits as (
    select * from {{ ref('fct_remittance_claims') }}
    where remit_date is not null
),

periods as (
    select * from {{ ref('dim_accounting_period') }}
),

ar_releases as (
    -- the subledger's release of each matched CLP: one rule for the journals and the A/R
    -- subledger
    select * from {{ ref('fct_ar_claim_transactions') }}
    where transaction_type = 'remittance'
),

claim_charges as (
    select claim_id, period_id, sum(charge_amount) as charge_amount
    from charges
    group by claim_id, period_id
),

chain_reserves as (
    -- the current, non-voided version of each chain: the one whose charges are booked
    select
        claims.root_claim_id,
        claims.claim_id,
        claims.facility_id,
        claims.legal_entity_id,
        claims.service_line_code,
        claims.cost_center_id,
        claims.payer_code,
        claims.payer_class,
        claim_charges.period_id,
        periods.period_end_date,
        claim_charges.charge_amount - claims.expected_reimbursement_amount as reserve_amount
    from claims
    inner join claim_charges on claim_charges.claim_id = claims.claim_id
    inner join periods on periods.period_id = claim_charges.period_id
    where claims.is_current_version and not claims.is_voided
),

booked as (
    select
        'reserve_booked' as event_type,
        'month_end_accrual' as journal_source,
        'contractual_reserve_amount' as measure,
        claim_id as source_id,
        root_claim_id,
        cast(null as {{ dbt.type_string() }}) as remit_claim_key,
        coalesce(facility_id, 'UNMAPPED') as facility_id,
        coalesce(legal_entity_id, 'UNMAPPED') as legal_entity_id,
        coalesce(service_line_code, 'UNMAPPED') as service_line_code,
        coalesce(cost_center_id, 'UNMAPPED') as cost_center_id,
        payer_code,
        payer_class,
        period_end_date as event_date,
        reserve_amount as amount
    from chain_reserves
),

clps as (
    select
        remits.remit_claim_key,
        remits.remit_date,
        remits.trace_number,
        remits.claim_id,
        remits.is_reversal,
        remits.facility_id,
        remits.legal_entity_id,
        remits.service_line_code,
        remits.payer_code,
        remits.payer_class,
        remits.contractual_adjustment_amount,
        claims.root_claim_id
    from remits
    left join claims on claims.claim_id = remits.claim_id
),

clp_releases as (
    select
        clps.*,
        {{ money('coalesce(ar_releases.reserve_released_amount, 0)') }} as release_amount
    from clps
    left join ar_releases on ar_releases.remit_claim_key = clps.remit_claim_key
),

released as (
    select
        'reserve_released' as event_type,
        'daily_reimbursement' as journal_source,
        'reserve_release_amount' as measure,
        coalesce(claim_id, trace_number) as source_id,
        root_claim_id,
        remit_claim_key,
        facility_id,
        legal_entity_id,
        service_line_code,
        cast(null as {{ dbt.type_string() }}) as cost_center_id,
        payer_code,
        payer_class,
        remit_date as event_date,
        release_amount as amount
    from clp_releases
),

trued_up as (
    select
        'true_up' as event_type,
        'daily_reimbursement' as journal_source,
        'contractual_true_up_amount' as measure,
        coalesce(claim_id, trace_number) as source_id,
        root_claim_id,
        remit_claim_key,
        facility_id,
        legal_entity_id,
        service_line_code,
        cast(null as {{ dbt.type_string() }}) as cost_center_id,
        payer_code,
        payer_class,
        remit_date as event_date,
        {{ money('contractual_adjustment_amount - release_amount') }} as amount
    from clp_releases
),

events as (
    select * from booked
    union all
    select * from released
    union all
    select * from trued_up
),

final as (
    select
        {{ surrogate_key(['event_type', 'source_id', 'remit_claim_key']) }} as reserve_event_key,
        event_type,
        journal_source,
        measure,
        source_id,
        root_claim_id,
        remit_claim_key,
        facility_id,
        legal_entity_id,
        service_line_code,
        cost_center_id,
        payer_code,
        payer_class,
        event_date,
        {{ money('amount') }} as amount
    from events
)

select * from final
