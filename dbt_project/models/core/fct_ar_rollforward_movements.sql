-- The movements of net A/R that mart_ar_rollforward sums (docs/marts.md "A/R roll-forward"):
-- one row per fact that moves payer A/R, the contractual reserve or patient A/R, dated as its
-- journal posts (charges at their period end, 835 CLPs and PLB recoupments at the remit date,
-- reserve events at their event date, patient transactions at their transaction date), with
-- the accounting period of that date (source_period_id) and the period its journal posts to
-- (period_id: its own period when open, else the next open period, the posting ledger's rule).
-- A movement that no period can take (its date in no accounting period, or no open period
-- after a closed one) keeps its row with period_id null and is an AR_MOVEMENT_UNPLACED
-- exception (mart_reconciliation_exceptions) with its amount, never an inner join's loss.
-- PLB adjustments with no payment date post no journal: they are PLB_NO_DATE exceptions, so
-- they are not movements here.
with

charges as (
    select * from {{ ref('fct_charges') }}
),

remits as (
    select * from {{ ref('fct_remittance_claims') }}
    where remit_date is not null
),

reserve_events as (
    select * from {{ ref('fct_contractual_reserve_events') }}
    where event_type in ('reserve_booked', 'reserve_released')
),

provider_adjustments as (
    select * from {{ ref('fct_provider_adjustments') }}
    where remit_date is not null
),

patient_transactions as (
    select * from {{ ref('fct_patient_transactions') }}
),

periods as (
    select * from {{ ref('dim_accounting_period') }}
),

recoupment_codes as (
    select * from {{ ref('plb_reason_codes') }}
    where measure = 'plb_recoupment_amount'
),

placement as (
    -- each period -> the period its journals post to (itself when open, else the next open)
    select
        periods.period_id as source_period_id,
        coalesce(
            case when periods.status = 'open' then periods.period_id end,
            (
                select min(later.period_id)
                from periods as later
                where later.status = 'open' and later.period_start_date > periods.period_end_date
            )
        ) as period_id
    from periods
),

dated_movements as (
    select
        'charge' as movement_source,
        charges.charge_key as source_id,
        charges.facility_id,
        periods.period_end_date as movement_date,
        charges.charge_amount as gross_charge_amount,
        0 as payment_amount,
        0 as contractual_adjustment_amount,
        0 as denial_amount,
        0 as write_off_amount,
        0 as plb_recoupment_amount,
        0 as reserve_change_amount
    from charges
    left join periods on periods.period_id = charges.period_id
    union all
    select
        'remittance' as movement_source,
        remit_claim_key as source_id,
        facility_id,
        remit_date as movement_date,
        0 as gross_charge_amount,
        payment_amount,
        contractual_adjustment_amount,
        denial_amount,
        -- a CARC no reference lists posts to its own account against payer A/R (never a denial),
        -- the unexplained difference of an out-of-balance CLP to remittance suspense
        unclassified_adjustment_amount + out_of_balance_amount as write_off_amount,
        0 as plb_recoupment_amount,
        0 as reserve_change_amount
    from remits
    union all
    select
        'reserve' as movement_source,
        reserve_event_key as source_id,
        facility_id,
        event_date as movement_date,
        0 as gross_charge_amount,
        0 as payment_amount,
        0 as contractual_adjustment_amount,
        0 as denial_amount,
        0 as write_off_amount,
        0 as plb_recoupment_amount,
        case event_type when 'reserve_booked' then amount else -amount end as reserve_change_amount
    from reserve_events
    union all
    -- a recoupment's cash effect is what it credits to payer A/R
    select
        'plb_recoupment' as movement_source,
        provider_adjustments.provider_adjustment_key as source_id,
        provider_adjustments.facility_id,
        provider_adjustments.remit_date as movement_date,
        0 as gross_charge_amount,
        0 as payment_amount,
        0 as contractual_adjustment_amount,
        0 as denial_amount,
        0 as write_off_amount,
        provider_adjustments.cash_effect_amount as plb_recoupment_amount,
        0 as reserve_change_amount
    from provider_adjustments
    where provider_adjustments.reason_code in (select recoupment_codes.reason_code from recoupment_codes)
    union all
    select
        'patient_transaction' as movement_source,
        transaction_id as source_id,
        facility_id,
        transaction_date as movement_date,
        0 as gross_charge_amount,
        case measure
            when 'patient_payment_amount' then amount
            when 'patient_refund_amount' then -amount
            else 0
        end as payment_amount,
        0 as contractual_adjustment_amount,
        0 as denial_amount,
        case when measure in ('bad_debt_amount', 'charity_amount') then amount else 0 end as write_off_amount,
        0 as plb_recoupment_amount,
        0 as reserve_change_amount
    from patient_transactions
),

final as (
    select
        {{ surrogate_key(['dated_movements.movement_source', 'dated_movements.source_id']) }} as ar_movement_key,
        dated_movements.movement_source,
        dated_movements.source_id,
        dated_movements.facility_id,
        dated_movements.movement_date,
        periods.period_id as source_period_id,
        placement.period_id,
        {{ money('dated_movements.gross_charge_amount') }} as gross_charge_amount,
        {{ money('dated_movements.payment_amount') }} as payment_amount,
        {{ money('dated_movements.contractual_adjustment_amount') }} as contractual_adjustment_amount,
        {{ money('dated_movements.denial_amount') }} as denial_amount,
        {{ money('dated_movements.write_off_amount') }} as write_off_amount,
        {{ money('dated_movements.plb_recoupment_amount') }} as plb_recoupment_amount,
        {{ money('dated_movements.reserve_change_amount') }} as reserve_change_amount,
        {{ money(
            'dated_movements.gross_charge_amount - dated_movements.payment_amount'
            ~ ' - dated_movements.contractual_adjustment_amount - dated_movements.denial_amount'
            ~ ' - dated_movements.write_off_amount - dated_movements.plb_recoupment_amount'
            ~ ' - dated_movements.reserve_change_amount'
        ) }} as net_change_amount
    from dated_movements
    left join periods
        on dated_movements.movement_date >= periods.period_start_date
        and dated_movements.movement_date <= periods.period_end_date
    left join placement on placement.source_period_id = periods.period_id
)

select * from final
