-- 835 PLB provider-level adjustments with their ERA's payment date (BPR16) and the facility of
-- the ERA's claims: an ERA pays one payee, so the facility most of its matched CLPs belong to
-- (ties: the smallest id); null when none of its CLPs matched a claim with a known facility.
with

adjustments as (
    select * from {{ ref('stg_billing__remit_provider_adjustments') }}
),

payments as (
    select * from {{ ref('stg_billing__remit_payments') }}
),

matched as (
    select * from {{ ref('int_remits__claims_matched') }}
),

claims as (
    select * from {{ ref('int_claims__attributed') }}
),

era_facilities as (
    select _batch_id, interchange_control_number, transaction_set_control_number, facility_id, legal_entity_id
    from (
        select
            matched._batch_id,
            matched.interchange_control_number,
            matched.transaction_set_control_number,
            claims.facility_id,
            claims.legal_entity_id,
            row_number() over (
                partition by
                    matched._batch_id, matched.interchange_control_number, matched.transaction_set_control_number
                order by count(*) desc, claims.facility_id
            ) as facility_rank
        from matched
        inner join claims on claims.claim_id = matched.claim_id
        where claims.facility_id <> 'UNMAPPED'
        group by matched._batch_id, matched.interchange_control_number, matched.transaction_set_control_number,
            claims.facility_id, claims.legal_entity_id
    ) as ranked
    where facility_rank = 1
),

final as (
    select
        {{ surrogate_key([
            'adjustments._batch_id', 'adjustments._source_record', 'adjustments.reason_code',
            'adjustments.reference_id', 'adjustments.amount', 'adjustments.occurrence_seq'
        ]) }}
            as provider_adjustment_key,
        adjustments.trace_number,
        adjustments.provider_id as payee_npi,
        payments.payment_date as remit_date,
        adjustments.fiscal_period_date,
        adjustments.reason_code,
        adjustments.reference_id,
        era_facilities.facility_id,
        era_facilities.legal_entity_id,
        adjustments.amount,
        adjustments._batch_id,
        adjustments._loaded_at
    from adjustments
    left join payments
        on payments._batch_id = adjustments._batch_id
        and coalesce(payments.interchange_control_number, '')
        = coalesce(adjustments.interchange_control_number, '')
        and payments.transaction_set_control_number = adjustments.transaction_set_control_number
    left join era_facilities
        on era_facilities._batch_id = adjustments._batch_id
        and coalesce(era_facilities.interchange_control_number, '')
        = coalesce(adjustments.interchange_control_number, '')
        and era_facilities.transaction_set_control_number = adjustments.transaction_set_control_number
)

select * from final
