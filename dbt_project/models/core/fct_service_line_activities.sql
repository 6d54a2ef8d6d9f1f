{#-
    The dated revenue activity both service-line margin marts aggregate, written once: one
    row per current, non-voided claim version (its charges and expected reimbursement, dated
    by statement_to_date) and one row per 835 claim payment (payment, contractual
    adjustment, denial and patient responsibility, dated by the remit date), each with its
    accounting period and week (Monday start). The rendering physician of a payment is its
    claim's. An activity with no date or a date outside the ERP calendar keeps its money on
    period UNMAPPED and the sentinel week 1900-01-01 instead of dropping out.
-#}

with

claims as (
    select * from {{ ref('fct_claims') }}
),

remittances as (
    select * from {{ ref('fct_remittance_claims') }}
),

accounting_periods as (
    select * from {{ ref('dim_accounting_period') }}
),

charge_activities as (
    select
        'charge:' || claim_id as activity_key,
        'charge' as activity_kind,
        claim_id,
        facility_id,
        service_line_code,
        coalesce(rendering_npi, 'UNMAPPED') as rendering_npi,
        encounter_id,
        statement_to_date as activity_date,
        charge_amount,
        expected_reimbursement_amount,
        cast(0 as decimal(18, 2)) as payment_amount,
        cast(0 as decimal(18, 2)) as contractual_adjustment_amount,
        cast(0 as decimal(18, 2)) as denial_amount,
        cast(0 as decimal(18, 2)) as patient_responsibility_amount
    from claims
    where is_current_version and not is_voided
),

remit_activities as (
    select
        'remit:' || remittances.remit_claim_key as activity_key,
        'remit' as activity_kind,
        remittances.claim_id,
        remittances.facility_id,
        remittances.service_line_code,
        coalesce(claims.rendering_npi, 'UNMAPPED') as rendering_npi,
        cast(null as varchar) as encounter_id,
        remittances.remit_date as activity_date,
        cast(0 as decimal(18, 2)) as charge_amount,
        cast(0 as decimal(18, 2)) as expected_reimbursement_amount,
        remittances.payment_amount,
        remittances.contractual_adjustment_amount,
        remittances.denial_amount,
        remittances.patient_responsibility_amount
    from remittances
    left join claims on remittances.claim_id = claims.claim_id
),

activities as (
    select * from charge_activities
    union all
    select * from remit_activities
),

final as (
    select
        activities.activity_key,
        activities.activity_kind,
        activities.claim_id,
        activities.facility_id,
        activities.service_line_code,
        activities.rendering_npi,
        activities.encounter_id,
        activities.activity_date,
        coalesce(accounting_periods.period_id, 'UNMAPPED') as period_id,
        coalesce(
            cast({{ dbt.date_trunc('week', 'activities.activity_date') }} as date),
            cast('1900-01-01' as date)
        ) as week_start_date,
        activities.charge_amount,
        activities.expected_reimbursement_amount,
        activities.payment_amount,
        activities.contractual_adjustment_amount,
        activities.denial_amount,
        activities.patient_responsibility_amount
    from activities
    left join accounting_periods
        on activities.activity_date between accounting_periods.period_start_date
        and accounting_periods.period_end_date
)

select * from final
