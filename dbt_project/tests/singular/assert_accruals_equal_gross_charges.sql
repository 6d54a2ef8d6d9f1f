-- The month-end accrual journals debit payer A/R and unbilled A/R (roles payer_ar, unbilled_ar)
-- with exactly the gross charges of the periods they post (a DNFB accrual and its reversal move
-- charges between the two; the contractual reserve lines are allowance / reserve)
-- (facilities and periods that exist; charges outside any ERP period are not accrued).
with

charges as (
    select c.facility_id, p.period_end_date as posting_date, sum(c.charge_amount) as charge_amount
    from {{ ref('fct_charges') }} as c
    inner join {{ ref('dim_accounting_period') }} as p on p.period_id = c.period_id
    group by c.facility_id, p.period_end_date
),

accruals as (
    select
        journal_lines.facility_id,
        journal_lines.posting_date,
        sum(journal_lines.debit_amount - journal_lines.credit_amount) as debit_amount
    from {{ ref('mart_erp_journal_lines') }} as journal_lines
    inner join {{ ref('account_roles') }} as account_roles on account_roles.account_id = journal_lines.account_id
    where journal_lines.journal_source = 'month_end_accrual' and account_roles.role in ('payer_ar', 'unbilled_ar')
    group by journal_lines.facility_id, journal_lines.posting_date
)

select charges.*, accruals.debit_amount
from charges
full outer join accruals
    on accruals.facility_id = charges.facility_id and accruals.posting_date = charges.posting_date
where coalesce(charges.charge_amount, 0) <> coalesce(accruals.debit_amount, 0)
