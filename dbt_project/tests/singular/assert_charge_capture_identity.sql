-- Every facility x service date of the charge-capture reconciliation explains its whole
-- difference (docs/marts.md, "Charge capture"): EHR - billed = EHR not billed - billed
-- without EHR + repriced difference - billed outside the charge feed; the status day counts
-- cover every encounter day; the split amounts add up to both sides.
select
    facility_id,
    service_date,
    ehr_charge_amount,
    billed_charge_amount,
    difference_amount
from {{ ref('mart_charge_capture_reconciliation') }}
where difference_amount <> ehr_charge_amount - billed_charge_amount
    or difference_amount
    <> ehr_not_billed_amount - billed_without_ehr_amount + repriced_difference_amount - not_in_charge_feed_amount
    or encounter_day_count
    <> matched_day_count + ehr_only_day_count + claim_only_day_count + amount_difference_day_count
    + not_in_charge_feed_day_count
