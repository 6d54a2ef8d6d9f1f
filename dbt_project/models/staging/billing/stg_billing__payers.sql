with

source as (
    select * from {{ source('billing', 'payers') }}
),

renamed as (
    select
        nullif(trim(payer_code), '') as payer_code,
        nullif(trim(payer_name), '') as payer_name,
        nullif(trim(payer_class), '') as payer_class,
        nullif(trim(x12_payer_id), '') as x12_payer_id,
        inpatient_base_rate,
        nullif(trim(outpatient_method), '') as outpatient_method,
        outpatient_rate,
        _batch_id,
        _source_file,
        _source_record,
        _record_hash,
        _loaded_at
    from source
)

select * from renamed
