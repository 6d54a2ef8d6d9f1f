with

source as (
    select * from {{ source('erp', 'supply_spend') }}
),

renamed as (
    select
        nullif(trim(invoice_id), '') as invoice_id,
        invoice_date,
        nullif(trim(supplier_id), '') as supplier_id,
        nullif(trim(cost_center_id), '') as cost_center_id,
        nullif(trim(item_category), '') as item_category,
        amount,
        _batch_id,
        _source_file,
        _source_record,
        _record_hash,
        _loaded_at
    from source
)

select * from renamed
