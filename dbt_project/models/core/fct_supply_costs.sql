-- Supply spend by invoice, cost center and item category (duplicates removed).
with

supply_spend as (
    select * from {{ ref('int_erp__supply_spend') }}
    where not is_duplicate
),

final as (
    select
        supply_cost_key, invoice_id, invoice_date, period_id, supplier_id, facility_id, cost_center_id,
        service_line_code, item_category, amount, _batch_id
    from supply_spend
)

select * from final
