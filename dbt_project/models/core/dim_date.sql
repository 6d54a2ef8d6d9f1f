-- Calendar days from 2018 through 2035, built with dbt's cross-database date_spine.
with

days as (
    {{ dbt.date_spine('day', "cast('2018-01-01' as date)", "cast('2036-01-01' as date)") }}
),

final as (
    select
        cast(date_day as date) as date_day,
        cast({{ dbt.date_trunc('week', 'date_day') }} as date) as week_start_date,
        cast({{ dbt.date_trunc('month', 'date_day') }} as date) as month_start_date,
        {{ date_part_int('year', 'date_day') }} as year_number,
        {{ date_part_int('month', 'date_day') }} as month_number,
        {{ date_part_int('day', 'date_day') }} as day_of_month,
        {{ date_part_int('dow', 'date_day') }} as day_of_week
    from days
)

select * from final
