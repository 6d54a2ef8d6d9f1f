-- ERP GL actual lines (duplicates removed), mapped to conformed facility, cost center,
-- service line and account.
with

gl_actuals as (
    select * from {{ ref('int_erp__gl_actuals') }}
    where not is_duplicate
),

final as (
    select
        gl_line_key, journal_id, line_number, legal_entity_id, facility_id, cost_center_id, service_line_code,
        account_id, posting_date, period_id, debit_amount, credit_amount, source, supplier_id, description,
        _batch_id
    from gl_actuals
)

select * from final
