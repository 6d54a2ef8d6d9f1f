-- One row per BAI2 transaction detail, on the legal entity whose operating account it hit
-- (ERP crosswalk entity bank_account: account number -> legal entity; UNMAPPED when the
-- account has no row). The amount is signed: credits positive, debits negative. A detail
-- the bank sent again in a re-sent prior-day file (same account, day, position and record
-- text) counts once, from the latest file.
with

details as (
    select * from {{ ref('stg_bank__bai2_transactions') }}
),

crosswalks as (
    select * from {{ ref('stg_erp__crosswalks') }}
    where entity = 'bank_account'
),

accounts as (
    {{ deduplicate('crosswalks', 'source_code', '_loaded_at desc, _source_record desc') }}
),

latest_details as (
    {{ deduplicate(
        'details',
        'bank_account_number, as_of_date, _source_record, _record_hash',
        '_loaded_at desc, _batch_id desc'
    ) }}
),

final as (
    select
        {{ surrogate_key(['latest_details._batch_id', 'latest_details._source_record']) }} as deposit_key,
        coalesce(accounts.target_code, 'UNMAPPED') as legal_entity_id,
        latest_details.bank_account_number,
        latest_details.as_of_date as deposit_date,
        latest_details.type_code,
        latest_details.is_credit,
        cast(
            case when latest_details.is_credit then latest_details.amount else -latest_details.amount end
            as decimal(18, 2)
        ) as deposit_amount,
        latest_details.bank_reference,
        latest_details.customer_reference,
        latest_details.detail_text,
        latest_details.currency_code,
        latest_details._batch_id,
        latest_details._source_file,
        latest_details._source_record,
        latest_details._loaded_at
    from latest_details
    left join accounts on accounts.source_code = latest_details.bank_account_number
)

select * from final
