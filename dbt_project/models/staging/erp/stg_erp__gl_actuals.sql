with

source as (
    select * from {{ source('erp', 'gl_actuals') }}
),

renamed as (
    select
        nullif(trim(journal_id), '') as journal_id,
        line_number,
        nullif(trim(legal_entity_id), '') as legal_entity_id,
        nullif(trim(facility_id), '') as facility_id,
        nullif(trim(cost_center_id), '') as cost_center_id,
        nullif(trim(account_id), '') as account_id,
        posting_date,
        nullif(trim(period_id), '') as period_id,
        debit_amount,
        credit_amount,
        nullif(trim(source), '') as source,
        nullif(trim(supplier_id), '') as supplier_id,
        nullif(trim(description), '') as description,
        _batch_id,
        _source_file,
        _source_record,
        _record_hash,
        _loaded_at
    from source
)

select * from renamed
