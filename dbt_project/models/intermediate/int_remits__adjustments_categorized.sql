-- 835 CAS adjustments (claim and line level) tied to their CLP and SVC, with the denial
-- reason category (seeds/carc_categories.csv; a pair without a row falls to `other`) and
-- the adjustment bucket that the measures use: patient_responsibility (group PR),
-- contractual (category contractual) or denial (anything else).
with

adjustments as (
    select * from {{ ref('stg_billing__remit_adjustments') }}
),

carc_categories as (
    select * from {{ ref('carc_categories') }}
),

categorized as (
    select
        {{ surrogate_key(['adjustments._batch_id', 'adjustments._source_record', 'adjustments.triplet_seq']) }}
            as adjustment_key,
        {{ surrogate_key([
            'adjustments._batch_id', 'adjustments.interchange_control_number',
            'adjustments.transaction_set_control_number', 'adjustments.claim_seq',
        ]) }}
            as remit_claim_key,
        case when adjustments.line_seq is not null then
            {{ surrogate_key([
                'adjustments._batch_id', 'adjustments.interchange_control_number',
                'adjustments.transaction_set_control_number', 'adjustments.claim_seq', 'adjustments.line_seq',
            ]) }}
        end as remit_line_key,
        adjustments.adjustment_level,
        adjustments.triplet_seq,
        adjustments.group_code,
        adjustments.carc_code,
        coalesce(carc_categories.category, 'other') as denial_category,
        case
            when adjustments.group_code = 'PR' or carc_categories.category = 'patient_responsibility'
                then 'patient_responsibility'
            when carc_categories.category = 'contractual' then 'contractual'
            else 'denial'
        end as adjustment_bucket,
        adjustments.amount,
        adjustments.quantity,
        adjustments._batch_id,
        adjustments._source_record,
        adjustments._loaded_at
    from adjustments
    left join carc_categories
        on carc_categories.group_code = adjustments.group_code
        and carc_categories.carc_code = adjustments.carc_code
),

final as (
    select * from categorized
)

select * from final
