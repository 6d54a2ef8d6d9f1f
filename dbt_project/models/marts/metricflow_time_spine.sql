-- Daily time spine for MetricFlow (the semantic models and metrics in
-- _marts__semantic_models.yml): one row per calendar day of dim_date.
with

dates as (
    select * from {{ ref('dim_date') }}
),

final as (
    select date_day
    from dates
)

select * from final
