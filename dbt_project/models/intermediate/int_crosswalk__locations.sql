-- Facility identifiers of every source -> ERP facility_id: EHR Location ids (and the HL7
-- PV1-3.4 facility, which carries the same code), billing facility codes, and FHIR
-- Organization ids through the Location they manage. ERP ids map to themselves.
with

crosswalks as (
    select * from {{ ref('stg_erp__crosswalks') }}
    where entity = 'location'
),

facilities as (
    select * from {{ ref('stg_erp__facilities') }}
),

locations as (
    {{ deduplicate(ref('stg_ehr__fhir_locations'), 'location_id', 'last_updated_at desc, _loaded_at desc') }}
),

crosswalk_latest as (
    select source_system, source_code, target_code as facility_id, _loaded_at
    from ({{ deduplicate('crosswalks', 'source_system, source_code', '_loaded_at desc') }}) as latest
),

organization_facilities as (
    select
        'ehr_organization' as source_system,
        locations.managing_organization_id as source_code,
        crosswalk_latest.facility_id,
        crosswalk_latest._loaded_at
    from locations
    inner join crosswalk_latest
        on crosswalk_latest.source_system = 'ehr'
        and crosswalk_latest.source_code = locations.location_id
    where locations.managing_organization_id is not null
),

department_facilities as (
    -- a department Location (physicalType wa) is part of its facility Location
    select
        'ehr_department' as source_system,
        locations.location_id as source_code,
        crosswalk_latest.facility_id,
        crosswalk_latest._loaded_at
    from locations
    inner join crosswalk_latest
        on crosswalk_latest.source_system = 'ehr'
        and crosswalk_latest.source_code = locations.part_of_location_id
),

candidates as (
    select source_system, source_code, facility_id, 1 as mapping_priority, 'erp_crosswalk' as mapping_source, _loaded_at
    from crosswalk_latest
    union all
    select source_system, source_code, facility_id, 2 as mapping_priority, 'fhir_location' as mapping_source, _loaded_at
    from organization_facilities
    union all
    select source_system, source_code, facility_id, 2 as mapping_priority, 'fhir_location' as mapping_source, _loaded_at
    from department_facilities
    union all
    select
        'erp' as source_system, facility_id as source_code, facility_id, 3 as mapping_priority,
        'identity' as mapping_source, _loaded_at
    from facilities
),

mappable as (
    select * from candidates
    where source_code is not null and facility_id is not null
),

preferred as (
    {{ deduplicate('mappable', 'source_system, source_code', 'mapping_priority, _loaded_at desc') }}
),

final as (
    select source_system, source_code, facility_id, mapping_source, _loaded_at as mapped_at
    from preferred
)

select * from final
