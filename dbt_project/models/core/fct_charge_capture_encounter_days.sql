{#-
    The charge-capture checkpoint (docs/marts.md, "Charge capture"): one row per encounter x
    service date on which the EHR captured charges (core.fct_ehr_charges, placed) or billing
    billed claim lines (the lines of each chain's current, not voided claim version), joined
    full outer so that neither side loses a day. Status, in this order:

      not_in_charge_feed  billed, and the DFT feed carries no transaction for the encounter at
                          all (the feed covers only some encounters: nothing to compare)
      ehr_only            charges captured, nothing billed that day: charge leakage
      claim_only          billed, no EHR charge that day (a lost charge batch, a line
                          entered straight in billing)
      matched             both sides, equal amounts
      amount_difference   both sides, different amounts (a repriced charge, a line missing on
                          one side)

    Facility: the encounter's (core.fct_encounters), else the facility of its billed lines,
    else UNMAPPED. Lines or transactions with no encounter or no service date cannot be placed
    on a day: they are CHARGE_CAPTURE_UNPLACED rows of core.fct_data_quality_exceptions.
    No PHI: encounter ids and amounts.
-#}

with

ehr_charges as (
    select * from {{ ref('fct_ehr_charges') }}
),

claim_lines as (
    select * from {{ ref('fct_claim_lines') }}
),

claims as (
    select * from {{ ref('fct_claims') }}
),

encounters as (
    select * from {{ ref('fct_encounters') }}
),

ehr_days as (
    select
        encounter_id,
        service_date,
        count(*) as ehr_charge_count,
        sum(charge_amount) as ehr_charge_amount
    from ehr_charges
    where is_placed
    group by encounter_id, service_date
),

fed_encounters as (
    select distinct encounter_id
    from ehr_charges
    where encounter_id is not null
),

billed_lines as (
    select
        claims.encounter_id,
        claim_lines.service_date,
        claim_lines.facility_id,
        claim_lines.charge_amount
    from claim_lines
    left join claims on claims.claim_id = claim_lines.claim_id
    where claims.is_current_version and not claims.is_voided
),

billed_days as (
    select
        encounter_id,
        service_date,
        count(*) as billed_line_count,
        sum(charge_amount) as billed_charge_amount,
        min(facility_id) as billed_facility_id
    from billed_lines
    where encounter_id is not null and service_date is not null
    group by encounter_id, service_date
),

billed_facilities as (
    select
        encounter_id,
        min(facility_id) as facility_id
    from billed_lines
    where encounter_id is not null and facility_id <> 'UNMAPPED'
    group by encounter_id
),

joined as (
    select
        coalesce(ehr_days.encounter_id, billed_days.encounter_id) as encounter_id,
        coalesce(ehr_days.service_date, billed_days.service_date) as service_date,
        coalesce(ehr_days.ehr_charge_count, 0) as ehr_charge_count,
        coalesce(ehr_days.ehr_charge_amount, 0) as ehr_charge_amount,
        coalesce(billed_days.billed_line_count, 0) as billed_line_count,
        coalesce(billed_days.billed_charge_amount, 0) as billed_charge_amount,
        billed_days.billed_facility_id
    from ehr_days
    full outer join billed_days
        on billed_days.encounter_id = ehr_days.encounter_id
        and billed_days.service_date = ehr_days.service_date
),

final as (
    select
        {{ surrogate_key(['joined.encounter_id', 'joined.service_date']) }} as charge_capture_day_key,
        joined.encounter_id,
        joined.service_date,
        coalesce(
            case when encounters.facility_id <> 'UNMAPPED' then encounters.facility_id end,
            billed_facilities.facility_id,
            joined.billed_facility_id,
            'UNMAPPED'
        ) as facility_id,
        case
            when fed_encounters.encounter_id is null then 'not_in_charge_feed'
            when joined.billed_line_count = 0 then 'ehr_only'
            when joined.ehr_charge_count = 0 then 'claim_only'
            when joined.ehr_charge_amount = joined.billed_charge_amount then 'matched'
            else 'amount_difference'
        end as reconciliation_status,
        fed_encounters.encounter_id is not null as is_in_charge_feed,
        cast(joined.ehr_charge_count as {{ dbt.type_int() }}) as ehr_charge_count,
        {{ money('joined.ehr_charge_amount') }} as ehr_charge_amount,
        cast(joined.billed_line_count as {{ dbt.type_int() }}) as billed_line_count,
        {{ money('joined.billed_charge_amount') }} as billed_charge_amount,
        {{ money('joined.ehr_charge_amount - joined.billed_charge_amount') }} as difference_amount
    from joined
    left join fed_encounters on fed_encounters.encounter_id = joined.encounter_id
    left join encounters on encounters.encounter_id = joined.encounter_id
    left join billed_facilities on billed_facilities.encounter_id = joined.encounter_id
)

select * from final
