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

carc_categories as (
    select * from {{ ref('carc_categories') }}
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
    select 'ehr', 'encounter.department', department_source_code, department_code <> 'UNMAPPED', last_loaded_at
    from encounters
    union all
    select 'ehr', 'encounter.department_cost_center', department_code, cost_center_id <> 'UNMAPPED', last_loaded_at
    from encounters
    where department_code <> 'UNMAPPED'
    union all
    select 'ehr', 'encounter.attending', attending_source_code, attending_npi <> 'UNMAPPED', last_loaded_at
    from encounters
    union all
    select 'billing', 'claim.payer_code', payer_source_code, payer_code <> 'UNMAPPED', _loaded_at from claims
    union all
    select 'billing', 'claim.facility_code', facility_source_code, facility_id <> 'UNMAPPED', _loaded_at from claims
    union all
    select 'billing', 'claim.department_code', department_source_code, department_code <> 'UNMAPPED', _loaded_at from claims
    union all
    select 'billing', 'claim.billing_npi', billing_npi_source_code, billing_npi <> 'UNMAPPED', _loaded_at from claims
    union all
    select 'billing', 'claim.rendering_npi', rendering_npi_source_code, rendering_npi <> 'UNMAPPED', _loaded_at from claims
    union all
    select 'billing', 'claim.service_line', claim_id, service_line_code <> 'UNMAPPED', _loaded_at from claims
    union all
    select 'billing', 'claim_line.revenue_category', coalesce(procedure_code, revenue_code), revenue_category_code <> 'UNMAPPED', _loaded_at
    from claim_lines
    union all
    select 'x12', 'remit.payer_id', x12_payer_id, payer_code <> 'UNMAPPED', _loaded_at from remits
    union all
    select 'x12', 'remit.patient_control_number', trace_number, claim_id is not null, _loaded_at from remits
    union all
    select 'x12', 'remit.group_code:carc_code', {{ dbt.concat(['adjustments.group_code', "':'", 'adjustments.carc_code']) }},
        carc_categories.category is not null, adjustments._loaded_at
    from adjustments
    left join carc_categories
        on carc_categories.group_code = adjustments.group_code and carc_categories.carc_code = adjustments.carc_code
    union all
    select 'erp', 'gl_actuals.facility_id', facility_source_code, facility_id <> 'UNMAPPED', _loaded_at from gl_actuals
    union all
    select 'erp', 'gl_actuals.cost_center_id', cost_center_source_code, cost_center_id <> 'UNMAPPED', _loaded_at from gl_actuals
    union all
    select 'erp', 'gl_actuals.account_id', account_source_code, account_id <> 'UNMAPPED', _loaded_at from gl_actuals
    union all
    select 'erp', 'payroll.cost_center_id', cost_center_source_code, cost_center_id <> 'UNMAPPED', _loaded_at from payroll
    union all
    -- provider ids resolved from the source's own NPI (FHIR Practitioner, payroll row) but
    -- missing from the ERP crosswalk: mapped for reporting, still a crosswalk gap to fix
    select source_system, 'crosswalk.provider', source_code, mapping_source = 'erp_crosswalk', mapped_at
    from provider_xwalk
    where source_system in ('ehr', 'erp')
    union all
    select 'erp', 'supply_spend.cost_center_id', cost_center_source_code, cost_center_id <> 'UNMAPPED', _loaded_at from supply_spend
),

final as (
    select source_system, field, coalesce(source_value, '(null)') as source_value, is_mapped, seen_at
    from lookups
)

select * from final
