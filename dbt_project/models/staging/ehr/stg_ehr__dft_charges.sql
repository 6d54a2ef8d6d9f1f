with

source as (
    select * from {{ source('ehr', 'dft_charges') }}
),

renamed as (
    select
        nullif(trim(message_control_id), '') as message_control_id,
        nullif(trim(visit_number), '') as encounter_id,
        set_id,
        nullif(trim(transaction_id), '') as transaction_id,
        nullif(trim(transaction_batch_id), '') as transaction_batch_id,
        transaction_date as service_date,
        posting_date,
        upper(nullif(trim(transaction_type), '')) as transaction_type,
        nullif(trim(transaction_code), '') as transaction_code,
        nullif(trim(transaction_description), '') as transaction_description,
        quantity,
        extended_amount,
        unit_amount,
        nullif(trim(department_code), '') as department_code,
        nullif(trim(procedure_code), '') as procedure_code,
        nullif(trim(procedure_coding_system), '') as procedure_coding_system,
        nullif(trim(modifiers), '') as modifiers,
        nullif(trim(diagnosis_code), '') as diagnosis_code,
        nullif(trim(performed_by_npi), '') as performed_by_npi,
        nullif(trim(ordered_by_npi), '') as ordered_by_npi,
        _batch_id,
        _source_file,
        _source_record,
        _record_hash,
        _loaded_at
    from source
)

select * from renamed
