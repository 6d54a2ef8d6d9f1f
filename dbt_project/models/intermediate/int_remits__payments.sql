-- One row per 835 transaction set (ST..SE, one BPR/TRN): the payment the payer sends to
-- the bank (BPR02, negative for a debit BPR03 = D) under its reassociation trace number
-- (TRN02), the provider-level adjustments (PLB) that explain why BPR02 differs from the sum
-- of its claim payments, by journal measure (seeds/plb_reason_codes.csv; unlisted codes
-- plb_other), and the legal entity of the claims it pays (UNMAPPED when none matched).
with

payments as (
    select * from {{ ref('stg_billing__remit_payments') }}
),

provider_adjustments as (
    select * from {{ ref('stg_billing__remit_provider_adjustments') }}
),

plb_codes as (
    select * from {{ ref('plb_reason_codes') }}
),

remits as (
    select * from {{ ref('int_remits__claims_matched') }}
),

claims as (
    select * from {{ ref('int_claims__attributed') }}
),

plb_totals as (
    select
        provider_adjustments._batch_id,
        provider_adjustments.interchange_control_number,
        provider_adjustments.transaction_set_control_number,
        count(*) as plb_count,
        sum(provider_adjustments.amount) as plb_amount,
        sum(
            case when plb_codes.measure = 'plb_interest_amount' then provider_adjustments.amount else 0 end
        ) as plb_interest_amount,
        sum(
            case when plb_codes.measure = 'plb_recoupment_amount' then provider_adjustments.amount else 0 end
        ) as plb_recoupment_amount,
        sum(case when plb_codes.measure is null then provider_adjustments.amount else 0 end) as plb_other_amount
    from provider_adjustments
    left join plb_codes on plb_codes.reason_code = provider_adjustments.reason_code
    group by 1, 2, 3
),

claim_entities as (
    select
        remits._batch_id,
        remits.interchange_control_number,
        remits.transaction_set_control_number,
        min(remits.payer_code) as payer_code,
        min(nullif(claims.legal_entity_id, 'UNMAPPED')) as legal_entity_id,
        count(distinct nullif(claims.legal_entity_id, 'UNMAPPED')) as legal_entity_count,
        sum(remits.payment_amount) as claim_payment_amount
    from remits
    left join claims on claims.claim_id = remits.claim_id
    group by 1, 2, 3
),

final as (
    select
        {{ surrogate_key([
            'payments._batch_id', 'payments.interchange_control_number', 'payments.transaction_set_control_number',
        ]) }}
            as remit_payment_key,
        payments.trace_number,
        payments.originating_company_id,
        payments.payment_date as remit_date,
        payments.payment_method,
        payments.credit_debit_flag,
        cast(
            case when payments.credit_debit_flag = 'D' then -payments.payment_amount else payments.payment_amount end
            as decimal(18, 2)
        ) as payment_amount,
        payments.x12_payer_id,
        coalesce(claim_entities.payer_code, 'UNMAPPED') as payer_code,
        coalesce(claim_entities.legal_entity_id, 'UNMAPPED') as legal_entity_id,
        coalesce(claim_entities.legal_entity_count, 0) as legal_entity_count,
        cast(coalesce(claim_entities.claim_payment_amount, 0) as decimal(18, 2)) as claim_payment_amount,
        coalesce(plb_totals.plb_count, 0) as plb_count,
        cast(coalesce(plb_totals.plb_amount, 0) as decimal(18, 2)) as plb_amount,
        cast(coalesce(plb_totals.plb_interest_amount, 0) as decimal(18, 2)) as plb_interest_amount,
        cast(coalesce(plb_totals.plb_recoupment_amount, 0) as decimal(18, 2)) as plb_recoupment_amount,
        cast(coalesce(plb_totals.plb_other_amount, 0) as decimal(18, 2)) as plb_other_amount,
        payments.interchange_control_number,
        payments.transaction_set_control_number,
        payments._batch_id,
        payments._source_file,
        payments._loaded_at
    from payments
    left join plb_totals
        on plb_totals._batch_id = payments._batch_id
        and coalesce(plb_totals.interchange_control_number, '')
        = coalesce(payments.interchange_control_number, '')
        and plb_totals.transaction_set_control_number = payments.transaction_set_control_number
    left join claim_entities
        on claim_entities._batch_id = payments._batch_id
        and coalesce(claim_entities.interchange_control_number, '')
        = coalesce(payments.interchange_control_number, '')
        and claim_entities.transaction_set_control_number = payments.transaction_set_control_number
)

select * from final
