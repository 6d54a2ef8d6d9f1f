-- Conformed revenue category with its GL revenue account (seeds/revenue_categories.csv,
-- which carries the UNMAPPED member).
with

revenue_categories as (
    select * from {{ ref('revenue_categories') }}
),

final as (
    select
        revenue_category_code,
        revenue_category_name,
        gl_account_id,
        revenue_category_code = 'UNMAPPED' as is_unmapped
    from revenue_categories
)

select * from final
