-- One row per NPI: individual practitioners (name and specialty from FHIR Practitioner /
-- PractitionerRole) and provider organizations (billing NPIs, FHIR Organization); the
-- source ids that map to it (EHR practitioner id, billing BP code, ERP employee id).
-- The snapshot snp_providers keeps its history (SCD2).
with

practitioner_versions as (
    select * from {{ ref('stg_ehr__fhir_practitioners') }}
    where npi is not null
),

practitioners as (
    {{ deduplicate('practitioner_versions', 'npi', 'last_updated_at desc, _loaded_at desc') }}
),

roles as (
    {{ deduplicate(
        ref('stg_ehr__fhir_practitioner_roles'), 'practitioner_id', 'last_updated_at desc, _loaded_at desc'
    ) }}
),

organization_versions as (
    select * from {{ ref('stg_ehr__fhir_organizations') }}
    where npi is not null
),

organizations as (
    {{ deduplicate('organization_versions', 'npi', 'last_updated_at desc, _loaded_at desc') }}
),

-- organization NPIs that are not also a practitioner's (anti-join; the practitioner wins)
organization_only as (
    select organizations.*
    from organizations
    left join practitioners on practitioners.npi = organizations.npi
    where practitioners.npi is null
),

provider_xwalk as (
    select * from {{ ref('int_crosswalk__providers') }}
),

source_ids as (
    select
        npi,
        max(case when source_system = 'ehr' then source_code end) as ehr_practitioner_id,
        max(case when source_system = 'billing' then source_code end) as billing_provider_code,
        max(case when source_system = 'erp' then source_code end) as erp_employee_id,
        max(mapped_at) as mapped_at
    from provider_xwalk
    where source_system <> 'npi'
    group by npi
),

all_npis as (
    select npi from practitioners
    union
    select npi from source_ids
    union
    select npi from organizations
),

final as (
    select
        all_npis.npi,
        coalesce(
            organizations.organization_name,
            trim({{ dbt.concat([
                "coalesce(practitioners.given_name, '')", "' '", "coalesce(practitioners.family_name, '')",
            ]) }}),
            ''
        ) as provider_name_raw,
        case when practitioners.npi is null and organizations.npi is not null then 'organization' else 'individual' end
            as provider_type,
        practitioners.family_name,
        practitioners.given_name,
        roles.specialty_code,
        roles.specialty_name,
        source_ids.ehr_practitioner_id,
        source_ids.billing_provider_code,
        source_ids.erp_employee_id,
        -- the later of the record's load time and its mapping time (ANSI case, not greatest)
        case
            when source_ids.mapped_at > coalesce(practitioners._loaded_at, organizations._loaded_at)
                then source_ids.mapped_at
            else coalesce(practitioners._loaded_at, organizations._loaded_at, source_ids.mapped_at)
        end as updated_at
    from all_npis
    left join practitioners on practitioners.npi = all_npis.npi
    left join roles on roles.practitioner_id = practitioners.practitioner_id
    left join source_ids on source_ids.npi = all_npis.npi
    left join organization_only as organizations on organizations.npi = all_npis.npi
)

select
    npi,
    case when provider_name_raw = '' then {{ dbt.concat(["'Provider '", "npi"]) }} else provider_name_raw end
        as provider_name,
    provider_type,
    family_name,
    given_name,
    specialty_code,
    specialty_name,
    ehr_practitioner_id,
    billing_provider_code,
    erp_employee_id,
    updated_at
from final
