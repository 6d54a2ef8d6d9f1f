-- ERP accounting periods, latest export wins (a period closes by a later export).
with

periods as (
    select * from {{ ref('stg_erp__accounting_periods') }}
),

latest as (
    {{ deduplicate('periods', 'period_id', '_loaded_at desc, _source_record desc') }}
),

final as (
    select period_id, period_start_date, period_end_date, fiscal_year, fiscal_period, status, _loaded_at
    from latest
)

select * from final
