-- A/R roll-forward per legal entity x facility x accounting period (docs/marts.md,
-- docs/accounting_policy.md): net A/R = payer A/R + unbilled (DNFB) A/R - contractual reserve
-- + patient A/R.
--   beginning + gross charges - payments - contractual adjustments - denials - write-offs
--   - PLB recoupments - reserve change = ending
-- The movements are core.fct_ar_rollforward_movements (charges, 835 CLPs, reserve events, PLB
-- recoupments, patient transactions), each placed in the period its journal posts to; one that
-- no period can take is an AR_MOVEMENT_UNPLACED exception with its amount. The GL balance
-- sums the journal lines on the accounts with roles payer_ar, unbilled_ar, contractual_reserve
-- and patient_ar that can post (no UNMAPPED legal entity, facility or
-- account in their journal). Both are placed in the period a journal posts to: its own period
-- when open, else the next open period (the posting ledger's rule), so the GL balance is the
-- ERP's. A difference is a break (is_tied false, with its reason; mart_reconciliation_exceptions
-- carries it as AR_ROLLFORWARD_BREAK).
with

movements as (
    select * from {{ ref('fct_ar_rollforward_movements') }}
),

journal_lines as (
    select * from {{ ref('mart_erp_journal_lines') }}
),

account_roles as (
    select * from {{ ref('account_roles') }}
),

periods as (
    select * from {{ ref('dim_accounting_period') }}
),

facilities as (
    select * from {{ ref('dim_facility') }}
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

placed_movements as (
    -- movements that no period can take are AR_MOVEMENT_UNPLACED exceptions, with their amount
    select
        facility_id,
        period_id,
        sum(gross_charge_amount) as gross_charge_amount,
        sum(payment_amount) as payment_amount,
        sum(contractual_adjustment_amount) as contractual_adjustment_amount,
        sum(denial_amount) as denial_amount,
        sum(write_off_amount) as write_off_amount,
        sum(plb_recoupment_amount) as plb_recoupment_amount,
        sum(reserve_change_amount) as reserve_change_amount
    from movements
    where period_id is not null
    group by 1, 2
),

postable_journals as (
    select journal_id
    from journal_lines
    group by 1
    having
        max(
            case
                when legal_entity_id = 'UNMAPPED' or facility_id = 'UNMAPPED' or account_id = 'UNMAPPED' then 1
                else 0
            end
        ) = 0
),

gl_movements as (
    select
        journal_lines.facility_id,
        placement.period_id,
        sum(
            case
                when postable_journals.journal_id is not null
                    then journal_lines.debit_amount - journal_lines.credit_amount
                else 0
            end
        ) as gl_movement_amount,
        sum(
            case
                when postable_journals.journal_id is null
                    then journal_lines.debit_amount - journal_lines.credit_amount
                else 0
            end
        ) as held_movement_amount
    from journal_lines
    inner join account_roles on account_roles.account_id = journal_lines.account_id
    inner join periods on periods.period_id = journal_lines.period_id
    inner join placement on placement.source_period_id = periods.period_id
    left join postable_journals on postable_journals.journal_id = journal_lines.journal_id
    where account_roles.role in ('payer_ar', 'unbilled_ar', 'contractual_reserve', 'patient_ar')
    group by 1, 2
),

facility_periods as (
    -- every facility with any movement, in every period from its first movement on
    select grid.facility_id, periods.period_id, periods.period_start_date, periods.period_end_date
    from (
        select facility_id, min(period_id) as first_period_id from placed_movements group by 1
        union
        select facility_id, min(period_id) as first_period_id from gl_movements group by 1
    ) as grid
    inner join periods on periods.period_id >= grid.first_period_id
    where periods.period_id in (select placement.period_id from placement)
),

first_periods as (
    select facility_id, min(period_id) as first_period_id from facility_periods group by 1
),

rows_by_period as (
    select
        facility_periods.facility_id,
        facility_periods.period_id,
        facility_periods.period_end_date,
        coalesce(m.gross_charge_amount, 0) as gross_charge_amount,
        coalesce(m.payment_amount, 0) as payment_amount,
        coalesce(m.contractual_adjustment_amount, 0) as contractual_adjustment_amount,
        coalesce(m.denial_amount, 0) as denial_amount,
        coalesce(m.write_off_amount, 0) as write_off_amount,
        coalesce(m.plb_recoupment_amount, 0) as plb_recoupment_amount,
        coalesce(m.reserve_change_amount, 0) as reserve_change_amount,
        coalesce(g.gl_movement_amount, 0) as gl_movement_amount,
        coalesce(g.held_movement_amount, 0) as held_movement_amount
    from facility_periods
    inner join first_periods
        on first_periods.facility_id = facility_periods.facility_id
    left join placed_movements as m
        on m.facility_id = facility_periods.facility_id and m.period_id = facility_periods.period_id
    left join gl_movements as g
        on g.facility_id = facility_periods.facility_id and g.period_id = facility_periods.period_id
    where facility_periods.period_id >= first_periods.first_period_id
),

with_change as (
    select
        *,
        gross_charge_amount - payment_amount - contractual_adjustment_amount - denial_amount
        - write_off_amount - plb_recoupment_amount - reserve_change_amount as net_change_amount
    from rows_by_period
),

cumulative as (
    select
        *,
        sum(net_change_amount) over (
            partition by facility_id order by period_id rows between unbounded preceding and current row
        ) as ending_balance_amount,
        sum(gl_movement_amount) over (
            partition by facility_id order by period_id rows between unbounded preceding and current row
        ) as gl_balance_amount,
        sum(held_movement_amount) over (
            partition by facility_id order by period_id rows between unbounded preceding and current row
        ) as held_balance_amount
    from with_change
),

final as (
    select
        coalesce(facilities.legal_entity_id, 'UNMAPPED') as legal_entity_id,
        cumulative.facility_id,
        cumulative.period_id,
        cumulative.period_end_date,
        {{ money('cumulative.ending_balance_amount - cumulative.net_change_amount') }} as beginning_balance_amount,
        {{ money('cumulative.gross_charge_amount') }} as gross_charge_amount,
        {{ money('cumulative.payment_amount') }} as payment_amount,
        {{ money('cumulative.contractual_adjustment_amount') }} as contractual_adjustment_amount,
        {{ money('cumulative.denial_amount') }} as denial_amount,
        {{ money('cumulative.write_off_amount') }} as write_off_amount,
        {{ money('cumulative.plb_recoupment_amount') }} as plb_recoupment_amount,
        {{ money('cumulative.reserve_change_amount') }} as reserve_change_amount,
        {{ money('cumulative.ending_balance_amount') }} as ending_balance_amount,
        {{ money('cumulative.gl_balance_amount') }} as gl_balance_amount,
        {{ money('cumulative.ending_balance_amount - cumulative.gl_balance_amount') }} as difference_amount,
        cumulative.ending_balance_amount = cumulative.gl_balance_amount as is_tied,
        case
            when cumulative.ending_balance_amount = cumulative.gl_balance_amount then null
            when cumulative.held_balance_amount <> 0
                then 'journals held back (UNMAPPED legal entity, facility or account) carry A/R'
            else 'A/R movements and the posted A/R accounts differ'
        end as break_reason
    from cumulative
    left join facilities on facilities.facility_id = cumulative.facility_id
)

select * from final
