with

source as (
    select * from {{ source('bank', 'bai2_transactions') }}
),

renamed as (
    select
        nullif(trim(file_id), '') as bank_file_id,
        nullif(trim(sender_id), '') as bank_sender_id,
        file_creation_date,
        as_of_date,
        nullif(trim(account_number), '') as bank_account_number,
        nullif(trim(currency_code), '') as currency_code,
        nullif(trim(type_code), '') as type_code,
        is_credit,
        amount,
        nullif(trim(funds_type), '') as funds_type,
        nullif(trim(bank_reference), '') as bank_reference,
        nullif(trim(customer_reference), '') as customer_reference,
        nullif(trim(detail_text), '') as detail_text,
        _batch_id,
        _source_file,
        _source_record,
        _record_hash,
        _loaded_at
    from source
)

select * from renamed
