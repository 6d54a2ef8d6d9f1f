{#-
    Revenue-cycle KPIs after HFMA MAP Keys and the HFMA Claim Integrity Task Force, one row per
    accounting period x facility, every ratio with its numerator and denominator
    (definitions in docs/marts.md; the accounting in docs/accounting_policy.md):

      clean_claim_rate           = clean claims submitted / claims submitted (non-void versions)
      initial_denial_rate        = claims initially denied in the period / average monthly
                                   claims submitted in the (up to) three periods before it
                                   (Claim Integrity Task Force, % of claim volume)
      initial_denial_charge_rate = their gross charges / average monthly gross charges
                                   submitted in those periods (% of claim dollars)
      denial_write_off_pct       = denial write-offs / net patient service revenue (AR-6)
      net_days_in_ar             = net A/R at period end / average daily net patient service
                                   revenue of the last three periods
      cash_pct_of_net_revenue    = patient service cash (835 payments + patient payments) /
                                   net patient service revenue
      dnfb_days                  = gross discharged-not-final-billed A/R at period end /
                                   average daily gross revenue of the last three periods
      bad_debt_pct, charity_pct  = bad-debt write-offs, charity adjustments / gross revenue

    Net patient service revenue (NPSR) is revenue at expected value, as the journals book it:
    gross charges (statement_to period) - contractual adjustments and denials (remit date)
    - the change of the contractual reserve over the period (4900 + 4950 = contractual
    adjustments + reserve change) - bad debt - charity (transaction date). Net A/R = the A/R
    subledger's net balance (payer A/R + unbilled A/R - contractual reserve, mart_ar_subledger;
    HFMA counts discharged-not-final-billed accounts at net realizable value, dnfb_net_ar_amount
    is their part) + patient
    A/R (patient responsibility moved by the 835s - patient payments - bad debt - charity)
    + PLB recoupments and forward balances to date (provider-level credits to payer A/R that no
    claim carries, - their cash effect), so net A/R is the GL's payer A/R + unbilled A/R
    - reserve + patient A/R.
    A PLB with no payment date is a PLB_NO_DATE exception (mart_reconciliation_exceptions).
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

subledger as (
    select * from {{ ref('mart_ar_subledger') }}
),

patient_transactions as (
    select * from {{ ref('fct_patient_transactions') }}
),

plb_recoupments as (
    select * from {{ ref('fct_provider_adjustments') }}
    where measure = 'plb_recoupment_amount' and remit_date is not null
),

submitted_claims as (
    select
        facility_id,
        submitted_date,
        is_clean_claim,
        charge_amount
    from claims
    where not is_voided and submitted_date is not null
),

adjudication_remits as (
    select
        claim_id,
        remit_claim_key,
        facility_id,
        remit_date,
        charge_amount,
        case when is_denied or denial_amount > 0 then 1 else 0 end as is_denied
    from remittances
    where not is_reversal and claim_id is not null
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

patient_events as (
    select
        facility_id,
        transaction_date,
        sum(case when measure = 'patient_payment_amount' then amount else 0 end) as patient_payment_amount,
        sum(case when measure = 'bad_debt_amount' then amount else 0 end) as bad_debt_amount,
        sum(case when measure = 'charity_amount' then amount else 0 end) as charity_amount
    from patient_transactions
    group by 1, 2
),

activity_dates as (
    select submitted_date as activity_date from submitted_claims
    union
    select remit_date from first_adjudications
    union
    select event_date from write_off_events
    union
    select transaction_date from patient_events
    union
    select remit_date from plb_recoupments
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
        count(*) as submitted_claim_count,
        sum(submitted_claims.charge_amount) as submitted_charge_amount
    from submitted_claims
    inner join date_periods on submitted_claims.submitted_date = date_periods.activity_date
    group by 1, 2
),

initial_denials as (
    select
        date_periods.period_id,
        first_adjudications.facility_id,
        sum(first_adjudications.is_denied) as initial_denied_claim_count,
        sum(
            case when first_adjudications.is_denied = 1 then first_adjudications.charge_amount else 0 end
        ) as initial_denied_charge_amount,
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

patient_activity as (
    select
        date_periods.period_id,
        patient_events.facility_id,
        sum(patient_events.patient_payment_amount) as patient_payment_amount,
        sum(patient_events.bad_debt_amount) as bad_debt_amount,
        sum(patient_events.charity_amount) as charity_amount
    from patient_events
    inner join date_periods on patient_events.transaction_date = date_periods.activity_date
    group by 1, 2
),

plb_activity as (
    -- what the recoupments credit to payer A/R is - their cash effect (Dr payer A/R / Cr cash)
    select
        date_periods.period_id,
        plb_recoupments.facility_id,
        sum(-plb_recoupments.cash_effect_amount) as plb_recoupment_ar_change_amount
    from plb_recoupments
    inner join date_periods on plb_recoupments.remit_date = date_periods.activity_date
    group by 1, 2
),

margin_activity as (
    select
        period_id,
        facility_id,
        sum(gross_charge_amount) as gross_charge_amount,
        sum(contractual_adjustment_amount) as contractual_adjustment_amount,
        sum(denial_amount) as denial_amount,
        sum(payment_amount) as payment_amount,
        sum(patient_responsibility_amount) as patient_responsibility_amount
    from monthly_margin
    group by 1, 2
),

revenue as (
    select
        coalesce(margin_activity.period_id, patient_activity.period_id) as period_id,
        coalesce(margin_activity.facility_id, patient_activity.facility_id) as facility_id,
        coalesce(margin_activity.gross_charge_amount, 0) as gross_charge_amount,
        coalesce(margin_activity.contractual_adjustment_amount, 0) as contractual_adjustment_amount,
        coalesce(margin_activity.denial_amount, 0) as denial_amount,
        coalesce(margin_activity.payment_amount, 0) as payment_amount,
        coalesce(patient_activity.patient_payment_amount, 0) as patient_payment_amount,
        coalesce(patient_activity.bad_debt_amount, 0) as bad_debt_amount,
        coalesce(patient_activity.charity_amount, 0) as charity_amount,
        coalesce(margin_activity.patient_responsibility_amount, 0)
        - coalesce(patient_activity.patient_payment_amount, 0)
        - coalesce(patient_activity.bad_debt_amount, 0)
        - coalesce(patient_activity.charity_amount, 0) as patient_ar_change_amount
    from margin_activity
    full outer join patient_activity
        on margin_activity.period_id = patient_activity.period_id
        and margin_activity.facility_id = patient_activity.facility_id
),

subledger_balances as (
    select
        period_id,
        facility_id,
        sum(reserve_balance_amount) as reserve_balance_amount,
        sum(net_balance_amount) as net_balance_amount,
        sum(case when not is_billed then charges_to_date_amount else 0 end) as dnfb_gross_amount,
        sum(case when not is_billed then net_balance_amount else 0 end) as dnfb_net_amount
    from subledger
    group by 1, 2
),

facility_keys as (
    select facility_id from facilities
    union
    select facility_id from revenue
    union
    select facility_id from plb_activity
),

-- every facility x period, so balances carry through quiet months
facility_periods as (
    select
        accounting_periods.period_id,
        accounting_periods.period_start_date,
        accounting_periods.period_end_date,
        facility_keys.facility_id
    from accounting_periods
    cross join facility_keys
),

period_flows as (
    select
        facility_periods.period_id,
        facility_periods.facility_id,
        facility_periods.period_start_date,
        facility_periods.period_end_date,
        {{ dbt.datediff('facility_periods.period_start_date', 'facility_periods.period_end_date', 'day') }}
        + 1 as day_count,
        coalesce(revenue.gross_charge_amount, 0) as gross_charge_amount,
        coalesce(revenue.contractual_adjustment_amount, 0) as contractual_adjustment_amount,
        coalesce(revenue.denial_amount, 0) as denial_amount,
        coalesce(revenue.payment_amount, 0) as payment_amount,
        coalesce(revenue.patient_payment_amount, 0) as patient_payment_amount,
        coalesce(revenue.bad_debt_amount, 0) as bad_debt_amount,
        coalesce(revenue.charity_amount, 0) as charity_amount,
        coalesce(revenue.patient_ar_change_amount, 0) as patient_ar_change_amount,
        coalesce(subledger_balances.reserve_balance_amount, 0) as reserve_balance_amount,
        coalesce(subledger_balances.net_balance_amount, 0) as payer_net_ar_amount,
        coalesce(subledger_balances.dnfb_gross_amount, 0) as dnfb_gross_amount,
        coalesce(subledger_balances.dnfb_net_amount, 0) as dnfb_net_amount,
        coalesce(plb_activity.plb_recoupment_ar_change_amount, 0) as plb_recoupment_ar_change_amount,
        coalesce(subledger_balances.reserve_balance_amount, 0) - coalesce(
            lag(subledger_balances.reserve_balance_amount) over (
                partition by facility_periods.facility_id order by facility_periods.period_start_date
            ),
            0
        ) as reserve_change_amount,
        coalesce(clean_claims.submitted_claim_count, 0) as submitted_claim_count,
        coalesce(clean_claims.submitted_charge_amount, 0) as submitted_charge_amount
    from facility_periods
    left join revenue
        on facility_periods.period_id = revenue.period_id
        and facility_periods.facility_id = revenue.facility_id
    left join subledger_balances
        on facility_periods.period_id = subledger_balances.period_id
        and facility_periods.facility_id = subledger_balances.facility_id
    left join clean_claims
        on facility_periods.period_id = clean_claims.period_id
        and facility_periods.facility_id = clean_claims.facility_id
    left join plb_activity
        on facility_periods.period_id = plb_activity.period_id
        and facility_periods.facility_id = plb_activity.facility_id
),

period_revenue as (
    select
        *,
        gross_charge_amount - contractual_adjustment_amount - denial_amount - reserve_change_amount
        - bad_debt_amount - charity_amount as net_revenue_amount
    from period_flows
),

balances as (
    select
        period_id,
        facility_id,
        period_start_date,
        period_end_date,
        gross_charge_amount,
        contractual_adjustment_amount,
        denial_amount,
        reserve_change_amount,
        bad_debt_amount,
        charity_amount,
        net_revenue_amount,
        payment_amount,
        patient_payment_amount,
        reserve_balance_amount,
        payer_net_ar_amount,
        sum(patient_ar_change_amount) over (
            partition by facility_id order by period_start_date
            rows between unbounded preceding and current row
        ) as patient_ar_amount,
        sum(plb_recoupment_ar_change_amount) over (
            partition by facility_id order by period_start_date
            rows between unbounded preceding and current row
        ) as plb_recoupment_ar_amount,
        dnfb_gross_amount,
        dnfb_net_amount,
        sum(net_revenue_amount) over (
            partition by facility_id order by period_start_date
            rows between 2 preceding and current row
        ) as trailing_net_revenue_amount,
        sum(gross_charge_amount) over (
            partition by facility_id order by period_start_date
            rows between 2 preceding and current row
        ) as trailing_gross_charge_amount,
        sum(day_count) over (
            partition by facility_id order by period_start_date
            rows between 2 preceding and current row
        ) as trailing_day_count,
        sum(submitted_claim_count) over (
            partition by facility_id order by period_start_date
            rows between 3 preceding and 1 preceding
        ) as prior_submitted_claim_count,
        sum(submitted_charge_amount) over (
            partition by facility_id order by period_start_date
            rows between 3 preceding and 1 preceding
        ) as prior_submitted_charge_amount,
        count(*) over (
            partition by facility_id order by period_start_date
            rows between 3 preceding and 1 preceding
        ) as prior_period_count
    from period_revenue
),

-- activity outside any accounting period keeps its flow measures (no balance)
unperiodized as (
    select
        period_id,
        facility_id,
        cast(null as date) as period_start_date,
        cast(null as date) as period_end_date,
        gross_charge_amount,
        contractual_adjustment_amount,
        denial_amount,
        cast(0 as decimal(18, 2)) as reserve_change_amount,
        bad_debt_amount,
        charity_amount,
        gross_charge_amount - contractual_adjustment_amount - denial_amount - bad_debt_amount
        - charity_amount as net_revenue_amount,
        payment_amount,
        patient_payment_amount,
        cast(null as decimal(18, 2)) as reserve_balance_amount,
        cast(null as decimal(18, 2)) as payer_net_ar_amount,
        cast(null as decimal(18, 2)) as patient_ar_amount,
        cast(null as decimal(18, 2)) as plb_recoupment_ar_amount,
        cast(null as decimal(18, 2)) as dnfb_gross_amount,
        cast(null as decimal(18, 2)) as dnfb_net_amount,
        cast(null as decimal(18, 2)) as trailing_net_revenue_amount,
        cast(null as decimal(18, 2)) as trailing_gross_charge_amount,
        cast(null as integer) as trailing_day_count,
        cast(null as bigint) as prior_submitted_claim_count,
        cast(null as decimal(18, 2)) as prior_submitted_charge_amount,
        cast(0 as bigint) as prior_period_count
    from revenue
    where revenue.period_id not in (select accounting_periods.period_id from accounting_periods)
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
                when period_facilities.prior_period_count > 0
                    then 1.0 * period_facilities.prior_submitted_claim_count
                    / period_facilities.prior_period_count
            end
            as decimal(18, 4)
        ) as prior_avg_submitted_claim_count,
        cast(
            case
                when period_facilities.prior_submitted_claim_count > 0
                    then 1.0 * coalesce(initial_denials.initial_denied_claim_count, 0)
                    * period_facilities.prior_period_count
                    / period_facilities.prior_submitted_claim_count
            end
            as decimal(18, 4)
        ) as initial_denial_rate,
        cast(coalesce(initial_denials.initial_denied_charge_amount, 0) as decimal(18, 2))
            as initial_denied_charge_amount,
        cast(
            case
                when period_facilities.prior_period_count > 0
                    then period_facilities.prior_submitted_charge_amount
                    / period_facilities.prior_period_count
            end
            as decimal(18, 2)
        ) as prior_avg_submitted_charge_amount,
        cast(
            case
                when period_facilities.prior_submitted_charge_amount > 0
                    then 1.0 * coalesce(initial_denials.initial_denied_charge_amount, 0)
                    * period_facilities.prior_period_count
                    / period_facilities.prior_submitted_charge_amount
            end
            as decimal(18, 4)
        ) as initial_denial_charge_rate,
        cast(coalesce(write_offs.denial_write_off_amount, 0) as decimal(18, 2))
            as denial_write_off_amount,
        cast(period_facilities.gross_charge_amount as decimal(18, 2)) as gross_charge_amount,
        cast(period_facilities.contractual_adjustment_amount as decimal(18, 2))
            as contractual_adjustment_amount,
        cast(period_facilities.denial_amount as decimal(18, 2)) as denial_amount,
        cast(period_facilities.reserve_change_amount as decimal(18, 2))
            as contractual_reserve_change_amount,
        cast(period_facilities.bad_debt_amount as decimal(18, 2)) as bad_debt_amount,
        cast(period_facilities.charity_amount as decimal(18, 2)) as charity_amount,
        cast(period_facilities.net_revenue_amount as decimal(18, 2)) as net_revenue_amount,
        cast(
            case
                when period_facilities.net_revenue_amount <> 0
                    then 1.0 * coalesce(write_offs.denial_write_off_amount, 0)
                    / period_facilities.net_revenue_amount
            end
            as decimal(18, 4)
        ) as denial_write_off_pct,
        cast(period_facilities.payer_net_ar_amount as decimal(18, 2)) as payer_net_ar_amount,
        cast(period_facilities.dnfb_net_amount as decimal(18, 2)) as dnfb_net_ar_amount,
        cast(period_facilities.reserve_balance_amount as decimal(18, 2))
            as contractual_reserve_amount,
        cast(period_facilities.patient_ar_amount as decimal(18, 2)) as patient_ar_amount,
        cast(period_facilities.plb_recoupment_ar_amount as decimal(18, 2)) as plb_recoupment_ar_amount,
        cast(
            period_facilities.payer_net_ar_amount + period_facilities.patient_ar_amount
            + period_facilities.plb_recoupment_ar_amount as decimal(18, 2)
        ) as net_ar_amount,
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
                    then 1.0 * (
                        period_facilities.payer_net_ar_amount + period_facilities.patient_ar_amount
                        + period_facilities.plb_recoupment_ar_amount
                    )
                    * period_facilities.trailing_day_count
                    / period_facilities.trailing_net_revenue_amount
            end
            as decimal(18, 2)
        ) as net_days_in_ar,
        cast(period_facilities.payment_amount as decimal(18, 2)) as payment_amount,
        cast(period_facilities.patient_payment_amount as decimal(18, 2)) as patient_payment_amount,
        cast(period_facilities.payment_amount + period_facilities.patient_payment_amount as decimal(18, 2))
            as cash_collected_amount,
        cast(
            case
                when period_facilities.net_revenue_amount <> 0
                    then 1.0 * (period_facilities.payment_amount + period_facilities.patient_payment_amount)
                    / period_facilities.net_revenue_amount
            end
            as decimal(18, 4)
        ) as cash_pct_of_net_revenue,
        cast(period_facilities.dnfb_gross_amount as decimal(18, 2)) as dnfb_gross_amount,
        cast(
            case
                when period_facilities.trailing_day_count > 0
                    then 1.0 * period_facilities.trailing_gross_charge_amount
                    / period_facilities.trailing_day_count
            end
            as decimal(18, 2)
        ) as avg_daily_gross_revenue_amount,
        cast(
            case
                when period_facilities.trailing_gross_charge_amount > 0
                    then 1.0 * period_facilities.dnfb_gross_amount * period_facilities.trailing_day_count
                    / period_facilities.trailing_gross_charge_amount
            end
            as decimal(18, 2)
        ) as dnfb_days,
        cast(
            case
                when period_facilities.gross_charge_amount <> 0
                    then 1.0 * period_facilities.bad_debt_amount / period_facilities.gross_charge_amount
            end
            as decimal(18, 4)
        ) as bad_debt_pct,
        cast(
            case
                when period_facilities.gross_charge_amount <> 0
                    then 1.0 * period_facilities.charity_amount / period_facilities.gross_charge_amount
            end
            as decimal(18, 4)
        ) as charity_pct
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
