-- Billing payer master, latest export of each payer wins.
with

payers as (
    select * from {{ ref('stg_billing__payers') }}
),

final as (
    select payer_code, payer_name, payer_class, x12_payer_id, inpatient_base_rate, outpatient_method, outpatient_rate, _loaded_at
    from payers
    qualify row_number() over (partition by payer_code order by _loaded_at desc, _source_record desc) = 1
)

select * from final
