-- Conformed payer (billing payer_code) with payer class, plus the UNMAPPED member.
-- A payer whose class is not in seeds/payer_classes.csv gets payer class UNMAPPED.
with

payers as (
    select * from {{ ref('int_billing__payers') }}
),

payer_classes as (
    select * from {{ ref('payer_classes') }}
),

final as (
    select
        payers.payer_code,
        payers.payer_name,
        coalesce(payer_classes.payer_class, 'UNMAPPED') as payer_class,
        coalesce(payer_classes.payer_class_name, 'Unmapped') as payer_class_name,
        coalesce(payer_classes.is_government, false) as is_government,
        payers.x12_payer_id,
        payers.inpatient_base_rate,
        payers.outpatient_method,
        payers.outpatient_rate,
        false as is_unmapped
    from payers
    left join payer_classes on payer_classes.payer_class = payers.payer_class
    union all
    select 'UNMAPPED', 'Unmapped payer', 'UNMAPPED', 'Unmapped', false, null, null, null, null, true
)

select * from final
