{#-
    Denial trends, one row per accounting period x payer x facility x service line x
    denial category x CAS group code x CARC (payer class rides along with the payer).

    * Denials are the 835 adjustments in the `denial` bucket, in the period of the remit
      date. denied_amount counts denials as received (non-reversal CLPs); reversals
      (CLP02 = 22) negate earlier denials in reversed_denied_amount, so that
      denied_amount + reversed_denied_amount ties to the remittance facts, the margin mart
      and mart_daily_reimbursement.
    * Initial denial rate (HFMA MAP Key): of the claims first adjudicated in the period
      (first non-reversal remittance of the claim), the share whose first adjudication
      carried a denial with this reason. The denominator, adjudicated_claim_count, is the
      payer x facility x service line count, repeated on each reason row.
    * Overturn rate: of the claims denied with this reason in the period, the share later
      overturned in the denial work queue (cohort of the denial month).
    * Days to resolve: from the denial remit date to the first overturned / upheld /
      written_off event of the claim, averaged over the resolved claims of the cohort.
    * Write-offs: written_off work-queue events, in the period of the event date, on the
      reason of the event (or the claim's largest denial reason when the event has none).
-#}

{#- the grain: period x payer x facility x service line x reason (category, group, CARC) -#}
{%- set reason_key = ['period_id', 'payer_code', 'facility_id', 'service_line_code',
                      'denial_category', 'group_code', 'carc_code'] %}

with

remittances as (
    select * from {{ ref('fct_remittance_claims') }}
),

adjustments as (
    select * from {{ ref('fct_adjustments') }}
),

denial_events as (
    select * from {{ ref('fct_denial_events') }}
),

payers as (
    select * from {{ ref('dim_payer') }}
),

accounting_periods as (
    select * from {{ ref('dim_accounting_period') }}
),

-- denial adjustments with the claim context of their remittance
denial_adjustments as (
    select
        remittances.remit_date,
        remittances.claim_id,
        remittances.remit_claim_key,
        remittances.is_reversal,
        remittances.payer_code,
        remittances.facility_id,
        remittances.service_line_code,
        adjustments.remit_line_key,
        adjustments.group_code,
        adjustments.carc_code,
        coalesce(adjustments.denial_category, 'other') as denial_category,
        adjustments.amount
    from adjustments
    inner join remittances
        on adjustments.remit_claim_key = remittances.remit_claim_key
    where adjustments.adjustment_bucket = 'denial'
),

-- first non-reversal adjudication of each claim
adjudication_remits as (
    select
        remit_claim_key,
        claim_id,
        remit_date,
        payer_code,
        facility_id,
        service_line_code
    from remittances
    where not is_reversal
),

first_adjudications as (
    {{ deduplicate('adjudication_remits', 'claim_id', 'remit_date, remit_claim_key') }}
),

-- resolution of each claim's denial in the work queue
claim_resolutions as (
    select
        claim_id,
        min(case when event_type in ('overturned', 'upheld', 'written_off') then event_date end)
            as resolved_date,
        max(case when event_type = 'overturned' then 1 else 0 end) as is_overturned
    from denial_events
    group by 1
),

-- the reason carrying the largest denial on the claim: where write-offs without a reason land
claim_denial_reasons as (
    select
        claim_id,
        group_code,
        carc_code,
        denial_category,
        amount,
        remit_date
    from denial_adjustments
    where not is_reversal
),

claim_primary_reasons as (
    {{ deduplicate('claim_denial_reasons', 'claim_id', 'amount desc, remit_date, group_code, carc_code') }}
),

activity_dates as (
    select remit_date as activity_date from remittances
    union
    select event_date from denial_events
),

date_periods as (
    select
        activity_dates.activity_date,
        coalesce(accounting_periods.period_id, 'UNMAPPED') as period_id
    from activity_dates
    left join accounting_periods
        on activity_dates.activity_date between accounting_periods.period_start_date
            and accounting_periods.period_end_date
),

-- one row per claim x denial reason x period: the denial cohort
claim_denials as (
    select
        date_periods.period_id,
        denial_adjustments.payer_code,
        denial_adjustments.facility_id,
        denial_adjustments.service_line_code,
        denial_adjustments.denial_category,
        denial_adjustments.group_code,
        denial_adjustments.carc_code,
        denial_adjustments.claim_id,
        min(denial_adjustments.remit_date) as denied_date,
        max(case when denial_adjustments.is_reversal then 0 else 1 end) as has_denial,
        max(
            case
                when denial_adjustments.remit_claim_key
                    = first_adjudications.remit_claim_key then 1
                else 0
            end
        ) as is_initial_denial
    from denial_adjustments
    inner join date_periods on denial_adjustments.remit_date = date_periods.activity_date
    left join first_adjudications
        on denial_adjustments.claim_id = first_adjudications.claim_id
    group by 1, 2, 3, 4, 5, 6, 7, 8
),

denial_amounts as (
    select
        date_periods.period_id,
        denial_adjustments.payer_code,
        denial_adjustments.facility_id,
        denial_adjustments.service_line_code,
        denial_adjustments.denial_category,
        denial_adjustments.group_code,
        denial_adjustments.carc_code,
        count(
            distinct case
                when not denial_adjustments.is_reversal then denial_adjustments.remit_line_key
            end
        ) as denied_line_count,
        sum(case when not denial_adjustments.is_reversal then denial_adjustments.amount else 0 end)
            as denied_amount,
        sum(case when denial_adjustments.is_reversal then denial_adjustments.amount else 0 end)
            as reversed_denied_amount
    from denial_adjustments
    inner join date_periods on denial_adjustments.remit_date = date_periods.activity_date
    group by 1, 2, 3, 4, 5, 6, 7
),

denial_cohorts as (
    select
        claim_denials.period_id,
        claim_denials.payer_code,
        claim_denials.facility_id,
        claim_denials.service_line_code,
        claim_denials.denial_category,
        claim_denials.group_code,
        claim_denials.carc_code,
        sum(claim_denials.has_denial) as denied_claim_count,
        sum(claim_denials.has_denial * claim_denials.is_initial_denial)
            as initial_denied_claim_count,
        sum(claim_denials.has_denial * coalesce(claim_resolutions.is_overturned, 0))
            as overturned_claim_count,
        sum(
            case
                when claim_denials.has_denial = 1
                    and claim_resolutions.resolved_date >= claim_denials.denied_date then 1
                else 0
            end
        ) as resolved_claim_count,
        sum(
            case
                when claim_denials.has_denial = 1
                    and claim_resolutions.resolved_date >= claim_denials.denied_date
                    then {{ dbt.datediff('claim_denials.denied_date',
                                         'claim_resolutions.resolved_date', 'day') }}
                else 0
            end
        ) as days_to_resolve_total
    from claim_denials
    left join claim_resolutions on claim_denials.claim_id = claim_resolutions.claim_id
    group by 1, 2, 3, 4, 5, 6, 7
),

adjudications as (
    select
        date_periods.period_id,
        first_adjudications.payer_code,
        first_adjudications.facility_id,
        first_adjudications.service_line_code,
        count(*) as adjudicated_claim_count
    from first_adjudications
    inner join date_periods on first_adjudications.remit_date = date_periods.activity_date
    group by 1, 2, 3, 4
),

write_offs as (
    select
        date_periods.period_id,
        coalesce(denial_events.payer_code, 'UNMAPPED') as payer_code,
        coalesce(denial_events.facility_id, 'UNMAPPED') as facility_id,
        coalesce(denial_events.service_line_code, 'UNMAPPED') as service_line_code,
        case
            when denial_events.carc_code is not null
                then coalesce(denial_events.denial_category, 'other')
            else coalesce(claim_primary_reasons.denial_category, 'other')
        end as denial_category,
        coalesce(denial_events.group_code, claim_primary_reasons.group_code, 'UNMAPPED')
            as group_code,
        coalesce(denial_events.carc_code, claim_primary_reasons.carc_code, 'UNMAPPED')
            as carc_code,
        sum(denial_events.amount) as written_off_amount
    from denial_events
    inner join date_periods on denial_events.event_date = date_periods.activity_date
    left join claim_primary_reasons on denial_events.claim_id = claim_primary_reasons.claim_id
    where denial_events.event_type = 'written_off'
    group by 1, 2, 3, 4, 5, 6, 7
),

reason_keys as (
    select {{ reason_key | join(', ') }} from denial_amounts
    union
    select {{ reason_key | join(', ') }} from write_offs
),

final as (
    select
        reason_keys.period_id,
        accounting_periods.period_start_date,
        reason_keys.payer_code,
        coalesce(payers.payer_name, 'Unmapped payer') as payer_name,
        coalesce(payers.payer_class, 'UNMAPPED') as payer_class,
        reason_keys.facility_id,
        reason_keys.service_line_code,
        reason_keys.denial_category,
        reason_keys.group_code,
        reason_keys.carc_code,
        cast(coalesce(denial_cohorts.denied_claim_count, 0) as bigint) as denied_claim_count,
        cast(coalesce(denial_amounts.denied_line_count, 0) as bigint) as denied_line_count,
        cast(coalesce(denial_amounts.denied_amount, 0) as decimal(18, 2)) as denied_amount,
        cast(coalesce(denial_amounts.reversed_denied_amount, 0) as decimal(18, 2))
            as reversed_denied_amount,
        cast(coalesce(denial_cohorts.initial_denied_claim_count, 0) as bigint)
            as initial_denied_claim_count,
        cast(coalesce(adjudications.adjudicated_claim_count, 0) as bigint)
            as adjudicated_claim_count,
        cast(
            case
                when adjudications.adjudicated_claim_count > 0
                    then 1.0 * coalesce(denial_cohorts.initial_denied_claim_count, 0)
                    / adjudications.adjudicated_claim_count
            end
            as decimal(18, 4)
        ) as initial_denial_rate,
        cast(coalesce(denial_cohorts.overturned_claim_count, 0) as bigint)
            as overturned_claim_count,
        cast(
            case
                when denial_cohorts.denied_claim_count > 0
                    then 1.0 * denial_cohorts.overturned_claim_count
                    / denial_cohorts.denied_claim_count
            end
            as decimal(18, 4)
        ) as overturn_rate,
        cast(coalesce(write_offs.written_off_amount, 0) as decimal(18, 2))
            as written_off_amount,
        cast(coalesce(denial_cohorts.resolved_claim_count, 0) as bigint)
            as resolved_claim_count,
        cast(
            case
                when denial_cohorts.resolved_claim_count > 0
                    then 1.0 * denial_cohorts.days_to_resolve_total
                    / denial_cohorts.resolved_claim_count
            end
            as decimal(18, 2)
        ) as avg_days_to_resolve
    from reason_keys
    left join denial_amounts
        on {{ join_on('reason_keys', 'denial_amounts', reason_key) }}
    left join denial_cohorts
        on {{ join_on('reason_keys', 'denial_cohorts', reason_key) }}
    left join write_offs
        on {{ join_on('reason_keys', 'write_offs', reason_key) }}
    left join adjudications
        on {{ join_on('reason_keys', 'adjudications', reason_key[:4]) }}
    left join payers on reason_keys.payer_code = payers.payer_code
    left join accounting_periods on reason_keys.period_id = accounting_periods.period_id
)

select * from final
