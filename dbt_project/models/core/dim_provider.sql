-- Conformed provider (individual practitioner or provider organization), one current row per NPI (history: snapshot snp_providers), plus the
-- UNMAPPED member.
with

providers as (
    select * from {{ ref('int_providers__unified') }}
),

final as (
    select
        npi,
        provider_name,
        provider_type,
        family_name,
        given_name,
        specialty_code,
        specialty_name,
        ehr_practitioner_id,
        billing_provider_code,
        erp_employee_id,
        false as is_unmapped
    from providers
    union all
    select 'UNMAPPED', 'Unmapped provider', 'unmapped', null, null, null, null, null, null, null, true
)

select * from final
