-- 835 payee identifiers (N1*PE) -> ERP facility, from the ERP crosswalk (erp/crosswalks.csv,
-- entity payee): source_system npi (N104 when N103 = XX) or tin (REF*TJ, else N104 when
-- N103 = FI; hyphens dropped), target_code the ERP facility_id. Read when an 835 claim
-- payment matches no billing claim (fct_remittance_claims). An NPI names one facility (the
-- latest row wins). A TIN may be shared by several facilities of a legal entity: every
-- facility listed for it counts, and a TIN of more than one facility maps to no facility,
-- only to their legal entity when they share one. A target that is not an ERP facility
-- maps to nothing (facility_count counts the known facilities).
with

crosswalks as (
    select
        source_system,
        case when source_system = 'tin' then replace(source_code, '-', '') else source_code end as source_code,
        target_code,
        _loaded_at
    from {{ ref('stg_erp__crosswalks') }}
    where entity = 'payee' and source_system in ('npi', 'tin')
        and source_code is not null and target_code is not null
),

facilities as (
    select * from {{ ref('int_erp__facilities') }}
),

npi_latest as (
    {{ deduplicate('crosswalks', 'source_system, source_code', '_loaded_at desc, target_code') }}
),

listed as (
    select source_system, source_code, target_code, _loaded_at from npi_latest where source_system = 'npi'
    union all
    select source_system, source_code, target_code, _loaded_at from crosswalks where source_system = 'tin'
),

targets as (
    select
        listed.source_system,
        listed.source_code,
        count(distinct facilities.facility_id) as facility_count,
        min(facilities.facility_id) as facility_id,
        count(distinct facilities.legal_entity_id) as legal_entity_count,
        min(facilities.legal_entity_id) as legal_entity_id,
        max(listed._loaded_at) as mapped_at
    from listed
    left join facilities on facilities.facility_id = listed.target_code
    group by listed.source_system, listed.source_code
),

final as (
    select
        source_system,
        source_code,
        case when facility_count = 1 then facility_id end as facility_id,
        case when legal_entity_count = 1 then legal_entity_id end as legal_entity_id,
        cast(facility_count as integer) as facility_count,
        'erp_crosswalk' as mapping_source,
        mapped_at
    from targets
)

select * from final
