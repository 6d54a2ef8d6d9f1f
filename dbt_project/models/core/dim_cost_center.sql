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
    select 'UNMAPPED', 'Unmapped cost center', 'UNMAPPED', 'unmapped', 'UNMAPPED', null, true, true
)

select * from final
