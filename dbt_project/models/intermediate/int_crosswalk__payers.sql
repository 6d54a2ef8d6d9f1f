-- Payer identifiers -> billing payer_code: 835 payer ids (N1*PR N104), FHIR payer
-- Organization ids (PAY-<code>) and HL7 IN1-3 company ids. The ERP crosswalk wins; the
-- payer master's own x12_payer_id is the fallback for 835 ids.
with

crosswalks as (
    select * from {{ ref('stg_erp__crosswalks') }}
    where entity = 'payer'
),

payers as (
    select * from {{ ref('stg_billing__payers') }}
),

candidates as (
    select source_system, source_code, target_code as payer_code, 1 as mapping_priority,
        'erp_crosswalk' as mapping_source, _loaded_at
    from crosswalks
    union all
    select
        'x12' as source_system, x12_payer_id as source_code, payer_code, 2 as mapping_priority,
        'payer_master' as mapping_source, _loaded_at
    from payers
    where x12_payer_id is not null
    union all
    select
        'billing' as source_system, payer_code as source_code, payer_code, 3 as mapping_priority,
        'identity' as mapping_source, _loaded_at
    from payers
),

mappable as (
    select * from candidates
    where source_code is not null and payer_code is not null
),

preferred as (
    {{ deduplicate('mappable', 'source_system, source_code', 'mapping_priority, _loaded_at desc') }}
),

final as (
    select source_system, source_code, payer_code, mapping_source, _loaded_at as mapped_at
    from preferred
)

select * from final
