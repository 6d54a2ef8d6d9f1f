-- The month-end accrual journals debit exactly the gross charges of the periods they post
-- (facilities and periods that exist; charges outside any ERP period are not accrued).
with

charges as (
    select c.facility_id, p.period_end_date as posting_date, sum(c.charge_amount) as charge_amount
    from {{ ref('fct_charges') }} as c
    inner join {{ ref('dim_accounting_period') }} as p on p.period_id = c.period_id
    group by c.facility_id, p.period_end_date
),

accruals as (
    select facility_id, posting_date, sum(debit_amount) as debit_amount
    from {{ ref('mart_erp_journal_lines') }}
    where journal_source = 'month_end_accrual'
    group by facility_id, posting_date
)

select charges.*, accruals.debit_amount
from charges
full outer join accruals
    on accruals.facility_id = charges.facility_id and accruals.posting_date = charges.posting_date
where coalesce(charges.charge_amount, 0) <> coalesce(accruals.debit_amount, 0)
