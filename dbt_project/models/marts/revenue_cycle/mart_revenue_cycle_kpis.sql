{#-
    Revenue-cycle KPIs after HFMA MAP Keys, one row per accounting period x facility,
    every ratio with its numerator and denominator (definitions in docs/marts.md):

      clean_claim_rate        = clean claims submitted / claims submitted (non-void versions,
                                by submitted_date)
      initial_denial_rate     = claims whose first adjudication carried a denial / claims
                                first adjudicated in the period
      denial_write_off_pct    = denial write-offs (work-queue written_off events) / net
                                patient service revenue
      net_days_in_ar          = net A/R at period end / average daily net patient service
                                revenue of the last three periods
      cash_pct_of_net_revenue = payments (835 CLP04) / net patient service revenue

    Net patient service revenue is the margin mart's net revenue (gross charges -
    contractual adjustments - denials). Net A/R is the payer A/R balance the ERP journals
    build: cumulative gross charges - payments - contractual adjustments - denials -
    patient responsibility (moved to self-pay A/R) through the period end.
-#}

with

claims as (
    select * from {{ ref('fct_claims') }}
),

remittances as (
    select * from {{ ref('fct_remittance_claims') }}
),

denial_events as (
    select * from {{ ref('fct_denial_events') }}
),

monthly_margin as (
    select * from {{ ref('mart_service_line_margin_monthly') }}
),

facilities as (
    select * from {{ ref('dim_facility') }}
),

accounting_periods as (
    select * from {{ ref('dim_accounting_period') }}
),

submitted_claims as (
    select
        facility_id,
        submitted_date,
        is_clean_claim
    from claims
    where not is_voided and submitted_date is not null
),

adjudication_remits as (
    select
        claim_id,
        remit_claim_key,
        facility_id,
        remit_date,
        case when is_denied or denial_amount > 0 then 1 else 0 end as is_denied
    from remittances
    where not is_reversal
),

first_adjudications as (
    {{ deduplicate('adjudication_remits', 'claim_id', 'remit_date, remit_claim_key') }}
),

write_off_events as (
    select
        denial_events.event_date,
        coalesce(denial_events.facility_id, 'UNMAPPED') as facility_id,
        denial_events.amount
    from denial_events
    where denial_events.event_type = 'written_off'
),

activity_dates as (
    select submitted_date as activity_date from submitted_claims
    union
    select remit_date from first_adjudications
    union
    select event_date from write_off_events
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

clean_claims as (
    select
        date_periods.period_id,
        submitted_claims.facility_id,
        sum(case when submitted_claims.is_clean_claim then 1 else 0 end) as clean_claim_count,
        count(*) as submitted_claim_count
    from submitted_claims
    inner join date_periods on submitted_claims.submitted_date = date_periods.activity_date
    group by 1, 2
),

initial_denials as (
    select
        date_periods.period_id,
        first_adjudications.facility_id,
        sum(first_adjudications.is_denied) as initial_denied_claim_count,
        count(*) as adjudicated_claim_count
    from first_adjudications
    inner join date_periods on first_adjudications.remit_date = date_periods.activity_date
    group by 1, 2
),

write_offs as (
    select
        date_periods.period_id,
        write_off_events.facility_id,
        sum(write_off_events.amount) as denial_write_off_amount
    from write_off_events
    inner join date_periods on write_off_events.event_date = date_periods.activity_date
    group by 1, 2
),

revenue as (
    select
        period_id,
        facility_id,
        sum(gross_charge_amount) as gross_charge_amount,
        sum(net_revenue_amount) as net_revenue_amount,
        sum(payment_amount) as payment_amount,
        sum(
            gross_charge_amount - payment_amount - contractual_adjustment_amount
            - denial_amount - patient_responsibility_amount
        ) as ar_change_amount
    from monthly_margin
    group by 1, 2
),

-- every facility x period, so balances carry through quiet months
facility_periods as (
    select
        accounting_periods.period_id,
        accounting_periods.period_start_date,
        accounting_periods.period_end_date,
        facility_keys.facility_id
    from accounting_periods
    cross join (
        select facility_id from facilities
        union
        select facility_id from revenue
    ) as facility_keys
),

balances as (
    select
        facility_periods.period_id,
        facility_periods.facility_id,
        facility_periods.period_start_date,
        facility_periods.period_end_date,
        coalesce(revenue.net_revenue_amount, 0) as net_revenue_amount,
        coalesce(revenue.payment_amount, 0) as payment_amount,
        sum(coalesce(revenue.ar_change_amount, 0)) over (
            partition by facility_periods.facility_id
            order by facility_periods.period_start_date
            rows between unbounded preceding and current row
        ) as net_ar_amount,
        sum(coalesce(revenue.net_revenue_amount, 0)) over (
            partition by facility_periods.facility_id
            order by facility_periods.period_start_date
            rows between 2 preceding and current row
        ) as trailing_net_revenue_amount,
        sum(
            {{ dbt.datediff('facility_periods.period_start_date',
                            'facility_periods.period_end_date', 'day') }} + 1
        ) over (
            partition by facility_periods.facility_id
            order by facility_periods.period_start_date
            rows between 2 preceding and current row
        ) as trailing_day_count
    from facility_periods
    left join revenue
        on facility_periods.period_id = revenue.period_id
        and facility_periods.facility_id = revenue.facility_id
),

-- activity outside any accounting period keeps its flow measures (no balance)
unperiodized as (
    select
        period_id,
        facility_id,
        cast(null as date) as period_start_date,
        cast(null as date) as period_end_date,
        net_revenue_amount,
        payment_amount,
        cast(null as decimal(18, 2)) as net_ar_amount,
        cast(null as decimal(18, 2)) as trailing_net_revenue_amount,
        cast(null as integer) as trailing_day_count
    from revenue
    where period_id not in (select period_id from accounting_periods)
),

period_facilities as (
    select * from balances
    union all
    select * from unperiodized
),

final as (
    select
        period_facilities.period_id,
        period_facilities.period_start_date,
        period_facilities.facility_id,
        cast(coalesce(clean_claims.clean_claim_count, 0) as bigint) as clean_claim_count,
        cast(coalesce(clean_claims.submitted_claim_count, 0) as bigint)
            as submitted_claim_count,
        cast(
            case
                when clean_claims.submitted_claim_count > 0
                    then 1.0 * clean_claims.clean_claim_count
                    / clean_claims.submitted_claim_count
            end
            as decimal(18, 4)
        ) as clean_claim_rate,
        cast(coalesce(initial_denials.initial_denied_claim_count, 0) as bigint)
            as initial_denied_claim_count,
        cast(coalesce(initial_denials.adjudicated_claim_count, 0) as bigint)
            as adjudicated_claim_count,
        cast(
            case
                when initial_denials.adjudicated_claim_count > 0
                    then 1.0 * initial_denials.initial_denied_claim_count
                    / initial_denials.adjudicated_claim_count
            end
            as decimal(18, 4)
        ) as initial_denial_rate,
        cast(coalesce(write_offs.denial_write_off_amount, 0) as decimal(18, 2))
            as denial_write_off_amount,
        cast(period_facilities.net_revenue_amount as decimal(18, 2)) as net_revenue_amount,
        cast(
            case
                when period_facilities.net_revenue_amount <> 0
                    then coalesce(write_offs.denial_write_off_amount, 0)
                    / period_facilities.net_revenue_amount
            end
            as decimal(18, 4)
        ) as denial_write_off_pct,
        cast(period_facilities.net_ar_amount as decimal(18, 2)) as net_ar_amount,
        cast(
            case
                when period_facilities.trailing_day_count > 0
                    then 1.0 * period_facilities.trailing_net_revenue_amount
                    / period_facilities.trailing_day_count
            end
            as decimal(18, 2)
        ) as avg_daily_net_revenue_amount,
        cast(
            case
                when period_facilities.trailing_net_revenue_amount > 0
                    then 1.0 * period_facilities.net_ar_amount
                    * period_facilities.trailing_day_count
                    / period_facilities.trailing_net_revenue_amount
            end
            as decimal(18, 2)
        ) as net_days_in_ar,
        cast(period_facilities.payment_amount as decimal(18, 2)) as payment_amount,
        cast(
            case
                when period_facilities.net_revenue_amount <> 0
                    then period_facilities.payment_amount
                    / period_facilities.net_revenue_amount
            end
            as decimal(18, 4)
        ) as cash_pct_of_net_revenue
    from period_facilities
    left join clean_claims
        on period_facilities.period_id = clean_claims.period_id
        and period_facilities.facility_id = clean_claims.facility_id
    left join initial_denials
        on period_facilities.period_id = initial_denials.period_id
        and period_facilities.facility_id = initial_denials.facility_id
    left join write_offs
        on period_facilities.period_id = write_offs.period_id
        and period_facilities.facility_id = write_offs.facility_id
)

select * from final
