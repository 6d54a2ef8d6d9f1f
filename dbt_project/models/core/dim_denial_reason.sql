-- Conformed denial reason: (CAS group code, CARC) -> reporting category and the
-- adjustment bucket used by the measures (macro adjustment_bucket). Pairs seen on 835s
-- without a seeds/carc_categories.csv row take the code's category from seeds/carc_codes.csv,
-- else `unclassified` (those also appear in fct_mapping_exceptions).
with

carc_categories as (
    select * from {{ ref('carc_categories') }}
),

group_codes as (
    select * from {{ ref('cas_group_codes') }}
),

carc_codes as (
    select * from {{ ref('carc_codes') }}
),

observed as (
    select distinct group_code, carc_code from {{ ref('int_remits__adjustments_categorized') }}
    where group_code is not null and carc_code is not null
    union
    select distinct group_code, carc_code from {{ ref('int_billing__denial_events') }}
    where group_code is not null and carc_code is not null
),

reasons as (
    select group_code, carc_code, description, category, true as is_in_reference
    from carc_categories
    union all
    select
        observed.group_code,
        observed.carc_code,
        coalesce(carc_codes.description, 'Not in reference data') as description,
        coalesce(carc_codes.category, 'unclassified') as category,
        carc_codes.carc_code is not null as is_in_reference
    from observed
    left join carc_categories
        on carc_categories.group_code = observed.group_code and carc_categories.carc_code = observed.carc_code
    left join carc_codes on carc_codes.carc_code = observed.carc_code
    where carc_categories.group_code is null
),

final as (
    select
        {{ dbt.concat(['reasons.group_code', "'-'", 'reasons.carc_code']) }} as denial_reason_key,
        reasons.group_code,
        group_codes.description as group_description,
        reasons.carc_code,
        reasons.description as carc_description,
        reasons.category as denial_category,
        {{ adjustment_bucket('reasons.group_code', 'reasons.category') }} as adjustment_bucket,
        reasons.is_in_reference
    from reasons
    left join group_codes on group_codes.group_code = reasons.group_code
)

select * from final
