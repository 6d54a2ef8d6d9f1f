with

source as (
    select * from {{ source('billing', 'remit_payments') }}
),

renamed as (
    select
        nullif(trim(interchange_control_number), '') as interchange_control_number,
        nullif(trim(group_control_number), '') as group_control_number,
        nullif(trim(transaction_set_control_number), '') as transaction_set_control_number,
        nullif(trim(interchange_sender_id), '') as interchange_sender_id,
        nullif(trim(interchange_receiver_id), '') as interchange_receiver_id,
        nullif(trim(transaction_handling_code), '') as transaction_handling_code,
        payment_amount,
        nullif(trim(credit_debit_flag), '') as credit_debit_flag,
        nullif(trim(payment_method), '') as payment_method,
        payment_date,
        nullif(trim(trace_number), '') as trace_number,
        nullif(trim(originating_company_id), '') as originating_company_id,
        production_date,
        nullif(trim(payer_id), '') as x12_payer_id,
        nullif(trim(payer_name), '') as payer_name,
        nullif(trim(payee_name), '') as payee_name,
        nullif(trim(payee_npi), '') as payee_npi,
        nullif(upper(trim(payee_id_qualifier)), '') as payee_id_qualifier,
        nullif(trim(payee_id), '') as payee_id,
        nullif(replace(trim(payee_tax_id), '-', ''), '') as payee_tax_id,
        claim_count,
        _batch_id,
        _source_file,
        _source_record,
        _record_hash,
        _loaded_at
    from source
)

select * from renamed
