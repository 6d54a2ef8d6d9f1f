with

source as (
    select * from {{ source('billing', 'patient_transactions') }}
),

renamed as (
    select
        nullif(trim(transaction_id), '') as transaction_id,
        nullif(trim(claim_id), '') as claim_id,
        nullif(trim(transaction_type), '') as transaction_type,
        transaction_date,
        amount,
        nullif(trim(payment_method), '') as payment_method,
        nullif(trim(deposit_reference), '') as deposit_reference,
        _batch_id,
        _source_file,
        _source_record,
        _record_hash,
        _loaded_at
    from source
)

select * from renamed
