"""A synthetic warehouse holding only the public marts, at any scale.

Used by the dashboard benchmark (a 1M-encounter snapshot in well under a minute) and by the
unit tests of the serving snapshot, the extracts and the dashboard, so that they do not need
the whole simulate -> ingest -> dbt pipeline. The marts follow docs/data_contracts.md section 5
and are internally consistent the way the real marts are:

- one claim per encounter: charge = payment + contractual + patient responsibility + denial;
- ``mart_daily_reimbursement`` aggregates claims by remit date; ``mart_erp_journal_lines``
  posts it (Dr 1010 / 4900 / 4910 / 1210, Cr 1200) per legal entity x facility x day, plus a
  month-end accrual of gross charges (Dr 1200 / Cr revenue) dated at period end;
- the monthly margin mart dates charges by service month and remittance amounts by remit
  month; the denial mart dates denials by remit month.

Everything is generated in DuckDB SQL (seeded), no per-row Python.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from pathlib import Path

import duckdb

log = logging.getLogger(__name__)

SERVICE_LINES: tuple[tuple[str, str], ...] = (
    ("cardiology", "Cardiology"),
    ("orthopedics", "Orthopedics"),
    ("oncology", "Oncology"),
    ("womens_health", "Women's health"),
    ("behavioral_health", "Behavioral health"),
    ("emergency", "Emergency"),
    ("primary_care", "Primary care"),
    ("general_surgery", "General surgery"),
    ("imaging", "Imaging"),
    ("lab", "Laboratory"),
    ("neurology", "Neurology"),
    ("pulmonology", "Pulmonology"),
    ("UNMAPPED", "Unmapped"),
)
PAYER_CLASSES: tuple[str, ...] = (
    "medicare",
    "medicaid",
    "commercial",
    "managed_care",
    "self_pay",
    "other_government",
    "workers_comp",
)
DENIALS: tuple[tuple[str, str, str], ...] = (
    ("eligibility", "CO", "27"),
    ("authorization", "CO", "197"),
    ("coding", "CO", "16"),
    ("medical_necessity", "CO", "50"),
    ("timely_filing", "CO", "29"),
    ("duplicate", "OA", "18"),
    ("coordination_of_benefits", "OA", "22"),
    ("other", "CO", "96"),
)
REVENUE_ACCOUNTS: tuple[str, ...] = ("4010", "4020", "4030", "4040", "4050", "4060", "4070")


@dataclass(frozen=True)
class SampleSpec:
    encounters: int = 2_000
    facilities: int = 4
    physicians_per_facility: int = 20
    payers: int = 12
    start_date: str = "2025-01-01"
    days: int = 180
    seed: float = 0.42


def _values(rows: list[tuple[object, ...]]) -> str:
    def lit(v: object) -> str:
        return "'" + str(v).replace("'", "''") + "'" if isinstance(v, str) else str(v)

    return ", ".join("(" + ", ".join(lit(v) for v in r) + ")" for r in rows)


def build_sample_warehouse(path: Path, spec: SampleSpec = SampleSpec()) -> Path:
    """Create (or replace) a DuckDB file with schema ``marts`` and ``raw_meta.batches``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    con = duckdb.connect(str(path))
    try:
        con.execute(f"select setseed({spec.seed})")
        con.execute("create schema marts; create schema raw_meta; create schema dims")
        sl = _values([(i, c, n) for i, (c, n) in enumerate(SERVICE_LINES)])
        con.execute(f"create table dims.sl as select * from (values {sl}) t(i, code, name)")
        den = _values([(i, c, g, k) for i, (c, g, k) in enumerate(DENIALS)])
        con.execute(f"create table dims.den as select * from (values {den}) t(i, category, grp, carc)")
        con.execute(
            f"""
            create table dims.fac as
            select i, 'F' || (100 + i * 100)::varchar as facility_id,
                   ['Riverside Medical Center', 'Lakeview Hospital', 'Northgate Clinic',
                    'Summit Health Center', 'Bayside Clinic', 'Pine Valley Hospital',
                    'Harbor Clinic', 'Eastfield Hospital'][i % 8 + 1]
                       || case when i >= 8 then ' ' || i::varchar else '' end as facility_name,
                   'LE' || (i % 2 + 1)::varchar as legal_entity_id,
                   'Ledger LE' || (i % 2 + 1)::varchar as ledger_name
            from range({spec.facilities}) r(i)
            """
        )
        pcs = ", ".join(f"'{p}'" for p in PAYER_CLASSES)
        con.execute(
            f"""
            create table dims.payer as
            select i, 'PYR' || lpad((i + 1)::varchar, 3, '0') as payer_code,
                   'Payer ' || (i + 1)::varchar as payer_name,
                   [{pcs}][i % {len(PAYER_CLASSES)} + 1] as payer_class
            from range({spec.payers}) r(i)
            """
        )
        n_sl, n_den = len(SERVICE_LINES), len(DENIALS)
        ppf = spec.physicians_per_facility
        con.execute(
            f"""
            create table dims.claims as
            with base as (
                select
                    i,
                    floor(random() * {spec.facilities})::int as fac_i,
                    floor(random() * {ppf})::int as doc_i,
                    case when random() < 0.01 then {n_sl - 1}
                         else floor(random() * {n_sl - 1})::int end as sl_i,
                    floor(random() * {spec.payers})::int as payer_i,
                    floor(random() * {spec.days})::int as day_i,
                    14 + floor(random() * 30)::int as lag_days,
                    (100 + random() * 4900)::decimal(18, 2) as charge_amount,
                    random() < 0.12 as is_denied,
                    floor(random() * {n_den})::int as den_i,
                    random() as r_overturn,
                    random() as r_writeoff,
                    5 + floor(random() * 85)::int as days_to_resolve,
                    floor(random() * {len(REVENUE_ACCOUNTS)})::int as rev_i
                from range({spec.encounters}) r(i)
            )
            select
                'C' || lpad((b.i + 1)::varchar, 8, '0') as claim_id,
                b.* exclude (i),
                f.facility_id, f.facility_name, f.legal_entity_id, f.ledger_name,
                s.code as service_line_code, s.name as service_line_name,
                p.payer_code, p.payer_name, p.payer_class,
                (1000000000 + fac_i * 1000 + doc_i)::varchar as rendering_npi,
                'Dr. ' || ['Adams', 'Baker', 'Chen', 'Diaz', 'Evans', 'Fischer', 'Garcia',
                           'Hughes', 'Ito', 'Jones'][doc_i % 10 + 1]
                    || ' (' || (fac_i * 1000 + doc_i)::varchar || ')' as provider_name,
                ('{spec.start_date}'::date + day_i)::date as service_date,
                ('{spec.start_date}'::date + day_i + lag_days)::date as remit_date,
                (charge_amount * 0.45)::decimal(18, 2) as expected_reimbursement_amount,
                case when is_denied then (charge_amount * 0.6)::decimal(18, 2)
                     else 0::decimal(18, 2) end as denial_amount,
                case when is_denied then (charge_amount * 0.3)::decimal(18, 2)
                     else (charge_amount * 0.5)::decimal(18, 2) end
                    as contractual_adjustment_amount,
                case when is_denied then 0::decimal(18, 2)
                     else (charge_amount * 0.05)::decimal(18, 2) end
                    as patient_responsibility_amount,
                (charge_amount * 0.28)::decimal(18, 2) as direct_cost_amount,
                (charge_amount * 0.09)::decimal(18, 2) as indirect_cost_amount,
                d.category as denial_category, d.grp as group_code, d.carc as carc_code,
                is_denied and r_overturn < 0.3 as is_overturned,
                is_denied and r_overturn >= 0.3 and r_writeoff < 0.4 as is_written_off,
                ['{"', '".join(REVENUE_ACCOUNTS)}'][rev_i + 1] as revenue_account_id
            from base b
            join dims.fac f on f.i = b.fac_i
            join dims.sl s on s.i = b.sl_i
            join dims.payer p on p.i = b.payer_i
            join dims.den d on d.i = b.den_i
            """
        )
        con.execute(
            """
            alter table dims.claims add column payment_amount decimal(18, 2);
            update dims.claims set payment_amount = charge_amount - denial_amount
                - contractual_adjustment_amount - patient_responsibility_amount;
            """
        )
        _build_marts(con)
        _build_batches(con, spec)
        con.execute("drop schema dims cascade")
        con.execute("checkpoint")
    finally:
        con.close()
    log.info("sample warehouse with %d encounters at %s", spec.encounters, path)
    return path


_WITH_MARGIN = """select *,
            (net_revenue_amount - direct_cost_amount - indirect_cost_amount)::decimal(18, 2)
                as contribution_margin_amount,
            case when net_revenue_amount = 0 then null else round(
                (net_revenue_amount - direct_cost_amount - indirect_cost_amount)
                / net_revenue_amount, 4)::decimal(9, 4) end as margin_pct
        from agg order by all"""  # contribution margin and margin % over an ``agg`` of _MEASURES

_MEASURES = """
    count(*) filter (where kind = 'charge') as encounter_count,
    coalesce(sum(charge_amount) filter (where kind = 'charge'), 0)::decimal(18, 2)
        as gross_charge_amount,
    coalesce(sum(expected_reimbursement_amount) filter (where kind = 'charge'), 0)
        ::decimal(18, 2) as expected_reimbursement_amount,
    coalesce(sum(payment_amount) filter (where kind = 'remit'), 0)::decimal(18, 2)
        as payment_amount,
    coalesce(sum(contractual_adjustment_amount) filter (where kind = 'remit'), 0)
        ::decimal(18, 2) as contractual_adjustment_amount,
    coalesce(sum(denial_amount) filter (where kind = 'remit'), 0)::decimal(18, 2)
        as denial_amount,
    coalesce(sum(patient_responsibility_amount) filter (where kind = 'remit'), 0)
        ::decimal(18, 2) as patient_responsibility_amount,
    coalesce(sum(payment_amount + patient_responsibility_amount) filter (where kind = 'remit'),
        0)::decimal(18, 2) as net_revenue_amount,
    coalesce(sum(direct_cost_amount) filter (where kind = 'charge'), 0)::decimal(18, 2)
        as direct_cost_amount,
    coalesce(sum(indirect_cost_amount) filter (where kind = 'charge'), 0)::decimal(18, 2)
        as indirect_cost_amount
"""


def _build_marts(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """
        create view dims.events as
        select 'charge' as kind, service_date as event_date, * from dims.claims
        union all
        select 'remit' as kind, remit_date as event_date, * from dims.claims
        """
    )
    con.execute(
        f"""
        create table marts.mart_service_line_margin_monthly as
        with agg as (
            select strftime(event_date, '%Y-%m') as period_id,
                   date_trunc('month', event_date)::date as period_start_date, facility_id,
                   any_value(facility_name) as facility_name, service_line_code,
                   any_value(service_line_name) as service_line_name, {_MEASURES}
            from dims.events group by all
        )
        {_WITH_MARGIN}
        """
    )
    con.execute(
        f"""
        create table marts.mart_service_line_margin_weekly as
        with agg as (
            select date_trunc('week', event_date)::date as week_start_date, facility_id,
                   rendering_npi, any_value(provider_name) as provider_name,
                   service_line_code, {_MEASURES}
            from dims.events group by all
        )
        {_WITH_MARGIN}
        """
    )
    con.execute(
        """
        create table marts.mart_daily_reimbursement as
        select remit_date, facility_id, legal_entity_id, payer_class, service_line_code,
               count(*) as claim_count,
               sum(charge_amount)::decimal(18, 2) as charge_amount,
               sum(payment_amount)::decimal(18, 2) as payment_amount,
               sum(contractual_adjustment_amount)::decimal(18, 2)
                   as contractual_adjustment_amount,
               sum(patient_responsibility_amount)::decimal(18, 2)
                   as patient_responsibility_amount,
               sum(denial_amount)::decimal(18, 2) as denial_amount
        from dims.claims group by all order by all
        """
    )
    con.execute(
        """
        create table marts.mart_denial_trends_monthly as
        with adjudicated as (
            select strftime(remit_date, '%Y-%m') as period_id, payer_code, facility_id,
                   service_line_code, count(*) as adjudicated_claim_count
            from dims.claims group by all
        ),
        denied as (
            select strftime(remit_date, '%Y-%m') as period_id, payer_code,
                   any_value(payer_name) as payer_name, any_value(payer_class) as payer_class,
                   facility_id, service_line_code, denial_category, group_code, carc_code,
                   count(*) as denied_claim_count, count(*) as denied_line_count,
                   sum(denial_amount)::decimal(18, 2) as denied_amount,
                   count(*) filter (where is_overturned) as overturned_claim_count,
                   coalesce(sum(denial_amount) filter (where is_written_off), 0)
                       ::decimal(18, 2) as written_off_amount,
                   count(*) filter (where is_overturned or is_written_off)
                       as resolved_claim_count,
                   round(avg(days_to_resolve), 1)::decimal(9, 1) as avg_days_to_resolve
            from dims.claims where is_denied group by all
        )
        select d.period_id, (d.period_id || '-01')::date as period_start_date, d.payer_code,
               d.payer_name, d.payer_class, d.facility_id,
               d.service_line_code, d.denial_category, d.group_code, d.carc_code,
               d.denied_claim_count, d.denied_line_count, d.denied_amount,
               0::decimal(18, 2) as reversed_denied_amount,
               d.denied_claim_count as initial_denied_claim_count,
               a.adjudicated_claim_count,
               round(d.denied_claim_count / a.adjudicated_claim_count, 4)::decimal(9, 4)
                   as initial_denial_rate,
               d.overturned_claim_count,
               round(d.overturned_claim_count / d.denied_claim_count, 4)::decimal(9, 4)
                   as overturn_rate,
               d.written_off_amount, d.resolved_claim_count, d.avg_days_to_resolve
        from denied d join adjudicated a using (period_id, payer_code, facility_id,
                                                service_line_code)
        order by all
        """
    )
    con.execute(
        """
        create table marts.mart_revenue_cycle_kpis as
        with c as (
            select strftime(remit_date, '%Y-%m') as period_id, facility_id,
                   count(*) as adjudicated_claim_count,
                   count(*) filter (where is_denied) as denied_claim_count,
                   count(*) filter (where not is_denied) as clean_claim_count,
                   coalesce(sum(denial_amount) filter (where is_written_off), 0)
                       ::decimal(18, 2) as denial_write_off_amount,
                   sum(payment_amount + patient_responsibility_amount)::decimal(18, 2)
                       as net_revenue_amount,
                   sum(payment_amount)::decimal(18, 2) as cash_amount
            from dims.claims group by all
        )
        select period_id, (period_id || '-01')::date as period_start_date, facility_id,
               clean_claim_count, adjudicated_claim_count as submitted_claim_count,
               round(clean_claim_count / adjudicated_claim_count, 4)::decimal(9, 4)
                   as clean_claim_rate,
               denied_claim_count as initial_denied_claim_count, adjudicated_claim_count,
               round(denied_claim_count / adjudicated_claim_count, 4)::decimal(9, 4)
                   as initial_denial_rate,
               denial_write_off_amount, net_revenue_amount,
               round(denial_write_off_amount / nullif(net_revenue_amount, 0), 4)
                   ::decimal(9, 4) as denial_write_off_pct,
               (net_revenue_amount - cash_amount)::decimal(18, 2) as net_ar_amount,
               (net_revenue_amount / 30)::decimal(18, 2) as avg_daily_net_revenue_amount,
               round((net_revenue_amount - cash_amount)
                     / nullif(net_revenue_amount / 30, 0), 1)::decimal(9, 1) as net_days_in_ar,
               cash_amount as payment_amount,
               round(cash_amount / nullif(net_revenue_amount, 0), 4)::decimal(9, 4)
                   as cash_pct_of_net_revenue
        from c order by all
        """
    )
    _build_journals(con)
    _build_reconciliation(con)


def _build_journals(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """
        create table marts.mart_erp_journal_lines as
        with daily as (
            select legal_entity_id, any_value(ledger_name) as ledger_name, facility_id,
                   remit_date as posting_date, 'daily_reimbursement' as journal_source,
                   sum(payment_amount)::decimal(18, 2) as pay,
                   sum(contractual_adjustment_amount)::decimal(18, 2) as con,
                   sum(denial_amount)::decimal(18, 2) as den,
                   sum(patient_responsibility_amount)::decimal(18, 2) as pr,
                   count(*) as n, min(claim_id) as first_id, max(claim_id) as last_id,
                   md5(string_agg(claim_id, ',' order by claim_id)) as set_hash
            from dims.claims group by legal_entity_id, facility_id, remit_date
        ),
        daily_lines as (
            select d.*, l.*
            from daily d,
            lateral (values
                (1, '1010', pay, 0::decimal(18, 2), 'Cash clearing - payer payments'),
                (2, '1200', 0::decimal(18, 2), pay, 'Patient A/R - payer: payments'),
                (3, '4900', con, 0::decimal(18, 2), 'Contractual allowances'),
                (4, '1200', 0::decimal(18, 2), con, 'Patient A/R - payer: contractuals'),
                (5, '4910', den, 0::decimal(18, 2), 'Denials'),
                (6, '1200', 0::decimal(18, 2), den, 'Patient A/R - payer: denials'),
                (7, '1210', pr, 0::decimal(18, 2), 'Patient A/R - self-pay'),
                (8, '1200', 0::decimal(18, 2), pr, 'Patient A/R - payer: patient resp.')
            ) l(line_number, account_id, debit_amount, credit_amount, description)
        ),
        accrual as (
            select legal_entity_id, any_value(ledger_name) as ledger_name, facility_id,
                   last_day(service_date) as posting_date, revenue_account_id,
                   sum(charge_amount)::decimal(18, 2) as amt, count(*) as n,
                   min(claim_id) as first_id, max(claim_id) as last_id,
                   md5(string_agg(claim_id, ',' order by claim_id)) as set_hash
            from dims.claims group by legal_entity_id, facility_id, last_day(service_date),
                revenue_account_id
        ),
        accrual_lines as (
            select legal_entity_id, ledger_name, facility_id, posting_date,
                   'month_end_accrual' as journal_source, n, first_id, last_id, set_hash,
                   row_number() over (partition by legal_entity_id, facility_id, posting_date
                                      order by revenue_account_id, side) as line_number,
                   account_id, debit_amount, credit_amount, description
            from accrual,
            lateral (values
                (1, '1200', amt, 0::decimal(18, 2), 'Gross charges accrual - A/R'),
                (2, revenue_account_id, 0::decimal(18, 2), amt, 'Gross charges accrual')
            ) l(side, account_id, debit_amount, credit_amount, description)
        ),
        unioned as (
            select legal_entity_id, ledger_name, facility_id, posting_date, journal_source,
                   line_number, account_id, debit_amount, credit_amount, description,
                   n, first_id, last_id, set_hash
            from daily_lines
            union all
            select legal_entity_id, ledger_name, facility_id, posting_date, journal_source,
                   line_number, account_id, debit_amount, credit_amount, description,
                   n, first_id, last_id, set_hash
            from accrual_lines
        )
        select
            'J-' || legal_entity_id || '-' || facility_id || '-' || strftime(posting_date,
                '%Y%m%d') || '-' || journal_source as journal_id,
            md5(legal_entity_id || facility_id || posting_date::varchar || journal_source)
                as idempotency_key,
            journal_source, legal_entity_id, ledger_name, facility_id, posting_date,
            strftime(posting_date, '%Y-%m') as period_id, line_number::int as line_number,
            account_id, 'CC-' || facility_id || '-0000' as cost_center_id,
            null::varchar as service_line_code, debit_amount, credit_amount,
            'USD' as currency_code, description, n as source_record_count,
            first_id as source_first_id, last_id as source_last_id,
            set_hash as source_id_set_hash, 'sample' as correlation_id
        from unioned
        order by journal_id, line_number
        """
    )


def _build_reconciliation(con: duckdb.DuckDBPyConnection) -> None:
    """Facility x day checkpoints (wide, as the real mart) and a few exception rows."""
    con.execute(
        """
        create table marts.mart_reconciliation_exceptions as
        select md5(claim_id) as exception_key, 'CLAIM_NO_REMIT' as reason_code,
               'remittance' as checkpoint, facility_id, service_date as exception_date,
               'claim' as source_entity, claim_id as source_id, charge_amount as amount,
               'Claim has no remittance after 60 days: follow up with the payer' as detail
        from dims.claims
        where hash(claim_id) % 200 = 0
        order by exception_key
        """
    )
    con.execute(
        """
        create table marts.mart_reconciliation_daily as
        with charged as (
            select service_date as activity_date, facility_id, count(*) as encounter_count,
                   count(*) as charged_encounter_count, count(*) as charged_claim_count,
                   sum(charge_amount)::decimal(18, 2) as charge_amount,
                   count(*) as claimed_claim_count,
                   sum(charge_amount)::decimal(18, 2) as claimed_amount
            from dims.claims group by all
        ),
        remitted as (
            select remit_date as activity_date, facility_id,
                   count(*) as remitted_claim_count,
                   sum(payment_amount + contractual_adjustment_amount + denial_amount
                       + patient_responsibility_amount)::decimal(18, 2) as remitted_amount,
                   sum(payment_amount)::decimal(18, 2) as remitted_payment_amount
            from dims.claims group by all
        ),
        posted as (
            select posting_date as activity_date, facility_id,
                   count(distinct journal_id) as posted_journal_count,
                   sum(credit_amount - debit_amount) filter (where account_id = '1200')
                       ::decimal(18, 2) as posted_amount,
                   sum(debit_amount - credit_amount) filter (where account_id = '1010')
                       ::decimal(18, 2) as posted_payment_amount
            from marts.mart_erp_journal_lines
            where journal_source = 'daily_reimbursement' group by all
        ),
        exceptions as (
            select exception_date as activity_date, facility_id, count(*) as exception_count
            from marts.mart_reconciliation_exceptions group by all
        ),
        days as (
            select activity_date, facility_id from charged
            union select activity_date, facility_id from remitted
        )
        select d.facility_id, d.activity_date,
               coalesce(c.encounter_count, 0) as encounter_count,
               coalesce(c.charged_encounter_count, 0) as charged_encounter_count,
               coalesce(c.charged_claim_count, 0) as charged_claim_count,
               coalesce(c.charge_amount, 0)::decimal(18, 2) as charge_amount,
               coalesce(c.claimed_claim_count, 0) as claimed_claim_count,
               coalesce(c.claimed_amount, 0)::decimal(18, 2) as claimed_amount,
               coalesce(r.remitted_claim_count, 0) as remitted_claim_count,
               coalesce(r.remitted_amount, 0)::decimal(18, 2) as remitted_amount,
               coalesce(r.remitted_payment_amount, 0)::decimal(18, 2)
                   as remitted_payment_amount,
               coalesce(p.posted_journal_count, 0) as posted_journal_count,
               coalesce(p.posted_amount, 0)::decimal(18, 2) as posted_amount,
               coalesce(p.posted_payment_amount, 0)::decimal(18, 2) as posted_payment_amount,
               (coalesce(r.remitted_amount, 0) - coalesce(p.posted_amount, 0))::decimal(18, 2)
                   as unposted_amount,
               coalesce(e.exception_count, 0) as exception_count,
               coalesce(e.exception_count, 0) = 0
                   and coalesce(r.remitted_amount, 0) = coalesce(p.posted_amount, 0)
                   as is_reconciled
        from days d
        left join charged c using (activity_date, facility_id)
        left join remitted r using (activity_date, facility_id)
        left join posted p using (activity_date, facility_id)
        left join exceptions e using (activity_date, facility_id)
        order by d.facility_id, d.activity_date
        """
    )


def _build_batches(con: duckdb.DuckDBPyConnection, spec: SampleSpec) -> None:
    con.execute(
        """
        create table raw_meta.batches (
            batch_id varchar primary key, source_system varchar not null,
            format varchar not null, source_file varchar not null, file_name varchar not null,
            sha256 varchar not null, size_bytes bigint not null, rows_read bigint not null,
            rows_accepted bigint not null, rows_quarantined bigint not null,
            status varchar not null, message varchar, started_at timestamp not null,
            finished_at timestamp
        )
        """
    )
    con.execute(
        f"""
        insert into raw_meta.batches
        select 'B' || lpad(i::varchar, 5, '0'), src, fmt, '/landing/' || fmt || i::varchar,
               fmt || i::varchar, md5(i::varchar), 1000, 100, 100 - (i % 3), i % 3,
               case when i % 17 = 0 then 'failed' else 'landed' end, null,
               '{spec.start_date}'::timestamp + to_days({spec.days} + 50)
                   - to_hours(i % 48) as started_at,
               '{spec.start_date}'::timestamp + to_days({spec.days} + 50)
                   - to_hours(i % 48) + interval 3 minute
        from range(1, 61) r(i),
        lateral (select [('ehr', 'fhir'), ('ehr', 'adt'), ('billing', 'claims'),
                         ('billing', 'x12-835'), ('billing', 'denials'),
                         ('erp', 'erp:gl_actuals')][i % 6 + 1] as t)
        , lateral (select t[1] as src, t[2] as fmt)
        """
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build a synthetic marts-only warehouse.")
    parser.add_argument("path", type=Path)
    parser.add_argument("--encounters", type=int, default=SampleSpec.encounters)
    parser.add_argument("--facilities", type=int, default=SampleSpec.facilities)
    parser.add_argument("--physicians-per-facility", type=int, default=SampleSpec.physicians_per_facility)
    parser.add_argument("--days", type=int, default=SampleSpec.days)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    build_sample_warehouse(
        args.path,
        SampleSpec(
            encounters=args.encounters,
            facilities=args.facilities,
            physicians_per_facility=args.physicians_per_facility,
            days=args.days,
        ),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
