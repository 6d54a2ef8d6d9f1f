-- Conformed ERP cost center with hierarchy parent and service line, plus UNMAPPED.
with

cost_centers as (
    select * from {{ ref('int_erp__cost_centers') }}
),

final as (
    select
        cost_center_id,
        cost_center_name,
        facility_id,
        cost_center_type,
        service_line_code,
        parent_cost_center_id,
        is_active,
        false as is_unmapped
    from cost_centers
    union all
    select
        'UNMAPPED' as cost_center_id,
        'Unmapped cost center' as cost_center_name,
        'UNMAPPED' as facility_id,
        'unmapped' as cost_center_type,
        'UNMAPPED' as service_line_code,
        null as parent_cost_center_id,
        true as is_active,
        true as is_unmapped
)

select * from final
