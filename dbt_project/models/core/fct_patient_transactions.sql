-- One row per patient-side transaction of the billing platform's export (docs/accounting_policy.md
-- section 4): copays and statement payments (patient_payment_amount), refunds
-- (patient_refund_amount), bad-debt write-offs (bad_debt_amount) and charity adjustments
-- (charity_amount), each a positive amount, with the claim's facility, cost center, service line
-- and payer. A transaction whose claim is unknown posts on the UNMAPPED facility (held, never
-- dropped). Ingest quarantines any other transaction type (careledger/ingest/csv/contract.py).
-- cash_amount is what reached the bank (copays and payments; refunds negative).
with

transactions as (
    select * from {{ ref('int_billing__patient_transactions') }}
),

claims as (
    select * from {{ ref('fct_claims') }}
),

final as (
    select
        transactions.transaction_id,
        transactions.claim_id,
        transactions.transaction_type,
        transactions.transaction_date,
        case transactions.transaction_type
            when 'copay' then 'patient_payment_amount'
            when 'payment' then 'patient_payment_amount'
            when 'refund' then 'patient_refund_amount'
            when 'bad_debt' then 'bad_debt_amount'
            when 'charity' then 'charity_amount'
        end as measure,
        claims.root_claim_id,
        coalesce(claims.facility_id, 'UNMAPPED') as facility_id,
        coalesce(claims.legal_entity_id, 'UNMAPPED') as legal_entity_id,
        coalesce(claims.cost_center_id, 'UNMAPPED') as cost_center_id,
        coalesce(claims.service_line_code, 'UNMAPPED') as service_line_code,
        coalesce(claims.payer_code, 'UNMAPPED') as payer_code,
        coalesce(claims.payer_class, 'UNMAPPED') as payer_class,
        transactions.payment_method,
        transactions.deposit_reference,
        {{ money('transactions.amount') }} as amount,
        transactions.cash_amount,
        transactions._batch_id,
        transactions._loaded_at
    from transactions
    left join claims on claims.claim_id = transactions.claim_id
)

select * from final
