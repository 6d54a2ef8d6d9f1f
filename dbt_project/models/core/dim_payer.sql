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
    select
        'UNMAPPED' as payer_code,
        'Unmapped payer' as payer_name,
        'UNMAPPED' as payer_class,
        'Unmapped' as payer_class_name,
        false as is_government,
        null as x12_payer_id,
        null as inpatient_base_rate,
        null as outpatient_method,
        null as outpatient_rate,
        true as is_unmapped
)

select * from final
