{#-
    Charge capture per facility x service date (docs/marts.md, "Charge capture"): what the EHR
    captured (HL7 DFT charges less credits) against what billing billed (the claim lines of
    current, not voided claim versions), summed from the encounter days of
    core.fct_charge_capture_encounter_days, split by their status:

      matched_amount                 EHR = billed on the day (the billed amount)
      ehr_not_billed_amount          captured, never billed (leakage; status ehr_only)
      billed_without_ehr_amount      billed with no EHR charge that day (status claim_only)
      repriced_difference_amount     EHR - billed on days both sides carry with different
                                     amounts (a repriced charge, a line on one side only)
      not_in_charge_feed_amount      billed for encounters the DFT feed does not cover

    so that difference_amount = ehr_charge_amount - billed_charge_amount
      = ehr_not_billed_amount - billed_without_ehr_amount + repriced_difference_amount
        - not_in_charge_feed_amount.
    Lines and transactions with no encounter or service date are CHARGE_CAPTURE_UNPLACED rows
    of mart_reconciliation_exceptions, each encounter day that does not match a
    CHARGE_CAPTURE_* row. No patient-level data: counts and amounts per facility and day.
-#}

with

encounter_days as (
    select * from {{ ref('fct_charge_capture_encounter_days') }}
),

{%- set statuses = ['matched', 'ehr_only', 'claim_only', 'amount_difference', 'not_in_charge_feed'] %}

facility_days as (
    select
        facility_id,
        service_date,
        count(*) as encounter_day_count,
        {%- for status in statuses %}
        sum(case when reconciliation_status = '{{ status }}' then 1 else 0 end) as {{ status }}_day_count,
        {%- endfor %}
        sum(ehr_charge_count) as ehr_charge_count,
        sum(ehr_charge_amount) as ehr_charge_amount,
        sum(billed_line_count) as billed_line_count,
        sum(billed_charge_amount) as billed_charge_amount,
        sum(case when reconciliation_status = 'matched' then billed_charge_amount else 0 end) as matched_amount,
        sum(case when reconciliation_status = 'ehr_only' then ehr_charge_amount else 0 end)
            as ehr_not_billed_amount,
        sum(case when reconciliation_status = 'claim_only' then billed_charge_amount else 0 end)
            as billed_without_ehr_amount,
        sum(case when reconciliation_status = 'amount_difference' then difference_amount else 0 end)
            as repriced_difference_amount,
        sum(case when reconciliation_status = 'not_in_charge_feed' then billed_charge_amount else 0 end)
            as not_in_charge_feed_amount,
        sum(difference_amount) as difference_amount
    from encounter_days
    group by facility_id, service_date
),

final as (
    select
        facility_id,
        service_date,
        cast(encounter_day_count as {{ dbt.type_bigint() }}) as encounter_day_count,
        {%- for status in statuses %}
        cast({{ status }}_day_count as {{ dbt.type_bigint() }}) as {{ status }}_day_count,
        {%- endfor %}
        cast(ehr_charge_count as {{ dbt.type_bigint() }}) as ehr_charge_count,
        {{ money('ehr_charge_amount') }} as ehr_charge_amount,
        cast(billed_line_count as {{ dbt.type_bigint() }}) as billed_line_count,
        {{ money('billed_charge_amount') }} as billed_charge_amount,
        {{ money('matched_amount') }} as matched_amount,
        {{ money('ehr_not_billed_amount') }} as ehr_not_billed_amount,
        {{ money('billed_without_ehr_amount') }} as billed_without_ehr_amount,
        {{ money('repriced_difference_amount') }} as repriced_difference_amount,
        {{ money('not_in_charge_feed_amount') }} as not_in_charge_feed_amount,
        {{ money('difference_amount') }} as difference_amount,
        ehr_only_day_count + claim_only_day_count + amount_difference_day_count = 0 as is_reconciled
    from facility_days
)

select * from final
