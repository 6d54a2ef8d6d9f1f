{#-
    One row per break in the encounter -> charge -> claim -> remittance -> journal chain,
    with a reason code (docs/marts.md):

      ENCOUNTER_NO_CHARGE  finalized encounter with no current, non-voided claim, older than
                           var('encounter_no_charge_days') at the as-of date
      CLAIM_NO_REMIT       current claim with no remittance var('claim_no_remit_days') after
                           submission, at the as-of date
      REMIT_NO_CLAIM       835 claim payment that matches no claim (on the facility its payee
                           NPI / TIN maps to, when one does: fct_remittance_claims)
      PAYEE_UNMAPPED       835 claim payment that matches no claim and whose payee NPI / TIN
                           maps to no single facility (erp/crosswalks.csv, entity payee): its
                           journals post on facility UNMAPPED; its payment as the amount
      UNMAPPED_CODE        a source code that landed on an UNMAPPED member (core exceptions)
      AR_ROLLFORWARD_BREAK a facility-period whose A/R roll-forward does not end on the GL
                           balance of the A/R accounts (mart_ar_rollforward)
      JOURNAL_NOT_POSTED   remitted amount of a facility-day that the daily reimbursement
                           journals do not carry (missing or different journal)
      AR_UNPLACED          claim A/R that mart_ar_subledger cannot place (facility or legal
                           entity unmapped, or a posting date outside every accounting period):
                           its payer A/R change as the amount
      AR_MOVEMENT_UNPLACED a movement of net A/R (charge, 835 CLP, reserve event, PLB
                           recoupment, patient transaction) that no accounting period can take
                           (core.fct_ar_rollforward_movements): its net A/R change as the amount
      CHARGE_CAPTURE_LEAKAGE
                           an encounter day on which the EHR captured charges (HL7 DFT) and
                           billing billed nothing (core.fct_charge_capture_encounter_days,
                           ehr_only): the EHR charge amount, never billed
      CHARGE_CAPTURE_CLAIM_ONLY
                           an encounter day of an encounter the DFT feed covers, billed with
                           no EHR charge that day (claim_only): the billed amount
      CHARGE_CAPTURE_AMOUNT_DIFFERS
                           an encounter day both sides carry with different amounts
                           (amount_difference): EHR minus billed
      PLB_NO_DATE          an 835 PLB adjustment whose ERA has no payment date: no journal can
                           post it; its cash effect as the amount
      REMIT_NO_DATE, REMIT_ADJUSTMENT_NO_DATE, DATE_OUT_OF_RANGE, PATIENT_NO_MRN,
      ENCOUNTER_NO_PATIENT, CHARGE_CAPTURE_UNPLACED, EHR_CHARGE_CREDIT, ...
                           a source record a data-quality check found wrong
                           (core.fct_data_quality_exceptions), with the amount it carries
                           (its PLB_NO_DATE rows are the plb_no_date arm above, by cash effect)

    The as-of date is the latest remit or submission date in the warehouse, so a rebuild on
    the same data gives the same rows. No patient-level identifiers: ids are encounter,
    claim, 835 trace and code values.
-#}

with

encounters as (
    select * from {{ ref('fct_encounters') }}
),

claims as (
    select * from {{ ref('fct_claims') }}
),

remittances as (
    select * from {{ ref('fct_remittance_claims') }}
),

mapping_exceptions as (
    select * from {{ ref('fct_mapping_exceptions') }}
),

facility_days as (
    select * from {{ ref('mart_reconciliation_facility_days') }}
),

ar_transactions as (
    select * from {{ ref('fct_ar_claim_transactions') }}
),

ar_rollforward as (
    select * from {{ ref('mart_ar_rollforward') }}
),

ar_movements as (
    select * from {{ ref('fct_ar_rollforward_movements') }}
),

provider_adjustments as (
    select * from {{ ref('fct_provider_adjustments') }}
),

data_quality_exceptions as (
    select * from {{ ref('fct_data_quality_exceptions') }}
),

charge_capture_days as (
    select * from {{ ref('fct_charge_capture_encounter_days') }}
),

as_of as (
    select
        coalesce(
            max(remit_date),
            (select max(claims.submitted_date) from claims)
        ) as as_of_date
    from remittances
),

charged_encounters as (
    select distinct encounter_id
    from claims
    where is_current_version and not is_voided
),

remitted_claims as (
    select distinct claim_id
    from remittances
    where claim_id is not null
),

encounter_no_charge as (
    select
        'ENCOUNTER_NO_CHARGE' as reason_code,
        'charge' as checkpoint,
        encounters.facility_id,
        encounters.encounter_date as exception_date,
        'encounter' as source_entity,
        encounters.encounter_id as source_id,
        cast(0 as decimal(18, 2)) as amount,
        'finalized encounter has no current, non-voided claim' as detail
    from encounters
    cross join as_of
    left join charged_encounters
        on encounters.encounter_id = charged_encounters.encounter_id
    where encounters.status = 'finished'
        and charged_encounters.encounter_id is null
        and encounters.encounter_date
        <= {{ dbt.dateadd('day', -1 * var('encounter_no_charge_days', 7), 'as_of.as_of_date') }}
),

claim_no_remit as (
    select
        'CLAIM_NO_REMIT' as reason_code,
        'remittance' as checkpoint,
        claims.facility_id,
        claims.submitted_date as exception_date,
        'claim' as source_entity,
        claims.claim_id as source_id,
        claims.charge_amount as amount,
        'no remittance ' || cast({{ var('claim_no_remit_days', 60) }} as {{ dbt.type_string() }})
        || ' days after submission' as detail
    from claims
    cross join as_of
    left join remitted_claims on claims.claim_id = remitted_claims.claim_id
    where claims.is_current_version
        and not claims.is_voided
        and remitted_claims.claim_id is null
        and claims.submitted_date
        <= {{ dbt.dateadd('day', -1 * var('claim_no_remit_days', 60), 'as_of.as_of_date') }}
),

remit_no_claim as (
    select
        'REMIT_NO_CLAIM' as reason_code,
        'remittance' as checkpoint,
        facility_id,
        remit_date as exception_date,
        'remittance' as source_entity,
        remit_claim_key as source_id,
        charge_amount as amount,
        '835 claim payment (trace ' || coalesce(trace_number, '?')
        || ') matches no claim' as detail
    from remittances
    where not is_matched
),

payee_unmapped as (
    select
        'PAYEE_UNMAPPED' as reason_code,
        'remittance' as checkpoint,
        facility_id,
        remit_date as exception_date,
        'remittance' as source_entity,
        remit_claim_key as source_id,
        payment_amount as amount,
        '835 claim payment (trace ' || coalesce(trace_number, '?') || ') matches no claim and its payee (NPI '
        || coalesce(payee_npi, '?') || ', TIN ' || coalesce(payee_tax_id, '?') || ') maps to '
        || case when legal_entity_id <> 'UNMAPPED' then 'legal entity ' || legal_entity_id || ' but ' else '' end
        || 'no single facility: add it to erp/crosswalks.csv (entity payee)' as detail
    from remittances
    where not is_matched and facility_id = 'UNMAPPED'
),

unmapped_codes as (
    select
        'UNMAPPED_CODE' as reason_code,
        'mapping' as checkpoint,
        'UNMAPPED' as facility_id,
        cast(first_seen_at as date) as exception_date,
        field as source_entity,
        source_system || ':' || field || ':' || value as source_id,
        cast(0 as decimal(18, 2)) as amount,
        'no crosswalk row for ' || field || ' ' || value || ' from ' || source_system
        || ' (' || cast(record_count as {{ dbt.type_string() }}) || ' records): add it to erp/crosswalks.csv'
            as detail
    from mapping_exceptions
),

journal_not_posted as (
    select
        'JOURNAL_NOT_POSTED' as reason_code,
        'journal' as checkpoint,
        facility_id,
        activity_date as exception_date,
        'facility_day' as source_entity,
        facility_id || ':' || cast(activity_date as {{ dbt.type_string() }}) as source_id,
        remitted_amount - posted_amount as amount,
        case
            when not has_posting then 'no daily reimbursement journal for remitted claims'
            else 'daily reimbursement journal differs from remitted amount'
        end as detail
    from facility_days
    where remitted_amount <> posted_amount
),

ar_unplaced as (
    select
        'AR_UNPLACED' as reason_code,
        'subledger' as checkpoint,
        max(facility_id) as facility_id,
        min(posting_date) as exception_date,
        'claim' as source_entity,
        claim_id as source_id,
        sum(gross_change_amount) as amount,
        'claim A/R not in the subledger ('
        || case
            when max(case when period_id is null then 1 else 0 end) = 1
                then 'a posting date outside every accounting period'
            else 'facility or legal entity unmapped'
        end
        || '); reserve ' || cast(sum(reserve_change_amount) as {{ dbt.type_string() }}) as detail
    from ar_transactions
    where not is_placed
    group by claim_id
),

ar_rollforward_break as (
    select
        'AR_ROLLFORWARD_BREAK' as reason_code,
        'gl' as checkpoint,
        facility_id,
        period_end_date as exception_date,
        'facility_period' as source_entity,
        facility_id || ':' || period_id as source_id,
        difference_amount as amount,
        break_reason as detail
    from ar_rollforward
    where not is_tied
),

ar_movement_unplaced as (
    select
        'AR_MOVEMENT_UNPLACED' as reason_code,
        'gl' as checkpoint,
        facility_id,
        movement_date as exception_date,
        movement_source as source_entity,
        source_id,
        net_change_amount as amount,
        movement_source || ' moves net A/R by ' || cast(net_change_amount as {{ dbt.type_string() }})
        || case
            when movement_date is null then ' and has no date'
            when source_period_id is null then ' on a date outside every accounting period'
            else ' in a closed period with no open period after it'
        end
        || ': not in mart_ar_rollforward' as detail
    from ar_movements
    where period_id is null
),

plb_no_date as (
    select
        'PLB_NO_DATE' as reason_code,
        'journal' as checkpoint,
        facility_id,
        cast(null as date) as exception_date,
        'provider_adjustment' as source_entity,
        provider_adjustment_key as source_id,
        cash_effect_amount as amount,
        '835 PLB ' || coalesce(reason_code, '?') || ' (trace ' || coalesce(trace_number, '?')
        || ') has no payment date: no remittance_plb journal or A/R roll-forward carries it' as detail
    from provider_adjustments
    where remit_date is null
),

{%- set charge_capture_arms = [
    ('CHARGE_CAPTURE_LEAKAGE', 'ehr_only', 'ehr_charge_amount',
     "' EHR charge(s) captured and never billed: add them to a claim (or a late-charge replacement)'",
     'ehr_charge_count'),
    ('CHARGE_CAPTURE_CLAIM_ONLY', 'claim_only', 'billed_charge_amount',
     "' line(s) billed with no EHR charge that day: check the DFT interface sent the day'"
     ~ " || ' (or the line was keyed in billing)'",
     'billed_line_count'),
    ('CHARGE_CAPTURE_AMOUNT_DIFFERS', 'amount_difference', 'difference_amount',
     "' EHR charge(s) against billed line(s) of another amount (EHR - billed): a repriced charge'"
     ~ " || ' or a line on one side only'",
     'ehr_charge_count'),
] %}
{%- for reason_code, status, amount, detail, count in charge_capture_arms %}

{{ reason_code | lower }} as (
    select
        '{{ reason_code }}' as reason_code,
        'charge_capture' as checkpoint,
        facility_id,
        service_date as exception_date,
        'encounter_day' as source_entity,
        encounter_id || ':' || cast(service_date as {{ dbt.type_string() }}) as source_id,
        {{ amount }} as amount,
        cast({{ count }} as {{ dbt.type_string() }}) || {{ detail }} as detail
    from charge_capture_days
    where reconciliation_status = '{{ status }}'
),
{%- endfor %}

data_quality as (
    select
        check_name as reason_code,
        'data_quality' as checkpoint,
        facility_id,
        exception_date,
        source_entity,
        record_key as source_id,
        amount,
        detail
    from data_quality_exceptions
    -- the same PLB records are the plb_no_date arm (signed by their cash effect)
    where check_name <> 'PLB_NO_DATE'
),

exceptions as (
    select * from encounter_no_charge
    union all
    select * from ar_movement_unplaced
    union all
    select * from plb_no_date
    union all
    select * from ar_unplaced
    union all
    select * from claim_no_remit
    union all
    select * from remit_no_claim
    union all
    select * from payee_unmapped
    union all
    select * from unmapped_codes
    union all
    select * from journal_not_posted
    union all
    select * from ar_rollforward_break
    {%- for reason_code, status, amount, detail, count in charge_capture_arms %}
    union all
    select * from {{ reason_code | lower }}
    {%- endfor %}
    union all
    select * from data_quality
),

final as (
    select
        {{ dbt.hash(
            "reason_code || '|' || coalesce(facility_id, '') || '|' || source_entity"
            ~ " || '|' || source_id"
        ) }}
            as exception_key,
        reason_code,
        checkpoint,
        coalesce(facility_id, 'UNMAPPED') as facility_id,
        exception_date,
        source_entity,
        source_id,
        cast(amount as decimal(18, 2)) as amount,
        detail
    from exceptions
)

select * from final
