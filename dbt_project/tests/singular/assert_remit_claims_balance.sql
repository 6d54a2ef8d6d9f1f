-- Every 835 CLP balances after bucketing its CAS adjustments (docs/data_contracts.md s.3):
-- charge = payment + patient responsibility + contractual + denial + unclassified + out of
-- balance (the suspense amount of a CLP whose CAS does not explain its charge).
select
    remit_claim_key,
    charge_amount,
    payment_amount,
    patient_responsibility_amount,
    contractual_adjustment_amount,
    denial_amount,
    unclassified_adjustment_amount,
    out_of_balance_amount
from {{ ref('fct_remittance_claims') }}
where charge_amount
    <> payment_amount + patient_responsibility_amount + contractual_adjustment_amount + denial_amount
    + unclassified_adjustment_amount + out_of_balance_amount
