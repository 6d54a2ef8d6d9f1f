-- One row per 835 PLB provider-level adjustment (docs/accounting_policy.md section 3), dated
-- by its ERA's payment date (BPR16) and placed on the facility of the ERA's claims (UNMAPPED
-- when none of its CLPs matched a claim). plb_amount is the 835's sign (positive reduces the
-- payment); cash_effect_amount = - plb_amount is what it adds to the deposit, so the ERA's
-- cash = sum of CLP04 + sum of cash_effect_amount = BPR02.
-- measure: seeds/plb_reason_codes.csv, plb_other_amount for a code it does not list.
with

adjustments as (
    select * from {{ ref('int_remits__provider_adjustments') }}
),

reason_codes as (
    select * from {{ ref('plb_reason_codes') }}
),

final as (
    select
        adjustments.provider_adjustment_key,
        adjustments.trace_number,
        adjustments.payee_npi,
        adjustments.remit_date,
        adjustments.fiscal_period_date,
        adjustments.reason_code,
        adjustments.reference_id,
        coalesce(reason_codes.measure, 'plb_other_amount') as measure,
        coalesce(adjustments.facility_id, 'UNMAPPED') as facility_id,
        coalesce(adjustments.legal_entity_id, 'UNMAPPED') as legal_entity_id,
        {{ money('adjustments.amount') }} as plb_amount,
        {{ money('-adjustments.amount') }} as cash_effect_amount,
        adjustments._batch_id,
        adjustments._loaded_at
    from adjustments
    left join reason_codes on reason_codes.reason_code = adjustments.reason_code
)

select * from final
