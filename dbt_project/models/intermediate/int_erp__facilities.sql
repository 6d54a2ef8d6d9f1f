-- ERP facilities with their legal entity (latest export of each wins).
with

facilities as (
    {{ deduplicate(ref('stg_erp__facilities'), 'facility_id', '_loaded_at desc, _source_record desc') }}
),

legal_entities as (
    {{ deduplicate(ref('stg_erp__legal_entities'), 'legal_entity_id', '_loaded_at desc, _source_record desc') }}
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
