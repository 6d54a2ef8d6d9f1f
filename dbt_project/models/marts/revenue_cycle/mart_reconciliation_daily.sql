{#-
    Reconciliation checkpoints, one row per facility x day. Each checkpoint counts what
    reached it on that day, on its own date:

      encounters  finalized encounters, by encounter date
      charged     current, non-voided claims, by statement_to_date (distinct encounters,
                  gross charges)
      claimed     non-voided claim versions submitted, by submitted_date
      remitted    835 claim payments, by remit date  } mart_reconciliation_facility_days,
      posted      daily reimbursement journals,      } which mart_reconciliation_exceptions
                  by posting date                    } reads too

    unposted_amount = remitted - posted; is_reconciled is true when the day has no
    exception rows in mart_reconciliation_exceptions and nothing is left unposted.
-#}

with

encounters as (
    select * from {{ ref('fct_encounters') }}
),

claims as (
    select * from {{ ref('fct_claims') }}
),

facility_days as (
    select * from {{ ref('mart_reconciliation_facility_days') }}
),

exceptions as (
    select * from {{ ref('mart_reconciliation_exceptions') }}
),

encounter_days as (
    select
        facility_id,
        encounter_date as activity_date,
        count(*) as encounter_count
    from encounters
    where status = 'finished'
    group by 1, 2
),

charge_days as (
    select
        facility_id,
        statement_to_date as activity_date,
        count(distinct encounter_id) as charged_encounter_count,
        count(*) as charged_claim_count,
        sum(charge_amount) as charge_amount
    from claims
    where is_current_version and not is_voided
    group by 1, 2
),

claim_days as (
    select
        facility_id,
        submitted_date as activity_date,
        count(*) as claimed_claim_count,
        sum(charge_amount) as claimed_amount
    from claims
    where not is_voided and submitted_date is not null
    group by 1, 2
),

exception_days as (
    select
        facility_id,
        exception_date as activity_date,
        count(*) as exception_count
    from exceptions
    where exception_date is not null
    group by 1, 2
),

day_keys as (
    select facility_id, activity_date from encounter_days
    union
    select facility_id, activity_date from charge_days
    union
    select facility_id, activity_date from claim_days
    union
    select facility_id, activity_date from facility_days
    union
    select facility_id, activity_date from exception_days
),

final as (
    select
        day_keys.facility_id,
        day_keys.activity_date,
        cast(coalesce(encounter_days.encounter_count, 0) as bigint) as encounter_count,
        cast(coalesce(charge_days.charged_encounter_count, 0) as bigint)
            as charged_encounter_count,
        cast(coalesce(charge_days.charged_claim_count, 0) as bigint) as charged_claim_count,
        cast(coalesce(charge_days.charge_amount, 0) as decimal(18, 2)) as charge_amount,
        cast(coalesce(claim_days.claimed_claim_count, 0) as bigint) as claimed_claim_count,
        cast(coalesce(claim_days.claimed_amount, 0) as decimal(18, 2)) as claimed_amount,
        cast(coalesce(facility_days.remitted_claim_count, 0) as bigint) as remitted_claim_count,
        cast(coalesce(facility_days.remitted_amount, 0) as decimal(18, 2)) as remitted_amount,
        cast(coalesce(facility_days.remitted_payment_amount, 0) as decimal(18, 2))
            as remitted_payment_amount,
        cast(coalesce(facility_days.posted_journal_count, 0) as bigint) as posted_journal_count,
        cast(coalesce(facility_days.posted_amount, 0) as decimal(18, 2)) as posted_amount,
        cast(coalesce(facility_days.posted_payment_amount, 0) as decimal(18, 2))
            as posted_payment_amount,
        cast(
            coalesce(facility_days.remitted_amount, 0) - coalesce(facility_days.posted_amount, 0)
            as decimal(18, 2)
        ) as unposted_amount,
        cast(coalesce(exception_days.exception_count, 0) as bigint) as exception_count,
        coalesce(exception_days.exception_count, 0) = 0
        and coalesce(facility_days.remitted_amount, 0) = coalesce(facility_days.posted_amount, 0)
            as is_reconciled
    from day_keys
    left join encounter_days
        on day_keys.facility_id = encounter_days.facility_id
        and day_keys.activity_date = encounter_days.activity_date
    left join charge_days
        on day_keys.facility_id = charge_days.facility_id
        and day_keys.activity_date = charge_days.activity_date
    left join claim_days
        on day_keys.facility_id = claim_days.facility_id
        and day_keys.activity_date = claim_days.activity_date
    left join facility_days
        on day_keys.facility_id = facility_days.facility_id
        and day_keys.activity_date = facility_days.activity_date
    left join exception_days
        on day_keys.facility_id = exception_days.facility_id
        and day_keys.activity_date = exception_days.activity_date
)

select * from final
