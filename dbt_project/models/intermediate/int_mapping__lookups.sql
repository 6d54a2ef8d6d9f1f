-- Every identifier lookup the conformed layer made, one row per record and field:
-- which source system, which field, the source value, whether it mapped, when seen.
-- fct_mapping_exceptions summarizes the ones that did not map.
with

encounters as (
    select * from {{ ref('int_encounters__finalized') }}
),

claims as (
    select * from {{ ref('int_claims__attributed') }}
),

claim_lines as (
    select * from {{ ref('int_claim_lines__attributed') }}
),

remits as (
    select * from {{ ref('int_remits__claims_matched') }}
),

adjustments as (
    select * from {{ ref('int_remits__adjustments_categorized') }}
),

gl_actuals as (
    select * from {{ ref('int_erp__gl_actuals') }}
),

payroll as (
    select * from {{ ref('int_erp__payroll') }}
),

supply_spend as (
    select * from {{ ref('int_erp__supply_spend') }}
),

provider_xwalk as (
    select * from {{ ref('int_crosswalk__providers') }}
),

lookups as (
    select 'ehr' as source_system, 'encounter.facility' as field, facility_source_code as source_value,
        facility_id <> 'UNMAPPED' as is_mapped, last_loaded_at as seen_at
    from encounters
    union all
    select 'ehr' as source_system, 'encounter.department' as field, department_source_code as source_value,
        department_code <> 'UNMAPPED' as is_mapped, last_loaded_at as seen_at
    from encounters
    union all
    select 'ehr' as source_system, 'encounter.department_cost_center' as field, department_code as source_value,
        cost_center_id <> 'UNMAPPED' as is_mapped, last_loaded_at as seen_at
    from encounters
    where department_code <> 'UNMAPPED'
    union all
    select 'ehr' as source_system, 'encounter.attending' as field, attending_source_code as source_value,
        attending_npi <> 'UNMAPPED' as is_mapped, last_loaded_at as seen_at
    from encounters
    union all
    select 'billing' as source_system, 'claim.payer_code' as field, payer_source_code as source_value,
        payer_code <> 'UNMAPPED' as is_mapped, _loaded_at as seen_at
    from claims
    union all
    select 'billing' as source_system, 'claim.facility_code' as field, facility_source_code as source_value,
        facility_id <> 'UNMAPPED' as is_mapped, _loaded_at as seen_at
    from claims
    union all
    select 'billing' as source_system, 'claim.department_code' as field, department_source_code as source_value,
        department_code <> 'UNMAPPED' as is_mapped, _loaded_at as seen_at
    from claims
    union all
    select 'billing' as source_system, 'claim.billing_npi' as field, billing_npi_source_code as source_value,
        billing_npi <> 'UNMAPPED' as is_mapped, _loaded_at as seen_at
    from claims
    union all
    select 'billing' as source_system, 'claim.rendering_npi' as field, rendering_npi_source_code as source_value,
        rendering_npi <> 'UNMAPPED' as is_mapped, _loaded_at as seen_at
    from claims
    union all
    select 'billing' as source_system, 'claim.service_line' as field, claim_id as source_value,
        service_line_code <> 'UNMAPPED' as is_mapped, _loaded_at as seen_at
    from claims
    union all
    select
        'billing' as source_system, 'claim_line.revenue_category' as field,
        coalesce(procedure_code, revenue_code) as source_value,
        revenue_category_code <> 'UNMAPPED' as is_mapped, _loaded_at as seen_at
    from claim_lines
    union all
    select 'x12' as source_system, 'remit.payer_id' as field, x12_payer_id as source_value,
        payer_code <> 'UNMAPPED' as is_mapped, _loaded_at as seen_at
    from remits
    union all
    select 'x12' as source_system, 'remit.patient_control_number' as field, trace_number as source_value,
        claim_id is not null as is_mapped, _loaded_at as seen_at
    from remits
    union all
    select
        'x12' as source_system, 'remit.group_code:carc_code' as field,
        {{ dbt.concat(['adjustments.group_code', "':'", 'adjustments.carc_code']) }} as source_value,
        adjustments.denial_category <> 'unclassified' as is_mapped, adjustments._loaded_at as seen_at
    from adjustments
    union all
    select 'erp' as source_system, 'gl_actuals.facility_id' as field, facility_source_code as source_value,
        facility_id <> 'UNMAPPED' as is_mapped, _loaded_at as seen_at
    from gl_actuals
    union all
    select 'erp' as source_system, 'gl_actuals.cost_center_id' as field, cost_center_source_code as source_value,
        cost_center_id <> 'UNMAPPED' as is_mapped, _loaded_at as seen_at
    from gl_actuals
    union all
    select 'erp' as source_system, 'gl_actuals.account_id' as field, account_source_code as source_value,
        account_id <> 'UNMAPPED' as is_mapped, _loaded_at as seen_at
    from gl_actuals
    union all
    select 'erp' as source_system, 'payroll.cost_center_id' as field, cost_center_source_code as source_value,
        cost_center_id <> 'UNMAPPED' as is_mapped, _loaded_at as seen_at
    from payroll
    union all
    -- provider ids resolved from the source's own NPI (FHIR Practitioner, payroll row) but
    -- missing from the ERP crosswalk: mapped for reporting, still a crosswalk gap to fix
    select source_system, 'crosswalk.provider' as field, source_code as source_value,
        mapping_source = 'erp_crosswalk' as is_mapped, mapped_at as seen_at
    from provider_xwalk
    where source_system in ('ehr', 'erp')
    union all
    select 'erp' as source_system, 'supply_spend.cost_center_id' as field, cost_center_source_code as source_value,
        cost_center_id <> 'UNMAPPED' as is_mapped, _loaded_at as seen_at
    from supply_spend
),

final as (
    select source_system, field, coalesce(source_value, '(null)') as source_value, is_mapped, seen_at
    from lookups
)

select * from final
