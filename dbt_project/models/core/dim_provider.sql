-- Conformed provider (individual practitioner or provider organization), one current row per
-- NPI (history: snapshot snp_providers), plus the UNMAPPED member.
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
    select
        'UNMAPPED' as npi,
        'Unmapped provider' as provider_name,
        'unmapped' as provider_type,
        null as family_name,
        null as given_name,
        null as specialty_code,
        null as specialty_name,
        null as ehr_practitioner_id,
        null as billing_provider_code,
        null as erp_employee_id,
        true as is_unmapped
)

select * from final
