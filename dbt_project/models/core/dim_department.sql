-- Conformed department (EHR department code) with facility and cost center, plus UNMAPPED.
with

departments as (
    select * from {{ ref('int_departments__unified') }}
),

final as (
    select department_code, department_name, facility_id, cost_center_id, service_line_code, false as is_unmapped
    from departments
    union all
    select
        'UNMAPPED' as department_code,
        'Unmapped department' as department_name,
        'UNMAPPED' as facility_id,
        'UNMAPPED' as cost_center_id,
        'UNMAPPED' as service_line_code,
        true as is_unmapped
)

select * from final
