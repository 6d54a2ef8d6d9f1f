-- One row per 835 CAS triplet (claim or line level) with its denial reason, bucket and
-- the remit's date, facility, payer and service line.
with

adjustments as (
    select * from {{ ref('int_remits__adjustments_categorized') }}
),

remit_claims as (
    select * from {{ ref('fct_remittance_claims') }}
),

final as (
    select
        adjustments.adjustment_key,
        adjustments.remit_claim_key,
        adjustments.remit_line_key,
        adjustments.adjustment_level,
        adjustments.group_code,
        adjustments.carc_code,
        {{ dbt.concat(['adjustments.group_code', "'-'", 'adjustments.carc_code']) }} as denial_reason_key,
        adjustments.denial_category,
        adjustments.adjustment_bucket,
        adjustments.amount,
        adjustments.quantity,
        remit_claims.remit_date,
        coalesce(remit_claims.facility_id, 'UNMAPPED') as facility_id,
        coalesce(remit_claims.payer_code, 'UNMAPPED') as payer_code,
        coalesce(remit_claims.payer_class, 'UNMAPPED') as payer_class,
        coalesce(remit_claims.service_line_code, 'UNMAPPED') as service_line_code,
        remit_claims.claim_id,
        adjustments._batch_id,
        adjustments._loaded_at
    from adjustments
    left join remit_claims on remit_claims.remit_claim_key = adjustments.remit_claim_key
)

select * from final
