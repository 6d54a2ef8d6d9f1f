-- Every legal entity x day of the cash reconciliation explains its whole difference
-- (docs/marts.md): deposits - expected receipts = unmatched deposits - unmatched receipts
-- + mismatch differences; and the matched/unmatched counts cover every receipt.
select
    legal_entity_id,
    deposit_date,
    deposit_amount,
    expected_amount,
    unmatched_deposit_amount,
    unmatched_remittance_amount,
    mismatch_difference_amount
from {{ ref('mart_cash_reconciliation_daily') }}
where deposit_amount - expected_amount
    <> unmatched_deposit_amount - unmatched_remittance_amount + mismatch_difference_amount
    or expected_amount <> remittance_amount + patient_cash_amount
    or deposit_amount <> payer_deposit_amount + lockbox_deposit_amount
