-- One row per patient transaction of the billing platform (the latest export of each
-- transaction id wins), on its claim's facility and legal entity (UNMAPPED when the claim
-- id matches no claim). Amounts are positive reductions of the patient balance; is_cash
-- marks the transactions that bring money to the bank (copays and payments, refunds
-- negative), which the lockbox deposit of their deposit_reference carries.
with

transactions as (
    select * from {{ ref('stg_billing__patient_transactions') }}
),

claims as (
    select * from {{ ref('int_claims__attributed') }}
),

latest_transactions as (
    {{ deduplicate('transactions', 'transaction_id', '_loaded_at desc, _source_record desc') }}
),

final as (
    select
        latest_transactions.transaction_id,
        latest_transactions.claim_id,
        claims.claim_id is not null as is_matched,
        coalesce(claims.facility_id, 'UNMAPPED') as facility_id,
        coalesce(claims.legal_entity_id, 'UNMAPPED') as legal_entity_id,
        coalesce(claims.payer_code, 'UNMAPPED') as payer_code,
        coalesce(claims.service_line_code, 'UNMAPPED') as service_line_code,
        latest_transactions.transaction_type,
        latest_transactions.transaction_date,
        latest_transactions.amount,
        latest_transactions.transaction_type in ('copay', 'payment', 'refund') as is_cash,
        cast(
            case
                when latest_transactions.transaction_type in ('copay', 'payment') then latest_transactions.amount
                when latest_transactions.transaction_type = 'refund' then -latest_transactions.amount
                else 0
            end as decimal(18, 2)
        ) as cash_amount,
        latest_transactions.payment_method,
        latest_transactions.deposit_reference,
        latest_transactions._batch_id,
        latest_transactions._loaded_at
    from latest_transactions
    left join claims on claims.claim_id = latest_transactions.claim_id
)

select * from final
