-- One row per EHR department code with its name (FHIR department Location), facility and
-- cost center (ERP crosswalk department_cost_center).
with

department_xwalk as (
    select * from {{ ref('int_crosswalk__departments') }}
    where source_system = 'ehr'
),

locations as (
    {{ deduplicate(ref('stg_ehr__fhir_locations'), 'location_id', 'last_updated_at desc, _loaded_at desc') }}
),

location_xwalk as (
    select * from {{ ref('int_crosswalk__locations') }}
),

cost_centers as (
    select * from {{ ref('int_erp__cost_centers') }}
),

final as (
    select
        department_xwalk.department_code,
        coalesce(locations.location_name, department_xwalk.department_code) as department_name,
        coalesce(cost_centers.facility_id, location_xwalk.facility_id, 'UNMAPPED') as facility_id,
        coalesce(department_xwalk.cost_center_id, 'UNMAPPED') as cost_center_id,
        cost_centers.service_line_code
    from department_xwalk
    left join locations on locations.location_id = department_xwalk.department_code
    left join location_xwalk
        on location_xwalk.source_system = 'ehr_department'
        and location_xwalk.source_code = department_xwalk.department_code
    left join cost_centers on cost_centers.cost_center_id = department_xwalk.cost_center_id
)

select * from final
