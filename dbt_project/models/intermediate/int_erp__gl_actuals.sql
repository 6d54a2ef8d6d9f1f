-- ERP GL actual lines, one per (journal_id, line_number); a line landed twice keeps its
-- first load and is flagged. Facility, cost center and account checked against the ERP
-- masters (UNMAPPED when unknown), period from the accounting calendar when missing.
with

gl_actuals as (
    select * from {{ ref('stg_erp__gl_actuals') }}
),

facilities as (
    select * from {{ ref('int_erp__facilities') }}
),

cost_centers as (
    select * from {{ ref('int_erp__cost_centers') }}
),

accounts as (
    select * from {{ ref('int_erp__accounts') }}
),

periods as (
    select * from {{ ref('int_erp__accounting_periods') }}
),

ranked as (
    select
        gl_actuals.*,
        row_number() over (
            partition by journal_id, line_number order by _loaded_at, _batch_id, _source_record
        ) as occurrence
    from gl_actuals
),

final as (
    select
        {{ surrogate_key(['ranked.journal_id', 'ranked.line_number']) }} as gl_line_key,
        ranked.journal_id,
        ranked.line_number,
        ranked.legal_entity_id,
        coalesce(facilities.facility_id, 'UNMAPPED') as facility_id,
        coalesce(cost_centers.cost_center_id, 'UNMAPPED') as cost_center_id,
        coalesce(accounts.account_id, 'UNMAPPED') as account_id,
        case when cost_centers.cost_center_id is null then 'UNMAPPED' else cost_centers.service_line_code end
            as service_line_code,
        ranked.posting_date,
        coalesce(ranked.period_id, periods.period_id) as period_id,
        coalesce(ranked.debit_amount, 0) as debit_amount,
        coalesce(ranked.credit_amount, 0) as credit_amount,
        ranked.source,
        ranked.supplier_id,
        ranked.description,
        ranked.facility_id as facility_source_code,
        ranked.cost_center_id as cost_center_source_code,
        ranked.account_id as account_source_code,
        ranked.occurrence > 1 as is_duplicate,
        ranked._batch_id,
        ranked._loaded_at
    from ranked
    left join facilities on facilities.facility_id = ranked.facility_id
    left join cost_centers on cost_centers.cost_center_id = ranked.cost_center_id
    left join accounts on accounts.account_id = ranked.account_id
    left join periods
        on ranked.posting_date >= periods.period_start_date and ranked.posting_date <= periods.period_end_date
)

select * from final
