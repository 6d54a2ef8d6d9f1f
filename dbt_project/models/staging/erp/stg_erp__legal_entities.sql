with

source as (
    select * from {{ source('erp', 'legal_entities') }}
),

renamed as (
    select
        nullif(trim(legal_entity_id), '') as legal_entity_id,
        nullif(trim(legal_entity_name), '') as legal_entity_name,
        nullif(trim(tax_id), '') as tax_id,
        nullif(trim(currency_code), '') as currency_code,
        nullif(trim(ledger_name), '') as ledger_name,
        _batch_id,
        _source_file,
        _source_record,
        _record_hash,
        _loaded_at
    from source
)

select * from renamed
