-- ERP accounting periods, latest export wins (a period closes by a later export).
with

periods as (
    select * from {{ ref('stg_erp__accounting_periods') }}
),

final as (
    select period_id, period_start_date, period_end_date, fiscal_year, fiscal_period, status, _loaded_at
    from periods
    qualify row_number() over (partition by period_id order by _loaded_at desc, _source_record desc) = 1
)

select * from final
