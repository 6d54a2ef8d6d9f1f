-- Conformed GL natural account (ERP chart of accounts), plus UNMAPPED.
with

accounts as (
    select * from {{ ref('int_erp__accounts') }}
),

final as (
    select account_id, account_name, account_type, natural_balance, is_posting, false as is_unmapped
    from accounts
    union all
    select 'UNMAPPED', 'Unmapped account', 'unmapped', 'debit', false, true
)

select * from final
