-- ERP facilities with their legal entity (latest export of each wins).
with

facilities as (
    select * from {{ ref('stg_erp__facilities') }}
    qualify row_number() over (partition by facility_id order by _loaded_at desc, _source_record desc) = 1
),

legal_entities as (
    select * from {{ ref('stg_erp__legal_entities') }}
    qualify row_number() over (partition by legal_entity_id order by _loaded_at desc, _source_record desc) = 1
),

final as (
    select
        facilities.facility_id,
        facilities.facility_name,
        facilities.facility_type,
        facilities.legal_entity_id,
        legal_entities.legal_entity_name,
        legal_entities.ledger_name,
        legal_entities.currency_code,
        facilities.city,
        facilities.state,
        facilities.bed_count,
        facilities._loaded_at
    from facilities
    left join legal_entities on legal_entities.legal_entity_id = facilities.legal_entity_id
)

select * from final
