with

source as (
    select * from {{ source('billing', 'remit_service_lines') }}
),

renamed as (
    select
        nullif(trim(interchange_control_number), '') as interchange_control_number,
        nullif(trim(transaction_set_control_number), '') as transaction_set_control_number,
        nullif(trim(trace_number), '') as trace_number,
        claim_seq,
        line_seq,
        nullif(trim(procedure_qualifier), '') as procedure_qualifier,
        nullif(trim(procedure_code), '') as procedure_code,
        nullif(trim(modifiers), '') as modifiers,
        charge_amount,
        payment_amount,
        nullif(trim(revenue_code), '') as revenue_code,
        units,
        service_date,
        nullif(trim(line_item_control_number), '') as line_item_control_number,
        allowed_amount,
        _batch_id,
        _source_file,
        _source_record,
        _record_hash,
        _loaded_at
    from source
)

select * from renamed
