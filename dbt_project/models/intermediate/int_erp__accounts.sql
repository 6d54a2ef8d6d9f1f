-- ERP chart of accounts, latest export of each account wins.
with

accounts as (
    select * from {{ ref('stg_erp__chart_of_accounts') }}
),

final as (
    select account_id, account_name, account_type, natural_balance, coalesce(is_posting, true) as is_posting, _loaded_at
    from accounts
    qualify row_number() over (partition by account_id order by _loaded_at desc, _source_record desc) = 1
)

select * from final
