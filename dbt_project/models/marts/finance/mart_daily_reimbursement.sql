-- Daily reimbursement, grain remit_date x facility_id x payer_class x service_line_code
-- (docs/data_contracts.md section 3). claim_count counts CLPs; a reversal (CLP02 = 22) is
-- a CLP of its own and carries negative amounts, so a reversed payment nets out in money.
with

remits as (
    select * from {{ ref('fct_remittance_claims') }}
),

facilities as (
    select * from {{ ref('dim_facility') }}
),

final as (
    select
        remits.remit_date,
        remits.facility_id,
        facilities.legal_entity_id,
        remits.payer_class,
        remits.service_line_code,
        cast(count(*) as integer) as claim_count,
        {{ money('sum(remits.charge_amount)') }} as charge_amount,
        {{ money('sum(remits.payment_amount)') }} as payment_amount,
        {{ money('sum(remits.contractual_adjustment_amount)') }} as contractual_adjustment_amount,
        {{ money('sum(remits.patient_responsibility_amount)') }} as patient_responsibility_amount,
        {{ money('sum(remits.denial_amount)') }} as denial_amount,
        {{ money('sum(remits.unclassified_adjustment_amount)') }} as unclassified_adjustment_amount,
        {{ money('sum(remits.out_of_balance_amount)') }} as out_of_balance_amount
    from remits
    inner join facilities on facilities.facility_id = remits.facility_id
    where remits.remit_date is not null
    group by
        remits.remit_date, remits.facility_id, facilities.legal_entity_id, remits.payer_class, remits.service_line_code
)

select * from final
