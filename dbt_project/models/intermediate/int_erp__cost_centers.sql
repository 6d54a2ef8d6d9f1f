-- ERP cost centers, latest export of each wins.
with

cost_centers as (
    select * from {{ ref('stg_erp__cost_centers') }}
),

latest as (
    {{ deduplicate('cost_centers', 'cost_center_id', '_loaded_at desc, _source_record desc') }}
),

final as (
    select
        cost_center_id,
        cost_center_name,
        parent_cost_center_id,
        facility_id,
        cost_center_type,
        service_line_code,
        coalesce(is_active, true) as is_active,
        _loaded_at
    from latest
)

select * from final
