-- Billing payer master, latest export of each payer wins.
with

payers as (
    select * from {{ ref('stg_billing__payers') }}
),

latest as (
    {{ deduplicate('payers', 'payer_code', '_loaded_at desc, _source_record desc') }}
),

final as (
    select
        payer_code, payer_name, payer_class, x12_payer_id, inpatient_base_rate, outpatient_method, outpatient_rate,
        _loaded_at
    from latest
)

select * from final
