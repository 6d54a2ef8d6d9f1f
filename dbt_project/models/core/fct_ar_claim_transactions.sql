-- Claim-level A/R transactions (docs/accounting_policy.md, docs/marts.md "A/R subledger"):
-- one row per claim chain (root_claim_id) charge, and one per matched 835 CLP of the chain, in
-- the amounts the journals post, so that the subledger and the GL sum the same rows.
--   charge      at the period end of the current version's statement_to_date (the month-end
--               accrual): gross charges Dr 1200, and the contractual reserve Dr 4900 / Cr 1290
--               for gross charges - expected reimbursement (fct_claims, payer contract terms)
--   remittance  at the remit date (BPR16) of the chain's matched 835 claim payments:
--               payment, contractual adjustment, denial and patient responsibility Cr 1200;
--               the chain's whole reserve is released (Dr 1290 / Cr 1200) while an
--               adjudication stands: the first adjudication releases it, a second releases
--               nothing, a reversal that leaves none standing re-establishes it (a reversal
--               with nothing standing re-establishes nothing); on a day, reversals of earlier
--               CLPs post first and a reversal of a CLP paid that day after it, so a same-day
--               pay-and-reverse releases nothing; the contractual adjustment minus the
--               release is the true-up (4950)
-- A voided chain books no charges and no reserve; its payments and their reversals still
-- move its balance. 835 claim payments that match no claim are not here (they are
-- REMIT_NO_CLAIM exceptions); rows of claims that cannot be placed (facility unmapped, no
-- accounting period) are here with is_placed false and become AR_UNPLACED exceptions.
with

claims as (
    select * from {{ ref('fct_claims') }}
),

charges as (
    select * from {{ ref('fct_charges') }}
),

remittances as (
    select * from {{ ref('fct_remittance_claims') }}
    where remit_date is not null and claim_id is not null
),

periods as (
    select * from {{ ref('dim_accounting_period') }}
),

current_versions as (
    select * from claims where is_current_version
),

chain_charges as (
    select
        claims.root_claim_id,
        charges.period_id,
        sum(charges.charge_amount) as charge_amount
    from charges
    inner join claims on claims.claim_id = charges.claim_id
    group by claims.root_claim_id, charges.period_id
),

charge_rows as (
    select
        chain_charges.root_claim_id,
        'charge' as transaction_type,
        'month_end_accrual' as journal_source,
        periods.period_end_date as posting_date,
        chain_charges.period_id,
        chain_charges.charge_amount,
        chain_charges.charge_amount - current_versions.expected_reimbursement_amount as reserve_booked_amount,
        cast(0 as decimal(18, 2)) as payment_amount,
        cast(0 as decimal(18, 2)) as contractual_adjustment_amount,
        cast(0 as decimal(18, 2)) as denial_amount,
        cast(0 as decimal(18, 2)) as patient_responsibility_amount,
        cast(0 as decimal(18, 2)) as unclassified_adjustment_amount,
        cast(0 as decimal(18, 2)) as out_of_balance_amount
    from chain_charges
    inner join current_versions on current_versions.root_claim_id = chain_charges.root_claim_id
    left join periods on periods.period_id = chain_charges.period_id
),

chain_remits as (
    -- one row per matched 835 CLP, in posting order within its chain: by remit date; on a
    -- day, a reversal (CLP02 = 22) of an earlier CLP (or of one that never landed) before the
    -- adjudications, and a reversal of a CLP paid that same day after its original (the
    -- reversal's link to its original: CLP01 + CLP07, int_remits__claims_matched)
    select
        claims.root_claim_id,
        remittances.remit_claim_key,
        remittances.remit_date,
        remittances.is_reversal,
        remittances.payment_amount,
        remittances.contractual_adjustment_amount,
        remittances.denial_amount,
        remittances.patient_responsibility_amount,
        remittances.unclassified_adjustment_amount,
        remittances.out_of_balance_amount,
        row_number() over (
            partition by claims.root_claim_id
            order by remittances.remit_date,
                case
                    when not remittances.is_reversal then 1
                    when reversed.remit_date = remittances.remit_date then 2
                    else 0
                end,
                remittances.remit_claim_key
        ) as remit_sequence
    from remittances
    inner join claims on claims.claim_id = remittances.claim_id
    left join remittances as reversed on reversed.remit_claim_key = remittances.reversed_remit_claim_key
),

remit_periods as (
    select remit_dates.remit_date, periods.period_id
    from (select distinct remit_date from chain_remits) as remit_dates
    left join periods
        on remit_dates.remit_date >= periods.period_start_date
        and remit_dates.remit_date <= periods.period_end_date
),

chain_reserves as (
    select root_claim_id, sum(reserve_booked_amount) as reserve_amount
    from charge_rows
    group by root_claim_id
),

adjudication_counts as (
    -- +1 per adjudication, -1 per reversal, running in posting order; a reversal with no
    -- adjudication standing re-establishes nothing, so the count is floored at 0 (the
    -- running sum less its lowest point below 0 so far)
    select
        chain_remits.*,
        sum(case when chain_remits.is_reversal then -1 else 1 end) over (
            partition by chain_remits.root_claim_id order by chain_remits.remit_sequence
            rows between unbounded preceding and current row
        ) as running_count
    from chain_remits
),

floored_counts as (
    select
        adjudication_counts.*,
        min(adjudication_counts.running_count) over (
            partition by adjudication_counts.root_claim_id order by adjudication_counts.remit_sequence
            rows between unbounded preceding and current row
        ) as lowest_running_count
    from adjudication_counts
),

release_flags as (
    select
        floored_counts.*,
        case
            when floored_counts.running_count
                - case when floored_counts.lowest_running_count < 0 then floored_counts.lowest_running_count else 0 end
                >= 1
                then 1
            else 0
        end as released_state
    from floored_counts
),

release_states as (
    -- the chain's reserve stands released while an adjudication stands; each CLP releases
    -- R x (state after - state before)
    select
        release_flags.*,
        coalesce(
            lag(release_flags.released_state) over (
                partition by release_flags.root_claim_id order by release_flags.remit_sequence
            ),
            0
        ) as previous_released_state
    from release_flags
),

remit_rows as (
    select
        release_states.root_claim_id,
        'remittance' as transaction_type,
        'daily_reimbursement' as journal_source,
        release_states.remit_claim_key,
        release_states.remit_sequence,
        release_states.remit_date as posting_date,
        remit_periods.period_id,
        cast(0 as decimal(18, 2)) as charge_amount,
        cast(0 as decimal(18, 2)) as reserve_booked_amount,
        release_states.payment_amount,
        release_states.contractual_adjustment_amount,
        release_states.denial_amount,
        release_states.patient_responsibility_amount,
        release_states.unclassified_adjustment_amount,
        release_states.out_of_balance_amount,
        coalesce(chain_reserves.reserve_amount, 0)
        * (release_states.released_state - release_states.previous_released_state) as reserve_released_amount
    from release_states
    left join remit_periods on remit_periods.remit_date = release_states.remit_date
    left join chain_reserves on chain_reserves.root_claim_id = release_states.root_claim_id
),

released as (
    select
        root_claim_id, transaction_type, journal_source,
        cast(null as {{ dbt.type_string() }}) as remit_claim_key,
        cast(0 as integer) as remit_sequence,
        posting_date, period_id, charge_amount, reserve_booked_amount, payment_amount,
        contractual_adjustment_amount, denial_amount, patient_responsibility_amount, unclassified_adjustment_amount,
        out_of_balance_amount, cast(0 as decimal(18, 2)) as reserve_released_amount
    from charge_rows
    union all
    select
        root_claim_id, transaction_type, journal_source, remit_claim_key,
        cast(remit_sequence as integer) as remit_sequence,
        posting_date, period_id, charge_amount, reserve_booked_amount, payment_amount,
        contractual_adjustment_amount, denial_amount, patient_responsibility_amount, unclassified_adjustment_amount,
        out_of_balance_amount, reserve_released_amount
    from remit_rows
),

final as (
    select
        {{ surrogate_key([
            'released.root_claim_id', 'released.transaction_type', 'released.remit_claim_key', 'released.period_id'
        ]) }}
            as ar_transaction_key,
        released.root_claim_id as claim_id,
        current_versions.claim_id as current_claim_id,
        released.transaction_type,
        released.journal_source,
        released.remit_claim_key,
        released.remit_sequence,
        released.posting_date,
        released.period_id,
        current_versions.legal_entity_id,
        current_versions.facility_id,
        current_versions.payer_code,
        current_versions.payer_class,
        current_versions.service_line_code,
        current_versions.cost_center_id,
        current_versions.facility_id <> 'UNMAPPED' and current_versions.legal_entity_id <> 'UNMAPPED'
            and released.period_id is not null as is_placed,
        {{ money('released.charge_amount') }} as charge_amount,
        {{ money('released.reserve_booked_amount') }} as reserve_booked_amount,
        {{ money('released.payment_amount') }} as payment_amount,
        {{ money('released.contractual_adjustment_amount') }} as contractual_adjustment_amount,
        {{ money('released.denial_amount') }} as denial_amount,
        {{ money('released.patient_responsibility_amount') }} as patient_responsibility_amount,
        {{ money('released.unclassified_adjustment_amount') }} as unclassified_adjustment_amount,
        {{ money('released.out_of_balance_amount') }} as out_of_balance_amount,
        {{ money('released.reserve_released_amount') }} as reserve_released_amount,
        {{ money('released.contractual_adjustment_amount - released.reserve_released_amount') }}
            as contractual_true_up_amount,
        {{ money(
            'released.charge_amount - released.payment_amount - released.contractual_adjustment_amount'
            ~ ' - released.denial_amount - released.patient_responsibility_amount'
            ~ ' - released.unclassified_adjustment_amount - released.out_of_balance_amount'
        ) }} as gross_change_amount,
        {{ money('released.reserve_booked_amount - released.reserve_released_amount') }} as reserve_change_amount
    from released
    inner join current_versions on current_versions.root_claim_id = released.root_claim_id
)

select * from final
