-- Conformed accounting period (ERP calendar, latest export wins).
with

periods as (
    select * from {{ ref('int_erp__accounting_periods') }}
),

final as (
    select
        period_id, period_start_date, period_end_date, fiscal_year, fiscal_period, status,
        status = 'closed' as is_closed
    from periods
)

select * from final
