-- One row per 835 SVC service line with its line-level CAS buckets and the claim line it
-- pays (REF*6R). Incremental: an 835 line never changes once landed.
{{ config(
    materialized='incremental',
    unique_key='remit_line_key',
    incremental_strategy='delete+insert',
    on_schema_change='fail'
) }}

with

service_lines as (
    select * from {{ ref('int_remits__service_lines') }}
    {% if is_incremental() %}
    where _loaded_at > (select max(_loaded_at) from {{ this }})
    {% endif %}
),

adjustments as (
    select * from {{ ref('int_remits__adjustments_categorized') }}
    where adjustment_level = 'line'
),

remit_claims as (
    select * from {{ ref('int_remits__claims_matched') }}
),

buckets as (
    select
        remit_line_key,
        sum(case when adjustment_bucket = 'patient_responsibility' then amount else 0 end)
            as patient_responsibility_amount,
        sum(case when adjustment_bucket = 'contractual' then amount else 0 end) as contractual_adjustment_amount,
        sum(case when adjustment_bucket = 'denial' then amount else 0 end) as denial_amount
    from adjustments
    group by remit_line_key
),

final as (
    select
        service_lines.remit_line_key,
        service_lines.remit_claim_key,
        remit_claims.remit_date,
        remit_claims.trace_number,
        remit_claims.payer_code,
        service_lines.line_item_claim_id as claim_id,
        service_lines.line_item_line_number as line_number,
        case when service_lines.line_item_claim_id is not null and service_lines.line_item_line_number is not null
            then {{ surrogate_key(['service_lines.line_item_claim_id', 'service_lines.line_item_line_number']) }}
        end as claim_line_key,
        service_lines.line_seq,
        service_lines.procedure_code,
        service_lines.revenue_code,
        service_lines.units,
        service_lines.service_date,
        service_lines.charge_amount,
        service_lines.payment_amount,
        service_lines.allowed_amount,
        {{ money('coalesce(buckets.patient_responsibility_amount, 0)') }} as patient_responsibility_amount,
        {{ money('coalesce(buckets.contractual_adjustment_amount, 0)') }} as contractual_adjustment_amount,
        {{ money('coalesce(buckets.denial_amount, 0)') }} as denial_amount,
        service_lines._batch_id,
        service_lines._loaded_at
    from service_lines
    left join buckets on buckets.remit_line_key = service_lines.remit_line_key
    left join remit_claims on remit_claims.remit_claim_key = service_lines.remit_claim_key
)

select * from final
