-- Every provider identifier we have seen or been told about -> NPI.
-- ERP crosswalk rows (ehr practitioner ids, billing BP codes, ERP employee ids) win over
-- what the FHIR Practitioner resources say; an NPI (of a practitioner or of a provider
-- Organization, the billing NPI) always maps to itself.
with

crosswalks as (
    select * from {{ ref('stg_erp__crosswalks') }}
    where entity = 'provider'
),

practitioners as (
    select * from {{ ref('stg_ehr__fhir_practitioners') }}
),

organizations as (
    select * from {{ ref('stg_ehr__fhir_organizations') }}
    where npi is not null
),

payroll as (
    select * from {{ ref('stg_erp__payroll') }}
),

candidates as (
    select source_system, source_code, target_code as npi, 1 as mapping_priority,
        'erp_crosswalk' as mapping_source, _loaded_at
    from crosswalks
    union all
    select 'ehr' as source_system, practitioner_id as source_code, npi, 2 as mapping_priority,
        'fhir_practitioner' as mapping_source, _loaded_at
    from practitioners
    where npi is not null
    union all
    select 'erp' as source_system, employee_id as source_code, npi, 3 as mapping_priority,
        'erp_payroll' as mapping_source, _loaded_at
    from payroll
    where npi is not null and employee_id is not null
    union all
    select 'npi' as source_system, npi as source_code, npi, 4 as mapping_priority,
        'identity' as mapping_source, _loaded_at
    from practitioners
    where npi is not null
    union all
    select 'npi' as source_system, npi as source_code, npi, 4 as mapping_priority,
        'identity' as mapping_source, _loaded_at
    from organizations
),

mappable as (
    select * from candidates
    where source_code is not null and npi is not null
),

preferred as (
    {{ deduplicate('mappable', 'source_system, source_code', 'mapping_priority, _loaded_at desc') }}
),

final as (
    select source_system, source_code, npi, mapping_source, _loaded_at as mapped_at
    from preferred
)

select * from final
