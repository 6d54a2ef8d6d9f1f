-- 835 CAS adjustments (claim and line level) tied to their CLP and SVC, with the reason
-- category: the (group, CARC) pair's row in seeds/carc_categories.csv, else the code's row in
-- seeds/carc_codes.csv (every published CARC), else `unclassified`; and the adjustment
-- bucket that the measures use (macro adjustment_bucket): patient_responsibility (group PR),
-- contractual, unclassified (a code no reference lists: its own account, never a denial) or
-- denial (anything else).
with

adjustments as (
    select * from {{ ref('stg_billing__remit_adjustments') }}
),

carc_categories as (
    select * from {{ ref('carc_categories') }}
),

carc_codes as (
    select * from {{ ref('carc_codes') }}
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
        coalesce(carc_categories.category, carc_codes.category, 'unclassified') as denial_category,
        case
            when carc_categories.category is not null then 'group_and_code'
            when carc_codes.category is not null then 'code'
            else 'none'
        end as category_source,
        {{ adjustment_bucket(
            'adjustments.group_code', "coalesce(carc_categories.category, carc_codes.category, 'unclassified')"
        ) }} as adjustment_bucket,
        adjustments.amount,
        adjustments.quantity,
        adjustments._batch_id,
        adjustments._source_record,
        adjustments._loaded_at
    from adjustments
    left join carc_categories
        on carc_categories.group_code = adjustments.group_code
        and carc_categories.carc_code = adjustments.carc_code
    left join carc_codes on carc_codes.carc_code = adjustments.carc_code
),

final as (
    select * from categorized
)

select * from final
