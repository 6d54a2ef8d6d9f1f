-- ERP cost centers, latest export of each wins.
with

cost_centers as (
    select * from {{ ref('stg_erp__cost_centers') }}
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
    from cost_centers
    qualify row_number() over (partition by cost_center_id order by _loaded_at desc, _source_record desc) = 1
)

select * from final
