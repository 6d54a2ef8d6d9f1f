-- ERP supply spend mapped to cost center (-> facility, service line) and accounting period.
-- An invoice line landed twice (same invoice, cost center, category) keeps its first load.
with

supply_spend as (
    select * from {{ ref('stg_erp__supply_spend') }}
),

cost_centers as (
    select * from {{ ref('int_erp__cost_centers') }}
),

periods as (
    select * from {{ ref('int_erp__accounting_periods') }}
),

ranked as (
    select
        supply_spend.*,
        row_number() over (
            partition by invoice_id, cost_center_id, item_category order by _loaded_at, _batch_id, _source_record
        ) as occurrence
    from supply_spend
),

final as (
    select
        {{ surrogate_key(['ranked.invoice_id', 'ranked.cost_center_id', 'ranked.item_category']) }} as supply_cost_key,
        ranked.invoice_id,
        ranked.invoice_date,
        periods.period_id,
        ranked.supplier_id,
        coalesce(cost_centers.cost_center_id, 'UNMAPPED') as cost_center_id,
        coalesce(cost_centers.facility_id, 'UNMAPPED') as facility_id,
        case when cost_centers.cost_center_id is null then 'UNMAPPED' else cost_centers.service_line_code end
            as service_line_code,
        ranked.item_category,
        coalesce(ranked.amount, 0) as amount,
        ranked.cost_center_id as cost_center_source_code,
        ranked.occurrence > 1 as is_duplicate,
        ranked._batch_id,
        ranked._loaded_at
    from ranked
    left join cost_centers on cost_centers.cost_center_id = ranked.cost_center_id
    left join periods
        on ranked.invoice_date >= periods.period_start_date and ranked.invoice_date <= periods.period_end_date
)

select * from final
