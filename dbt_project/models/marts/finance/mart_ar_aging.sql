-- A/R aging (docs/marts.md "A/R aging"): one row per period end x aging basis x payer x
-- payer class, the gross claim balances of mart_ar_subledger in the buckets finance uses
-- (0-30, 31-60, 61-90, 91-120, 121-180, over 180 days), aged from the discharge date
-- (aging_basis = 'discharge') and from the bill date ('bill'; a claim not billed at the
-- period end is unbilled, outside the buckets). HFMA MAP Keys: AR-2 (by payer) = billed A/R
-- aged over 90 days / billed A/R on the row; AR-1 = the same over all payers of the period
-- and basis.
with

subledger as (
    select * from {{ ref('mart_ar_subledger') }}
),

aged as (
    select
        period_id, period_end_date, 'discharge' as aging_basis, payer_code, payer_class, is_billed,
        days_outstanding_from_discharge as days_outstanding,
        gross_balance_amount, reserve_balance_amount, net_balance_amount
    from subledger
    union all
    select
        period_id, period_end_date, 'bill' as aging_basis, payer_code, payer_class, is_billed,
        days_outstanding_from_bill as days_outstanding,
        gross_balance_amount, reserve_balance_amount, net_balance_amount
    from subledger
),

bucketed as (
    select aged.*, {{ aging_bucket('days_outstanding') }} as aging_bucket
    from aged
),

by_payer as (
    select
        period_id,
        period_end_date,
        aging_basis,
        payer_code,
        payer_class,
        count(*) as claim_count,
        {% for b in ['0_30', '31_60', '61_90', '91_120', '121_180', 'over_180', 'unbilled'] %}
        sum(case when aging_bucket = '{{ b }}' then gross_balance_amount else 0 end) as ar_{{ b }}_amount,
        {% endfor %}
        sum(gross_balance_amount) as gross_balance_amount,
        sum(reserve_balance_amount) as reserve_balance_amount,
        sum(net_balance_amount) as net_balance_amount,
        sum(case when is_billed then gross_balance_amount else 0 end) as billed_ar_amount,
        sum(case when is_billed and days_outstanding > 90 then gross_balance_amount else 0 end)
            as billed_ar_over_90_amount
    from bucketed
    group by period_id, period_end_date, aging_basis, payer_code, payer_class
),

period_totals as (
    select
        period_id,
        aging_basis,
        sum(billed_ar_amount) as total_billed_ar_amount,
        sum(billed_ar_over_90_amount) as total_billed_ar_over_90_amount
    from by_payer
    group by period_id, aging_basis
),

final as (
    select
        {{ surrogate_key([
            'by_payer.period_id', 'by_payer.aging_basis', 'by_payer.payer_code', 'by_payer.payer_class',
        ]) }}
            as ar_aging_key,
        by_payer.period_id,
        by_payer.period_end_date,
        by_payer.aging_basis,
        by_payer.payer_code,
        by_payer.payer_class,
        cast(by_payer.claim_count as integer) as claim_count,
        {% for b in ['0_30', '31_60', '61_90', '91_120', '121_180', 'over_180', 'unbilled'] %}
        {{ money('by_payer.ar_' ~ b ~ '_amount') }} as ar_{{ b }}_amount,
        {% endfor %}
        {{ money('by_payer.gross_balance_amount') }} as gross_balance_amount,
        {{ money('by_payer.reserve_balance_amount') }} as reserve_balance_amount,
        {{ money('by_payer.net_balance_amount') }} as net_balance_amount,
        {{ money('by_payer.billed_ar_amount') }} as billed_ar_amount,
        {{ money('by_payer.billed_ar_over_90_amount') }} as billed_ar_over_90_amount,
        cast(
            case when by_payer.billed_ar_amount <> 0
                then by_payer.billed_ar_over_90_amount / by_payer.billed_ar_amount end
            as decimal(18, 4)
        ) as ar2_aged_over_90_pct,
        cast(
            case when period_totals.total_billed_ar_amount <> 0
                then period_totals.total_billed_ar_over_90_amount / period_totals.total_billed_ar_amount end
            as decimal(18, 4)
        ) as ar1_aged_over_90_pct
    from by_payer
    inner join period_totals
        on period_totals.period_id = by_payer.period_id and period_totals.aging_basis = by_payer.aging_basis
)

select * from final
