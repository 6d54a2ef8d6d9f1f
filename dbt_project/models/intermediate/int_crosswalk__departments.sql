-- Department identifiers -> EHR department code, and EHR department -> ERP cost center.
-- Sources: billing department codes (ERP crosswalk), FHIR department Locations
-- (physicalType wa), HL7 PV1-3.1 points of care (already EHR codes).
with

crosswalks as (
    select * from {{ ref('stg_erp__crosswalks') }}
    where entity in ('department', 'department_cost_center')
),

locations as (
    {{ deduplicate(ref('stg_ehr__fhir_locations'), 'location_id', 'last_updated_at desc, _loaded_at desc') }}
),

crosswalk_latest as (
    {{ deduplicate('crosswalks', 'entity, source_system, source_code', '_loaded_at desc') }}
),

cost_centers as (
    select source_code as department_code, target_code as cost_center_id
    from crosswalk_latest
    where entity = 'department_cost_center'
),

ehr_departments as (
    -- every EHR department code we know of: from the cost-center crosswalk and from the
    -- department Locations; the Location id D-<fac>-<code> is itself the department code
    select source_code as department_code, _loaded_at from crosswalk_latest where entity = 'department_cost_center'
    union all
    select location_id as department_code, _loaded_at from locations where physical_type_code = 'wa'
),

candidates as (
    select source_system, source_code, target_code as department_code, 1 as mapping_priority,
        'erp_crosswalk' as mapping_source, _loaded_at
    from crosswalk_latest
    where entity = 'department'
    union all
    select
        'ehr' as source_system, department_code as source_code, department_code, 2 as mapping_priority,
        'identity' as mapping_source, _loaded_at
    from ehr_departments
),

mappable as (
    select
        candidates.source_system,
        candidates.source_code,
        candidates.department_code,
        cost_centers.cost_center_id,
        candidates.mapping_source,
        candidates.mapping_priority,
        candidates._loaded_at
    from candidates
    left join cost_centers on cost_centers.department_code = candidates.department_code
    where candidates.source_code is not null and candidates.department_code is not null
),

preferred as (
    {{ deduplicate('mappable', 'source_system, source_code', 'mapping_priority, _loaded_at desc') }}
),

final as (
    select source_system, source_code, department_code, cost_center_id, mapping_source, _loaded_at as mapped_at
    from preferred
)

select * from final
