-- ERP chart of accounts, latest export of each account wins.
with

accounts as (
    select * from {{ ref('stg_erp__chart_of_accounts') }}
),

latest as (
    {{ deduplicate('accounts', 'account_id', '_loaded_at desc, _source_record desc') }}
),

final as (
    select account_id, account_name, account_type, natural_balance, coalesce(is_posting, true) as is_posting, _loaded_at
    from latest
)

select * from final
