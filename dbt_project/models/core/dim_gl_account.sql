-- Conformed GL natural account (ERP chart of accounts), plus UNMAPPED, with the role that
-- seeds/account_roles.csv gives the account (null for accounts careledger does not post to).
with

accounts as (
    select * from {{ ref('int_erp__accounts') }}
),

account_roles as (
    select * from {{ ref('account_roles') }}
),

final as (
    select
        accounts.account_id,
        accounts.account_name,
        accounts.account_type,
        accounts.natural_balance,
        accounts.is_posting,
        account_roles.role as account_role,
        false as is_unmapped
    from accounts
    left join account_roles on accounts.account_id = account_roles.account_id
    union all
    select
        'UNMAPPED' as account_id,
        'Unmapped account' as account_name,
        'unmapped' as account_type,
        'debit' as natural_balance,
        false as is_posting,
        null as account_role,
        true as is_unmapped
)

select * from final
