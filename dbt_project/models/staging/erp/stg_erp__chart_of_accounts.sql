with

source as (
    select * from {{ source('erp', 'chart_of_accounts') }}
),

renamed as (
    select
        nullif(trim(account_id), '') as account_id,
        nullif(trim(account_name), '') as account_name,
        nullif(trim(account_type), '') as account_type,
        nullif(trim(natural_balance), '') as natural_balance,
        is_posting,
        _batch_id,
        _source_file,
        _source_record,
        _record_hash,
        _loaded_at
    from source
)

select * from renamed
