-- Conformed facility: ERP facility with its legal entity, plus the UNMAPPED member.
with

facilities as (
    select * from {{ ref('int_erp__facilities') }}
),

final as (
    select
        facility_id,
        facility_name,
        facility_type,
        coalesce(legal_entity_id, 'UNMAPPED') as legal_entity_id,
        coalesce(legal_entity_name, 'Unmapped legal entity') as legal_entity_name,
        coalesce(ledger_name, 'UNMAPPED') as ledger_name,
        coalesce(currency_code, 'USD') as currency_code,
        city,
        state,
        bed_count,
        false as is_unmapped
    from facilities
    union all
    select
        'UNMAPPED' as facility_id,
        'Unmapped facility' as facility_name,
        'unmapped' as facility_type,
        'UNMAPPED' as legal_entity_id,
        'Unmapped legal entity' as legal_entity_name,
        'UNMAPPED' as ledger_name,
        'USD' as currency_code,
        null as city,
        null as state,
        null as bed_count,
        true as is_unmapped
)

select * from final
