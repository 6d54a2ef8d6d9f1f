{#-
    "Why didn't facility X's revenue post on day D?"

    Compile with the facility and the day, then run the SQL against the warehouse (or the
    serving snapshot, whose tables carry the same names):

        dbt compile --select why_revenue_did_not_post \
            --vars '{facility_id: F100, posting_date: 2024-03-15}'
        # SQL in target/compiled/careledger/analyses/why_revenue_did_not_post.sql

    One row per finding, most telling first:
      1 checkpoint   the day's reconciliation row: what was remitted vs what the daily
                     reimbursement journals carry (unposted_amount)
      2 no_remit     nothing was remitted that day: revenue posts on the 835 remit date,
                     so look at claims still waiting (CLAIM_NO_REMIT)
      3 journal_gap  per service line and measure: remitted (mart_daily_reimbursement) vs
                     posted (mart_erp_journal_lines)
      4 exception    every reconciliation exception of the facility on that day
      5 unmapped     when the day did not reconcile: remittances of the day that landed
                     on the UNMAPPED facility (a location or claim that did not map) and
                     the open mapping exceptions
      6 open_claims  the facility's claims older than var('claim_no_remit_days') with no
                     remittance, by submission date (why nothing arrived)
-#}

{%- set facility_id = var('facility_id', 'F100') -%}
{%- set posting_date = var('posting_date', '2024-01-15') -%}

with

reconciliation as (
    select * from {{ ref('mart_reconciliation_daily') }}
),

exceptions as (
    select * from {{ ref('mart_reconciliation_exceptions') }}
),

reimbursement as (
    select * from {{ ref('mart_daily_reimbursement') }}
),

journal_lines as (
    select * from {{ ref('mart_erp_journal_lines') }}
),

params as (
    select
        '{{ facility_id }}' as facility_id,
        cast('{{ posting_date }}' as date) as posting_date
),

day_row as (
    select reconciliation.*
    from reconciliation
    inner join params
        on reconciliation.facility_id = params.facility_id
        and reconciliation.activity_date = params.posting_date
),

checkpoint as (
    select
        1 as finding_order,
        'checkpoint' as finding,
        case
            when is_reconciled then 'RECONCILED'
            when unposted_amount <> 0 then 'JOURNAL_NOT_POSTED'
            else 'HAS_EXCEPTIONS'
        end as reason_code,
        facility_id || ':' || cast(activity_date as varchar) as source_id,
        unposted_amount as amount,
        'remitted ' || cast(remitted_amount as varchar) || ' on '
        || cast(remitted_claim_count as varchar) || ' CLPs, posted '
        || cast(posted_amount as varchar) || ' in ' || cast(posted_journal_count as varchar)
        || ' journals; ' || cast(exception_count as varchar) || ' exceptions that day'
            as detail
    from day_row
),

no_remit as (
    select
        2 as finding_order,
        'no_remit' as finding,
        'NO_REMITTANCE_ON_DAY' as reason_code,
        params.facility_id || ':' || cast(params.posting_date as varchar) as source_id,
        cast(0 as decimal(18, 2)) as amount,
        'no 835 payment for this facility on this day: daily revenue posts on the remit '
        || 'date, so nothing was due to post; see open_claims below' as detail
    from params
    where not exists (select 1 from day_row where day_row.remitted_claim_count <> 0)
),

remitted_measures as (
    {%- for measure in ['payment_amount', 'contractual_adjustment_amount', 'denial_amount',
                        'patient_responsibility_amount'] %}
    select
        reimbursement.service_line_code,
        '{{ measure }}' as measure,
        sum(reimbursement.{{ measure }}) as remitted_amount
    from reimbursement
    inner join params
        on reimbursement.facility_id = params.facility_id
        and reimbursement.remit_date = params.posting_date
    group by reimbursement.service_line_code
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

posted_measures as (
    select
        journal_lines.service_line_code,
        case journal_lines.account_id
            when '1010' then 'payment_amount'
            when '4900' then 'contractual_adjustment_amount'
            when '4910' then 'denial_amount'
            when '1210' then 'patient_responsibility_amount'
        end as measure,
        sum(journal_lines.debit_amount - journal_lines.credit_amount) as posted_amount
    from journal_lines
    inner join params
        on journal_lines.facility_id = params.facility_id
        and journal_lines.posting_date = params.posting_date
    where journal_lines.journal_source = 'daily_reimbursement'
        and journal_lines.account_id in ('1010', '4900', '4910', '1210')
    group by journal_lines.service_line_code, journal_lines.account_id
),

journal_gap as (
    select
        3 as finding_order,
        'journal_gap' as finding,
        case
            when posted_measures.measure is null then 'JOURNAL_MISSING'
            else 'JOURNAL_DIFFERS'
        end as reason_code,
        coalesce(remitted_measures.service_line_code, posted_measures.service_line_code)
        || ':' || coalesce(remitted_measures.measure, posted_measures.measure) as source_id,
        coalesce(remitted_measures.remitted_amount, 0)
        - coalesce(posted_measures.posted_amount, 0) as amount,
        'remitted ' || cast(coalesce(remitted_measures.remitted_amount, 0) as varchar)
        || ', posted ' || cast(coalesce(posted_measures.posted_amount, 0) as varchar)
            as detail
    from remitted_measures
    full outer join posted_measures
        on remitted_measures.service_line_code = posted_measures.service_line_code
        and remitted_measures.measure = posted_measures.measure
    where coalesce(remitted_measures.remitted_amount, 0)
        <> coalesce(posted_measures.posted_amount, 0)
),

day_exceptions as (
    select
        4 as finding_order,
        'exception' as finding,
        exceptions.reason_code,
        exceptions.source_id,
        exceptions.amount,
        exceptions.detail
    from exceptions
    inner join params
        on exceptions.facility_id = params.facility_id
        and exceptions.exception_date = params.posting_date
),

unmapped as (
    select
        5 as finding_order,
        'unmapped' as finding,
        exceptions.reason_code,
        exceptions.source_id,
        exceptions.amount,
        exceptions.detail
    from exceptions
    cross join params
    where exceptions.facility_id = 'UNMAPPED'
        and (
            exceptions.exception_date = params.posting_date
            or exceptions.reason_code = 'UNMAPPED_CODE'
        )
        -- only worth reading when the day did not reconcile
        and not exists (select 1 from day_row where day_row.is_reconciled)
),

open_claims as (
    select
        6 as finding_order,
        'open_claims' as finding,
        exceptions.reason_code,
        exceptions.source_id,
        exceptions.amount,
        exceptions.detail || ' (submitted ' || cast(exceptions.exception_date as varchar) || ')'
            as detail
    from exceptions
    inner join params
        on exceptions.facility_id = params.facility_id
        and exceptions.exception_date <= params.posting_date
    where exceptions.reason_code = 'CLAIM_NO_REMIT'
),

findings as (
    select * from checkpoint
    union all
    select * from no_remit
    union all
    select * from journal_gap
    union all
    select * from day_exceptions
    union all
    select * from unmapped
    union all
    select * from open_claims
),

final as (
    select
        finding_order,
        finding,
        reason_code,
        source_id,
        cast(amount as decimal(18, 2)) as amount,
        detail
    from findings
)

select * from final
order by finding_order asc, abs(amount) desc, source_id asc
