"""Reconciled, PHI-free finance extracts per accounting period (XLSX workbook or CSV set).

``careledger extract --period YYYY-MM --format xlsx|csv [--out DIR]`` calls
:func:`write_extract`. The extract reads the public marts only, with the posting ledger and the
held journals, from the state it reports on: by default the warehouse itself, read-only
(:func:`default_source`), so a posting made a minute ago is in it; the serving snapshot only
when a writer holds the warehouse and the snapshot is newer than the last posting. Sheets:

- ``pnl_by_service_line``      P&L by facility x service line (mart_service_line_margin_monthly)
- ``reimbursement_summary``    remittances of the period by facility x payer class x service
                               line (mart_daily_reimbursement)
- ``denial_summary``           denials by payer class x payer x category (mart_denial_trends_monthly)
- ``journal_summary``          the period's ERP journal totals by source x account
                               (mart_erp_journal_lines, with posting status when the posting
                               ledger exists)
- ``ar_aging``                 A/R at the period end by aging basis (discharge, bill) x payer
                               class in the buckets 0-30 .. over 180 and unbilled, with HFMA AR-2
                               per payer class and AR-1 over all payers (mart_ar_aging)
- ``ar_rollforward``           net A/R rolled forward per legal entity x facility for the period
                               (beginning + gross - payments - contractual - denials - write-offs
                               - PLB recoupments - reserve change = ending) with the GL balance of
                               the A/R accounts and the break, if any (mart_ar_rollforward)
- ``cash_reconciliation``      835 payments and lockbox cash against the bank deposits per legal
                               entity x deposit day (mart_cash_reconciliation_daily)
- ``cash_exceptions``          the period's cash breaks with both sides' amounts and the reason
                               (mart_cash_reconciliation_exceptions)
- ``reconciliation_summary``   checkpoint counts and amounts (mart_reconciliation_daily), open
                               exceptions (mart_reconciliation_exceptions) and the cash
                               reconciliation's reconciled / not reconciled days and breaks
- ``held_journals``            every journal of the period an ERP posting held back (unmapped
                               codes, no open period, a pre-validation rule) with its amounts
- ``tieout``                   each sheet total against the journal total it must equal, with a
                               difference column that must be 0.00

The marts read are the ones the dbt exposure ``finance_extract`` depends on, and only their
contracted columns; a source that lacks one of them is an :class:`ExtractError` naming it.

Amounts are Decimal end to end (DuckDB DECIMAL -> Python Decimal -> CSV text); the workbook
stores them as numbers with a money format and writes totals and differences as formulas with
their exact cached values, so the workbook shows how each figure ties out. The tie-out always
has the posted-vs-mart checks: per ERP target, posted = the mart's debits and posted + held =
the mart's debits; with nothing of the period posted anywhere, one check says so (a break).

Safe and print-ready: text cells are written as strings (a payer named ``=HYPERLINK(...)``
stays text), CSV cells that start with a formula character are escaped (OWASP), workbook
headers are words, the header row is frozen and filtered, every sheet prints landscape one page
wide, and each total is a workbook name (``total_<sheet>_<column>``) the Tie-out refers to.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import logging
import os
import re
import shutil
import sys
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import duckdb

from careledger.config import SEEDS_DIR, Home, kill_if_asked
from careledger.publish.contracts import ContractError, exposure_marts, require_marts
from careledger.publish.serving import PHI_COLUMN_NAMES, current_snapshot_path, read_manifest

log = logging.getLogger(__name__)

PERIOD_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
FORMATS = ("xlsx", "csv")
ZERO = Decimal("0.00")
CENT = Decimal("0.01")

SHEET_TITLES: dict[str, str] = {
    "pnl_by_service_line": "P&L by service line",
    "reimbursement_summary": "Reimbursement summary",
    "denial_summary": "Denial summary",
    "journal_summary": "Journal summary",
    "ar_aging": "AR aging",
    "ar_rollforward": "AR roll-forward",
    "cash_reconciliation": "Cash reconciliation",
    "cash_exceptions": "Cash exceptions",
    "reconciliation_summary": "Reconciliation summary",
    "held_journals": "Held journals",
    "tieout": "Tie-out",
}


class ExtractError(RuntimeError):
    """The extract could not be written (bad period, missing marts, PHI). ``kind`` says which
    expected failure it is (the CLI's exit code): usage, nothing_landed, no_build, no_period, busy."""

    def __init__(self, message: str, kind: str = "usage") -> None:
        super().__init__(message)
        self.kind = kind


#: The marts the extract reads: the ones its dbt exposure depends on.
EXTRACT_EXPOSURE = "finance_extract"

#: A monthly mart's rows of one period, by its contracted ``period_start_date`` (whatever the
#: ERP's period ids look like).
PERIOD_FILTER = "strftime(period_start_date, '%Y-%m') = ?"


@dataclass(frozen=True)
class Sheet:
    name: str
    columns: list[str]
    rows: list[tuple[object, ...]]
    total_columns: tuple[str, ...] = ()  # summed in the workbook's Total row
    notes: tuple[str, ...] = ()

    def total(self, column: str) -> Decimal:
        """Sum of a column; ``checkpoint:<name>`` sums ``amount`` of that checkpoint row."""
        if column.startswith("checkpoint:"):
            name = column.split(":", 1)[1]
            c, a = self.columns.index("checkpoint"), self.columns.index("amount")
            return sum((Decimal(r[a] or 0) for r in self.rows if r[0] == "checkpoint" and r[c] == name), ZERO)
        i = self.columns.index(column)
        return sum((Decimal(r[i] or 0) for r in self.rows), ZERO)


@dataclass(frozen=True)
class TieOut:
    """One check: a sheet's total equals a posted journal total to the cent."""

    check: str
    sheet: str
    measure: str
    sheet_total: Decimal
    journal_source: str
    journal_account: str
    journal_total: Decimal

    @property
    def measure_label(self) -> str:
        if self.measure.startswith("checkpoint:"):
            return f"amount at the {self.measure.split(':', 1)[1]} checkpoint"
        return self.measure

    @property
    def difference(self) -> Decimal:
        return (self.sheet_total - self.journal_total).quantize(CENT)

    @property
    def tied(self) -> bool:
        return self.difference == ZERO


@dataclass(frozen=True)
class ExtractResult:
    period: str
    fmt: str
    paths: list[Path]
    sheets: dict[str, int]  # sheet -> data rows
    tieouts: list[TieOut] = field(default_factory=list)
    source: Path | None = None

    @property
    def all_tied(self) -> bool:
        return all(t.tied for t in self.tieouts)


# --------------------------------------------------------------------------- source


@dataclass(frozen=True)
class _Source:
    con: duckdb.DuckDBPyConnection
    path: Path
    marts_prefix: str  # "marts." in the warehouse, "" in the serving snapshot
    ledger: str | None  # relation name of the posting ledger, if any
    held: str | None  # relation name of the held journals (publish.held_journals), if any

    def mart(self, name: str) -> str:
        return f"{self.marts_prefix}{name}"


def _open_source(path: Path) -> _Source:
    path = Path(path)
    if path.is_dir():
        db = current_snapshot_path(path)
    elif path.is_file():
        db = path
    else:
        raise ExtractError(
            f"{path} is neither a serving folder nor a DuckDB file: publish the serving "
            "snapshot or build the warehouse first"
        )
    con = duckdb.connect(str(db), read_only=True)
    tables = {
        (s, t) for s, t in con.execute("select table_schema, table_name from information_schema.tables").fetchall()
    }
    in_warehouse = any(s == "marts" for s, _ in tables)
    prefix = "marts." if in_warehouse else ""
    try:
        require_marts(
            {t for s, t in tables if s == ("marts" if in_warehouse else "main")},
            exposure_marts(EXTRACT_EXPOSURE),
            str(db),
            "build the marts (dbt build) and publish the serving snapshot first",
        )
    except ContractError as exc:
        con.close()
        raise ExtractError(str(exc), "no_build") from None

    def relation(name: str) -> str | None:
        if ("publish", name) in tables:
            return f"publish.{name}"
        return name if ("main", name) in tables else None

    return _Source(
        con=con, path=db, marts_prefix=prefix, ledger=relation("posting_ledger"), held=relation("held_journals")
    )


def default_source(home: Home) -> Path:
    """The state an extract must report on: the warehouse itself (read-only), which holds the
    marts, the posting ledger and the held journals as they stand now. When a writer holds the
    warehouse, the serving snapshot, but only if it was published after the last ERP posting
    (else it would report journals as unposted, or posted, that are not); otherwise an
    :class:`ExtractError` saying to wait."""
    warehouse = home.warehouse
    if not warehouse.is_file():
        raise ExtractError(
            f"no warehouse at {warehouse}: land your exports and build first "
            "(`careledger ingest PATH`, then `careledger refresh`)",
            "nothing_landed",
        )
    try:
        duckdb.connect(str(warehouse), read_only=True).close()
        return warehouse
    except duckdb.IOException:
        pass
    busy = f"the warehouse {warehouse} is being written by another careledger process"
    try:
        published = dt.datetime.fromisoformat(str(read_manifest(home.serving)["published_at"]))
    except FileNotFoundError:
        raise ExtractError(
            f"{busy} and there is no serving snapshot: run the extract when it has finished", "busy"
        ) from None
    last_posting = _last_posting(home)
    if last_posting is not None and last_posting > published:
        raise ExtractError(
            f"{busy} and the serving snapshot ({published:%Y-%m-%d %H:%M} UTC) predates the last ERP posting "
            f"({last_posting:%Y-%m-%d %H:%M} UTC): run the extract when the writer has finished",
            "busy",
        )
    log.warning("%s; extracting from the serving snapshot published %s", busy, published.isoformat())
    return home.serving


def _last_posting(home: Home) -> dt.datetime | None:
    """When an ERP posting last wrote the ledger (exports/posting_status.json, which the
    posting step writes without the warehouse)."""
    path = home.exports / "posting_status.json"
    if not path.exists():
        return None
    stamps = [v.get("updated_at") for v in json.loads(path.read_text()).values() if isinstance(v, dict)]
    return max((dt.datetime.fromisoformat(t) for t in stamps if t), default=None)


def _period_bounds(period: str) -> tuple[dt.date, dt.date]:
    m = PERIOD_RE.match(period)
    if not m:
        raise ExtractError(f"period {period!r} is not YYYY-MM (for example 2025-03)")
    start = dt.date(int(m.group(1)), int(m.group(2)), 1)
    end = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    return start, end


def _fetch(src: _Source, sql: str, params: list[object]) -> tuple[list[str], list[tuple]]:
    cur = src.con.execute(sql, params)
    cols = [d[0] for d in cur.description]
    return cols, cur.fetchall()


# --------------------------------------------------------------------------- sheets


def _pnl(src: _Source, period: str) -> Sheet:
    """The margin mart's rows of the period (its grain is period x facility x service line),
    margin_pct as the mart computes it."""
    cols, rows = _fetch(
        src,
        f"""
        select facility_id, facility_name, service_line_code, service_line_name, encounter_count,
               gross_charge_amount, expected_reimbursement_amount, payment_amount,
               contractual_adjustment_amount, denial_amount, patient_responsibility_amount,
               net_revenue_amount, direct_cost_amount, indirect_cost_amount,
               contribution_margin_amount, margin_pct
        from {src.mart("mart_service_line_margin_monthly")}
        where {PERIOD_FILTER}
        order by facility_id, service_line_code
        """,
        [period],
    )
    money = tuple(c for c in cols if c.endswith("_amount")) + ("encounter_count",)
    return Sheet("pnl_by_service_line", cols, rows, money)


def _reimbursement(src: _Source, start: dt.date, end: dt.date) -> Sheet:
    cols, rows = _fetch(
        src,
        f"""
        select facility_id, payer_class, service_line_code,
               sum(claim_count)::bigint as claim_count,
               sum(charge_amount) as charge_amount,
               sum(payment_amount) as payment_amount,
               sum(contractual_adjustment_amount) as contractual_adjustment_amount,
               sum(patient_responsibility_amount) as patient_responsibility_amount,
               sum(denial_amount) as denial_amount
        from {src.mart("mart_daily_reimbursement")}
        where remit_date between ? and ?
        group by all order by all
        """,
        [start, end],
    )
    totals = tuple(c for c in cols if c.endswith(("_amount", "_count")))
    return Sheet("reimbursement_summary", cols, rows, totals)


def _denials(src: _Source, period: str) -> Sheet:
    cols, rows = _fetch(
        src,
        f"""
        select payer_class, payer_code, any_value(payer_name) as payer_name, denial_category,
               sum(denied_claim_count)::bigint as denied_claim_count,
               sum(denied_line_count)::bigint as denied_line_count,
               sum(denied_amount) as denied_amount,
               sum(reversed_denied_amount) as reversed_denied_amount,
               sum(denied_amount) + sum(reversed_denied_amount) as net_denied_amount,
               sum(overturned_claim_count)::bigint as overturned_claim_count,
               case when sum(denied_claim_count) = 0 then null else round(
                   sum(overturned_claim_count) / sum(denied_claim_count), 4) end
                   as overturn_rate,
               sum(written_off_amount) as written_off_amount
        from {src.mart("mart_denial_trends_monthly")}
        where {PERIOD_FILTER}
        group by payer_class, payer_code, denial_category
        order by payer_class, payer_code, denial_category
        """,
        [period],
    )
    totals = (
        "denied_claim_count",
        "denied_line_count",
        "denied_amount",
        "reversed_denied_amount",
        "net_denied_amount",
        "overturned_claim_count",
        "written_off_amount",
    )
    return Sheet("denial_summary", cols, rows, totals)


def _journals(src: _Source, start: dt.date, end: dt.date) -> Sheet:
    status_sql = "null::varchar as posting_status"
    if src.ledger is not None:
        status_sql = (
            "(select string_agg(distinct l.target || ': ' || l.status, ', ') "
            f"from {src.ledger} l where l.source_journal_id in (select unnest(j.journal_ids)))"
            " as posting_status"
        )
    cols, rows = _fetch(
        src,
        f"""
        with j as (
            select journal_source, account_id,
                   count(distinct journal_id)::bigint as journal_count,
                   count(*)::bigint as line_count,
                   sum(debit_amount) as debit_amount,
                   sum(credit_amount) as credit_amount,
                   (sum(debit_amount) - sum(credit_amount)) as net_debit_amount,
                   list(distinct journal_id) as journal_ids
            from {src.mart("mart_erp_journal_lines")}
            where posting_date between ? and ?
            group by journal_source, account_id
        )
        select journal_source, account_id, journal_count, line_count, debit_amount,
               credit_amount, net_debit_amount, {status_sql}
        from j order by journal_source, account_id
        """,
        [start, end],
    )
    return Sheet("journal_summary", cols, rows, ("line_count", "debit_amount", "credit_amount", "net_debit_amount"))


def _held(src: _Source, start: dt.date, end: dt.date) -> Sheet:
    """Every journal of the period an ERP posting held back (unmapped codes, no open period, a
    pre-validation rule), per target, with its amounts: the money the posting tie-outs miss."""
    cols = [
        "target",
        "posting_date",
        "journal_label",
        "journal_source",
        "legal_entity_id",
        "facility_id",
        "reason_code",
        "message",
        "line_count",
        "debit_amount",
        "credit_amount",
    ]
    rows: list[tuple] = []
    if src.held is not None:
        rows = src.con.execute(
            f"""
            select target, posting_date, journal_label, journal_source, legal_entity_id, facility_id,
                   reason_code, message, line_count, debit_total, credit_total
            from {src.held} where posting_date between ? and ?
            order by target, posting_date, journal_label
            """,
            [start, end],
        ).fetchall()
    notes = ("journals not posted: map the codes or open the period, then post again (`careledger backfill`)",)
    return Sheet("held_journals", cols, rows, ("line_count", "debit_amount", "credit_amount"), notes)


#: mart_ar_aging's buckets in the order finance reads them (contract columns).
AGING_BUCKETS = (
    "ar_0_30_amount",
    "ar_31_60_amount",
    "ar_61_90_amount",
    "ar_91_120_amount",
    "ar_121_180_amount",
    "ar_over_180_amount",
    "ar_unbilled_amount",
)
_AGING_MONEY = (
    *AGING_BUCKETS,
    "gross_balance_amount",
    "reserve_balance_amount",
    "net_balance_amount",
    "billed_ar_amount",
    "billed_ar_over_90_amount",
)


def _ar_aging(src: _Source, period: str) -> Sheet:
    """A/R at the end of the period by basis x payer class (sums of the mart's payer rows),
    then one ``all payers`` row per basis. ``aged_over_90_pct`` is billed A/R over 90 days /
    billed A/R: HFMA AR-2 over the payer class's payers, and on the ``all payers`` row the
    mart's own AR-1."""
    sums = ", ".join(f"sum({c}) as {c}" for c in _AGING_MONEY)
    ratio = (
        "case when sum(billed_ar_amount) = 0 then null else "
        "round(sum(billed_ar_over_90_amount) / sum(billed_ar_amount), 4)::decimal(18, 4) end"
    )
    cols, rows = _fetch(
        src,
        f"""
        with aging as (
            select * from {src.mart("mart_ar_aging")}
            where strftime(period_end_date, '%Y-%m') = ?
        ),
        by_class as (
            select aging_basis, payer_class, count(distinct payer_code)::bigint as payer_count,
                   sum(claim_count)::bigint as claim_count, {sums}, {ratio} as aged_over_90_pct,
                   'AR-2' as map_key, 0 as ord
            from aging group by aging_basis, payer_class
        ),
        all_payers as (
            select aging_basis, 'all payers' as payer_class,
                   count(distinct payer_code)::bigint as payer_count,
                   sum(claim_count)::bigint as claim_count, {sums},
                   any_value(ar1_aged_over_90_pct) as aged_over_90_pct, 'AR-1' as map_key, 1 as ord
            from aging group by aging_basis
        )
        select * exclude (ord) from (select * from by_class union all select * from all_payers)
        order by aging_basis desc, ord, payer_class
        """,
        [period],
    )
    notes = (
        "aging bases: discharge (period end - discharge date) and bill (period end - bill date; "
        "claims not billed by the period end are unbilled); each basis has the whole A/R, "
        "so the 'all payers' row of a basis is its total",
    )
    return Sheet("ar_aging", cols, rows, (), notes)


#: mart_ar_rollforward's money columns in roll-forward order (contract columns).
_ROLLFORWARD_MONEY = (
    "beginning_balance_amount",
    "gross_charge_amount",
    "payment_amount",
    "contractual_adjustment_amount",
    "denial_amount",
    "write_off_amount",
    "plb_recoupment_amount",
    "reserve_change_amount",
    "ending_balance_amount",
    "gl_balance_amount",
    "difference_amount",
)

#: The account roles whose GL balance is net A/R (the roll-forward's gl_balance_amount).
AR_ROLES = ("payer_ar", "unbilled_ar", "contractual_reserve", "patient_ar")


def _ar_rollforward(src: _Source, period: str) -> Sheet:
    """The period's roll-forward rows. A closed period has none: its movements roll forward in
    the next open period, the one its journals post to."""
    cols, rows = _fetch(
        src,
        f"""
        select legal_entity_id, facility_id, period_id, period_end_date, {", ".join(_ROLLFORWARD_MONEY)},
               is_tied, break_reason
        from {src.mart("mart_ar_rollforward")}
        where strftime(period_end_date, '%Y-%m') = ?
        order by legal_entity_id, facility_id
        """,
        [period],
    )
    notes = (
        "beginning + gross charges - payments - contractual adjustments - denials - write-offs "
        "- PLB recoupments - reserve change = ending; net A/R = payer A/R - contractual reserve "
        "+ patient A/R; gl_balance: the A/R accounts in the journals that post (no UNMAPPED "
        "legal entity, facility or account), cumulative to the period end",
        *(
            ()
            if rows
            else (
                f"no roll-forward rows for {period}: a closed period's movements roll forward in the next open period",
            )
        ),
    )
    return Sheet("ar_rollforward", cols, rows, _ROLLFORWARD_MONEY, notes)


def _cash_reconciliation(src: _Source, start: dt.date, end: dt.date) -> Sheet:
    cols, rows = _fetch(
        src,
        f"""
        select legal_entity_id, deposit_date, remittance_count, remittance_amount,
               patient_cash_amount, expected_amount, deposit_count, payer_deposit_amount,
               lockbox_deposit_amount, deposit_amount, matched_count, matched_amount,
               unmatched_remittance_count, unmatched_remittance_amount, unmatched_deposit_count,
               unmatched_deposit_amount, mismatch_count, mismatch_difference_amount,
               plb_difference_amount, exception_count, is_reconciled
        from {src.mart("mart_cash_reconciliation_daily")}
        where deposit_date between ? and ?
        order by legal_entity_id, deposit_date
        """,
        [start, end],
    )
    totals = tuple(c for c in cols if c.endswith(("_amount", "_count")))
    notes = ("deposit - expected = unmatched deposits - unmatched remittances + mismatch differences",)
    return Sheet("cash_reconciliation", cols, rows, totals, notes)


def _cash_exceptions(src: _Source, start: dt.date, end: dt.date) -> Sheet:
    cols, rows = _fetch(
        src,
        f"""
        select exception_date, legal_entity_id, reason_code, checkpoint, receipt_source,
               reference, amount, remittance_amount, deposit_amount, plb_amount, detail
        from {src.mart("mart_cash_reconciliation_exceptions")}
        where exception_date between ? and ?
        order by exception_date, legal_entity_id, reason_code, reference
        """,
        [start, end],
    )
    notes = ("amount: the receipt with no deposit, the deposit with no receipt, or deposit - expected",)
    return Sheet("cash_exceptions", cols, rows, (), notes)


#: mart_reconciliation_daily is wide (facility x day); each checkpoint is a (count, amount)
#: column pair of its contract. ``None`` = the mart has no such measure at that checkpoint.
RECON_CHECKPOINTS: tuple[tuple[str, str | None, str | None], ...] = (
    ("encounter", "encounter_count", None),
    ("charge", "charged_claim_count", "charge_amount"),
    ("claim", "claimed_claim_count", "claimed_amount"),
    ("remittance", "remitted_claim_count", "remitted_amount"),
    ("journal", "posted_journal_count", "posted_amount"),
    ("unposted (remitted - journal)", None, "unposted_amount"),
)


def reconciliation_checkpoints_sql(relation: str, where: str) -> str:
    """One row per checkpoint (``section, checkpoint, record_count, amount``) over the
    facility-days of ``relation`` selected by ``where``; a measure a checkpoint has not is null."""
    parts = []
    for i, (name, count_col, amount_col) in enumerate(RECON_CHECKPOINTS):
        cnt = f"sum({count_col})::bigint" if count_col else "null::bigint"
        amt = f"sum({amount_col})::decimal(18, 2)" if amount_col else "null::decimal(18, 2)"
        parts.append(f"select {i} as ord, '{name}' as checkpoint, {cnt} as record_count, {amt} as amount from days")
    return (
        f"with days as (select * from {relation} {where}) "
        "select 'checkpoint' as section, checkpoint, record_count, amount from ("
        + " union all ".join(parts)
        + ") order by ord"
    )


def _reconciliation(src: _Source, start: dt.date, end: dt.date) -> Sheet:
    """Checkpoint counts and amounts of the period, reconciled days, and open exceptions."""
    cols = ["section", "checkpoint", "record_count", "amount"]
    rows: list[tuple[object, ...]] = []
    daily = src.mart("mart_reconciliation_daily")
    where, params = "where activity_date between ? and ?", [start, end]
    rows.extend(_fetch(src, reconciliation_checkpoints_sql(daily, where), params)[1])
    rows.extend(
        _fetch(
            src,
            f"""
        select 'status', 'facility-days reconciled', count(*) filter (where is_reconciled),
               null::decimal(18, 2) from {daily} {where}
        union all
        select 'status', 'facility-days not reconciled',
               count(*) filter (where not is_reconciled), null::decimal(18, 2)
        from {daily} {where}""",
            params + params,
        )[1]
    )
    rows.extend(
        _fetch(
            src,
            f"""
        select 'open_exceptions', reason_code::varchar, count(*)::bigint, sum(amount)::decimal(18, 2)
        from {src.mart("mart_reconciliation_exceptions")} where exception_date <= ?
        group by all order by 2""",
            [end],
        )[1]
    )
    cash = src.mart("mart_cash_reconciliation_daily")
    cash_where = "where deposit_date between ? and ?"
    rows.extend(
        _fetch(
            src,
            f"""
        select 'cash', 'legal-entity-days reconciled', count(*) filter (where is_reconciled),
               sum(deposit_amount) filter (where is_reconciled)::decimal(18, 2)
        from {cash} {cash_where}
        union all
        select 'cash', 'legal-entity-days not reconciled', count(*) filter (where not is_reconciled),
               sum(deposit_amount) filter (where not is_reconciled)::decimal(18, 2)
        from {cash} {cash_where}""",
            params + params,
        )[1]
    )
    rows.extend(
        _fetch(
            src,
            f"""
        select 'cash_exceptions', reason_code::varchar, count(*)::bigint, sum(amount)::decimal(18, 2)
        from {src.mart("mart_cash_reconciliation_exceptions")} where exception_date between ? and ?
        group by all order by 2""",
            params,
        )[1]
    )
    notes = (
        "open exceptions: every break dated on or before the period end; cash: the period's "
        "deposit days (amount = their deposits) and cash breaks",
    )
    return Sheet("reconciliation_summary", cols, rows, (), notes)


# --------------------------------------------------------------------------- tie-out


def _journal_net(src: _Source, start: dt.date, end: dt.date) -> dict[tuple[str, str], Decimal]:
    rows = src.con.execute(
        f"""
        select journal_source, account_id, sum(debit_amount) - sum(credit_amount)
        from {src.mart("mart_erp_journal_lines")}
        where posting_date between ? and ?
        group by all
        """,
        [start, end],
    ).fetchall()
    return {(s, str(a)): Decimal(v) for s, a, v in rows}


#: (check, sheet, measure, journal_source, account role, sign). ``sign`` -1 uses the credit side.
#: Roles joined by ``+`` add their accounts: at the 835 the contractual adjustment is the reserve
#: released (contractual_reserve) plus the true-up (docs/accounting_policy.md).
#: The role's account comes from seeds/account_roles.csv, the seed the posting rules and the
#: reconciliation marts join to, so remapping an account there moves the tie-outs with them.
TIEOUT_RULES: tuple[tuple[str, str, str, str, str, int], ...] = (
    # gross charges accrue to payer A/R, or to unbilled A/R while discharged, not final billed
    # (DNFB); the DNFB reversal moves them to payer A/R, so the two together are the charges
    (
        "Gross charges accrued",
        "pnl_by_service_line",
        "gross_charge_amount",
        "month_end_accrual",
        "payer_ar+unbilled_ar",
        1,
    ),
    (
        "Contractual adjustments (P&L)",
        "pnl_by_service_line",
        "contractual_adjustment_amount",
        "daily_reimbursement",
        "contractual_reserve+contractual_true_up",
        1,
    ),
    ("Denials (P&L)", "pnl_by_service_line", "denial_amount", "daily_reimbursement", "denial", 1),
    ("Payer payments", "reimbursement_summary", "payment_amount", "daily_reimbursement", "cash", 1),
    (
        "Contractual adjustments",
        "reimbursement_summary",
        "contractual_adjustment_amount",
        "daily_reimbursement",
        "contractual_reserve+contractual_true_up",
        1,
    ),
    ("Denials", "reimbursement_summary", "denial_amount", "daily_reimbursement", "denial", 1),
    (
        "Patient responsibility",
        "reimbursement_summary",
        "patient_responsibility_amount",
        "daily_reimbursement",
        "patient_ar",
        1,
    ),
    # denial trends count denials as received; reversals of denied claims are kept apart, and
    # the net is what posts to the denial account
    ("Net denied amount (denial trends)", "denial_summary", "net_denied_amount", "daily_reimbursement", "denial", 1),
    (
        "Journal checkpoint = A/R credits (reconciliation)",
        "reconciliation_summary",
        "checkpoint:journal",
        "daily_reimbursement",
        "payer_ar",
        -1,
    ),
    (
        "Remitted = posted (reconciliation)",
        "reconciliation_summary",
        "checkpoint:remittance",
        "daily_reimbursement",
        "payer_ar",
        -1,
    ),
)

#: The account-roles seed (account_id, role, description) that dbt loads as ``account_roles``.
ACCOUNT_ROLES_SEED = SEEDS_DIR / "account_roles.csv"


def role_accounts(seed: Path | None = None) -> dict[str, str]:
    """The one account of each tie-out role, from the account-roles seed. Raises ExtractError
    (one sentence) when a role the tie-outs use has no account or several."""
    path = seed or ACCOUNT_ROLES_SEED
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    accounts: dict[str, list[str]] = {}
    for row in rows:
        accounts.setdefault(row["role"].strip(), []).append(row["account_id"].strip())
    out: dict[str, str] = {}
    for role in dict.fromkeys([*(role for rule in TIEOUT_RULES for role in rule[4].split("+")), *AR_ROLES]):
        found = accounts.get(role, [])
        if len(found) != 1:
            raise ExtractError(
                f"{path} has {len(found)} accounts for role {role} ({', '.join(found) or 'none'}); "
                "a tie-out needs exactly one"
            )
        out[role] = found[0]
    return out


def _tieouts(src: _Source, sheets: dict[str, Sheet], start: dt.date, end: dt.date) -> list[TieOut]:
    net = _journal_net(src, start, end)
    accounts = role_accounts()
    out: list[TieOut] = []
    for check, sheet, measure, source, roles, sign in TIEOUT_RULES:
        role_accounts_ = [accounts[role] for role in roles.split("+")]
        total = sum((net.get((source, account), ZERO) for account in role_accounts_), ZERO)
        out.append(
            TieOut(
                check=check,
                sheet=sheet,
                measure=measure,
                sheet_total=sheets[sheet].total(measure),
                journal_source=source,
                journal_account="+".join(role_accounts_),
                journal_total=(sign * total).quantize(CENT),
            )
        )
    out.extend(_cash_tieouts(sheets))
    out.extend(_rollforward_tieouts(src, sheets, accounts, start, end))
    journal = sheets["journal_summary"]
    out.extend(_ledger_tieouts(src, journal.total("debit_amount"), sheets["held_journals"], start, end))
    out.append(
        TieOut(
            check="Journals balance (debits = credits)",
            sheet="journal_summary",
            measure="debit_amount",
            sheet_total=journal.total("debit_amount"),
            journal_source="all",
            journal_account="all credits",
            journal_total=journal.total("credit_amount"),
        )
    )
    return out


#: How each cash break moves deposits - expected: a deposit with no receipt adds its amount,
#: a receipt with no deposit takes its amount away, a mismatch adds deposit - expected.
CASH_EXCEPTION_SIGN = {
    "DEPOSIT_NO_REMITTANCE": 1,
    "REMITTANCE_NO_DEPOSIT": -1,
    "DEPOSIT_PLB_DIFFERENCE": 1,
    "DEPOSIT_AMOUNT_MISMATCH": 1,
    # a mapping break (the deposit's account has no legal entity): beside the match, no effect
    "DEPOSIT_ACCOUNT_UNMAPPED": 0,
}


def _cash_tieouts(sheets: dict[str, Sheet]) -> list[TieOut]:
    """The period's deposits - expected receipts (daily sheet) equal its breaks, signed (the
    exceptions sheet): every cent the bank and the remittances disagree on is an exception."""
    daily, breaks = sheets["cash_reconciliation"], sheets["cash_exceptions"]
    reason, amount = breaks.columns.index("reason_code"), breaks.columns.index("amount")
    unknown = sorted({r[reason] for r in breaks.rows} - set(CASH_EXCEPTION_SIGN))
    if unknown:
        raise ExtractError(f"cash exception reason codes {unknown} have no sign in CASH_EXCEPTION_SIGN")
    signed = sum((CASH_EXCEPTION_SIGN[r[reason]] * Decimal(r[amount] or 0) for r in breaks.rows), ZERO)
    return [
        TieOut(
            check="Cash: deposits - expected = breaks",
            sheet="cash_reconciliation",
            measure="deposit_amount - expected_amount",
            sheet_total=(daily.total("deposit_amount") - daily.total("expected_amount")).quantize(CENT),
            journal_source="cash_exceptions",
            journal_account="signed exception amounts",
            journal_total=signed.quantize(CENT),
        ),
        TieOut(
            check="Cash: matched + breaks = expected",
            sheet="cash_reconciliation",
            measure="expected_amount",
            sheet_total=daily.total("expected_amount"),
            journal_source="cash_reconciliation",
            journal_account="matched + unmatched remittances + mismatched expected",
            journal_total=(
                daily.total("matched_amount")
                + daily.total("unmatched_remittance_amount")
                + sum(
                    (
                        Decimal(r[breaks.columns.index("remittance_amount")] or 0)
                        for r in breaks.rows
                        if r[reason] in ("DEPOSIT_PLB_DIFFERENCE", "DEPOSIT_AMOUNT_MISMATCH")
                    ),
                    ZERO,
                )
            ).quantize(CENT),
        ),
    ]


def _rollforward_tieouts(
    src: _Source, sheets: dict[str, Sheet], accounts: dict[str, str], start: dt.date, end: dt.date
) -> list[TieOut]:
    """The roll-forward's GL column equals the journals: the net debit of the A/R accounts
    (payer A/R, unbilled A/R, contractual reserve, patient A/R) in the journals that post, through the period
    end; and ending - GL (difference) equals the period's AR_ROLLFORWARD_BREAK exceptions, so
    every cent that does not tie is an exception. A closed period has no roll-forward rows and
    no roll-forward tie-out."""
    sheet = sheets["ar_rollforward"]
    if not sheet.rows:
        return []
    ar_accounts = [accounts[role] for role in AR_ROLES]
    journals = src.mart("mart_erp_journal_lines")
    (gl,) = src.con.execute(
        f"""
        select coalesce(sum(debit_amount - credit_amount), 0)
        from {journals}
        where posting_date <= ? and account_id in ({", ".join("?" for _ in ar_accounts)})
            and journal_id not in (
                select journal_id from {journals}
                where legal_entity_id = 'UNMAPPED' or facility_id = 'UNMAPPED' or account_id = 'UNMAPPED'
            )
        """,
        [end, *ar_accounts],
    ).fetchone()
    (breaks,) = src.con.execute(
        f"""
        select coalesce(sum(amount), 0) from {src.mart("mart_reconciliation_exceptions")}
        where reason_code = 'AR_ROLLFORWARD_BREAK' and exception_date between ? and ?
        """,
        [start, end],
    ).fetchone()
    return [
        TieOut(
            check="A/R roll-forward: GL balance = A/R accounts in the journals",
            sheet="ar_rollforward",
            measure="gl_balance_amount",
            sheet_total=sheet.total("gl_balance_amount"),
            journal_source="journals that post, to the period end",
            journal_account="+".join(ar_accounts),
            journal_total=Decimal(gl).quantize(CENT),
        ),
        TieOut(
            check="A/R roll-forward: ending - GL = breaks",
            sheet="ar_rollforward",
            measure="difference_amount",
            sheet_total=sheet.total("difference_amount"),
            journal_source="reconciliation_exceptions",
            journal_account="AR_ROLLFORWARD_BREAK",
            journal_total=Decimal(breaks).quantize(CENT),
        ),
    ]


def _ledger_tieouts(src: _Source, mart_debits: Decimal, held: Sheet, start: dt.date, end: dt.date) -> list[TieOut]:
    """Per ERP target that posted or held a journal of the period: the journals that stand posted
    (originals and replacements, not reversed) carry exactly the mart's debits, and posted +
    held = the mart (so every unposted cent is a listed held journal). When nothing of the
    period was posted anywhere, one check says so: the journals are not in any ERP."""
    posted: dict[str, Decimal] = {}
    if src.ledger is not None:
        for target, amount in src.con.execute(
            f"""
            select target, coalesce(sum(debit_total) filter (where status = 'posted'
                   and posting_type <> 'reversal'), 0)
            from {src.ledger}
            where posting_date between ? and ?
            group by target
            """,
            [start, end],
        ).fetchall():
            posted[target] = Decimal(amount).quantize(CENT)
    t_col, d_col = held.columns.index("target"), held.columns.index("debit_amount")
    held_by_target: dict[str, Decimal] = {}
    for r in held.rows:
        held_by_target[r[t_col]] = held_by_target.get(r[t_col], ZERO) + Decimal(r[d_col] or 0)
    targets = sorted(set(posted) | set(held_by_target))
    if not targets:
        return [
            TieOut(
                check="Posted to an ERP (nothing of the period is posted)",
                sheet="journal_summary",
                measure="debit_amount",
                sheet_total=mart_debits,
                journal_source="ledger",
                journal_account="all debits",
                journal_total=ZERO,
            )
        ]
    out: list[TieOut] = []
    for target in targets:
        out.append(
            TieOut(
                check=f"Posted to {target} (posting ledger)",
                sheet="journal_summary",
                measure="debit_amount",
                sheet_total=mart_debits,
                journal_source=f"ledger:{target}",
                journal_account="all debits",
                journal_total=posted.get(target, ZERO),
            )
        )
        out.append(
            TieOut(
                check=f"Posted + held for {target}",
                sheet="journal_summary",
                measure="debit_amount",
                sheet_total=mart_debits,
                journal_source=f"ledger+held:{target}",
                journal_account="all debits",
                journal_total=(posted.get(target, ZERO) + held_by_target.get(target, ZERO)).quantize(CENT),
            )
        )
    return out


def _tieout_sheet(tieouts: list[TieOut]) -> Sheet:
    cols = [
        "check",
        "sheet",
        "measure",
        "sheet_total",
        "journal_source",
        "journal_account",
        "journal_total",
        "difference",
        "status",
    ]
    rows = [
        (
            t.check,
            t.sheet,
            t.measure_label,
            t.sheet_total,
            t.journal_source,
            t.journal_account,
            t.journal_total,
            t.difference,
            "tied" if t.tied else "BREAK",
        )
        for t in tieouts
    ]
    return Sheet("tieout", cols, rows)


# --------------------------------------------------------------------------- writers


def _check_phi(sheets: list[Sheet]) -> None:
    for s in sheets:
        bad = [c for c in s.columns if c.lower() in PHI_COLUMN_NAMES]
        if bad:
            raise ExtractError(f"sheet {s.name} would carry PHI columns {bad}; not written")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


#: What a spreadsheet takes for the start of a formula (OWASP CSV injection): =, +, -, @, tab, CR.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")


def csv_safe(value: object) -> str:
    """A CSV cell that a spreadsheet cannot run: text starting with a formula character gets a
    leading ``'`` (OWASP); numbers, including negative amounts, are left as they are."""
    text = _cell(value)
    if isinstance(value, str) and text.startswith(FORMULA_STARTS) and not _NUMBER.match(text):
        return "'" + text
    return text


def _temp_name(path: Path, suffix: str) -> Path:
    """``.<name>.<pid>-<hex>.<suffix>`` beside ``path``: hidden, and naming the process that owns it."""
    return path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex}.{suffix}")


def _owner_alive(stray: Path) -> bool:
    """Whether the process named in a temporary's name (``_temp_name``) still runs."""
    from careledger.orchestration.locking import pid_alive

    try:
        pid = int(stray.name.rsplit(".", 2)[-2].split("-", 1)[0])
    except ValueError:
        return False  # an older name without a pid: nobody can be writing it any more
    return pid == os.getpid() or pid_alive(pid)


def _clean_stray(path: Path) -> list[Path]:
    """Remove what an extract of ``path`` killed mid-write left beside it (``.<name>.*.tmp``, the
    previous CSV folder moved to ``.<name>.*.old``) unless the process named in it still runs."""
    stray = sorted(
        p for suffix in ("tmp", "old") for p in path.parent.glob(f".{path.name}.*.{suffix}") if not _owner_alive(p)
    )
    for p in stray:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
        log.warning("removed %s, left by an extract that was stopped while writing", p)
    return stray


def _write_csv(sheets: list[Sheet], folder: Path) -> list[Path]:
    _clean_stray(folder)
    tmp = _temp_name(folder, "tmp")
    tmp.mkdir(parents=True)
    paths = []
    for i, s in enumerate(sheets):
        if i == len(sheets) // 2:
            kill_if_asked("extract", "mid_write")  # half the sheets written to the temp folder
        p = tmp / f"{s.name}.csv"
        with p.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(s.columns)
            w.writerows([csv_safe(v) for v in r] for r in s.rows)
        paths.append(folder / p.name)
    kill_if_asked("extract", "before_rename")  # every sheet written, not yet in place
    if folder.exists():
        old = _temp_name(folder, "old")
        os.rename(folder, old)
        kill_if_asked("extract", "between_renames")  # the previous extract moved away, the new one not in
        os.rename(tmp, folder)
        for f in old.iterdir():
            f.unlink()
        old.rmdir()
    else:
        os.rename(tmp, folder)
    return paths


def _col_letter(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


#: Workbook headers people read; a column not listed gets its name in words ("_amount" -> "($)").
HEADERS: dict[str, str] = {
    "facility_id": "Facility",
    "facility_name": "Facility name",
    "service_line_code": "Service line",
    "service_line_name": "Service line name",
    "payer_class": "Payer class",
    "payer_code": "Payer",
    "payer_name": "Payer name",
    "legal_entity_id": "Legal entity",
    "account_id": "GL account",
    "journal_source": "Journal source",
    "gross_charge_amount": "Gross charges ($)",
    "expected_reimbursement_amount": "Expected reimbursement ($)",
    "contractual_adjustment_amount": "Contractual adjustments ($)",
    "patient_responsibility_amount": "Patient responsibility ($)",
    "margin_pct": "Margin %",
    "overturn_rate": "Overturn rate",
    "aged_over_90_pct": "Aged over 90 days %",
    "map_key": "HFMA MAP key",
    "ar_0_30_amount": "A/R 0-30 days ($)",
    "ar_31_60_amount": "A/R 31-60 days ($)",
    "ar_61_90_amount": "A/R 61-90 days ($)",
    "ar_91_120_amount": "A/R 91-120 days ($)",
    "ar_121_180_amount": "A/R 121-180 days ($)",
    "ar_over_180_amount": "A/R over 180 days ($)",
    "ar_unbilled_amount": "A/R unbilled ($)",
    "billed_ar_amount": "Billed A/R ($)",
    "billed_ar_over_90_amount": "Billed A/R over 90 days ($)",
    "is_reconciled": "Reconciled",
    "reason_code": "Reason",
    "sheet_total": "Sheet total ($)",
    "journal_total": "Journal total ($)",
    "difference": "Difference ($)",
}


def header(column: str) -> str:
    """The workbook header of a column: ``HEADERS``, else its words (``denied_claim_count`` ->
    ``Denied claim count``, ``payment_amount`` -> ``Payment ($)``)."""
    if column in HEADERS:
        return HEADERS[column]
    words = column.split("_")
    suffix = ""
    if words[-1] == "amount" and len(words) > 1:
        words, suffix = words[:-1], " ($)"
    elif words[-1] == "pct":
        words, suffix = words[:-1], " %"
    text = " ".join("ID" if w == "id" else w for w in words)
    return text[:1].upper() + text[1:] + suffix


def total_name(sheet: str, column: str) -> str:
    """The workbook-level defined name of a sheet's total (``total_pnl_by_service_line_gross_charge_amount``)."""
    return f"total_{sheet}_{column}"


def _page_setup(ws, header_row: int, title: str) -> None:
    """Landscape, one page wide, the header row repeated on every page, title and page numbers."""
    ws.set_landscape()
    ws.set_paper(9)  # A4; Letter users' printers scale
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(header_row)
    ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    ws.set_header(f"&L{title.replace('&', '&&')}&Rcareledger")
    ws.set_footer("&LPHI-free aggregates&RPage &P of &N")


def _write_xlsx(sheets: list[Sheet], tieouts: list[TieOut], path: Path, period: str, source: Path) -> None:
    import xlsxwriter

    _clean_stray(path)
    tmp = _temp_name(path, "tmp")
    # every text cell goes through write_string; the options make sure nothing else turns a
    # payer named "=HYPERLINK(...)" into a formula or a URL
    wb = xlsxwriter.Workbook(
        str(tmp), {"strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False}
    )
    f_title = wb.add_format({"bold": True, "font_size": 14})
    f_head = wb.add_format(
        {"bold": True, "bg_color": "#1f3a5f", "font_color": "white", "text_wrap": True, "valign": "top"}
    )
    f_money = wb.add_format({"num_format": "$#,##0.00;-$#,##0.00"})
    f_money_b = wb.add_format({"num_format": "$#,##0.00;-$#,##0.00", "bold": True, "top": 1})
    f_int = wb.add_format({"num_format": "#,##0"})
    f_int_b = wb.add_format({"num_format": "#,##0", "bold": True, "top": 1})
    f_pct = wb.add_format({"num_format": "0.0%"})
    f_date = wb.add_format({"num_format": "yyyy-mm-dd"})
    f_bold = wb.add_format({"bold": True, "top": 1})
    f_ok = wb.add_format({"bold": True, "font_color": "#1a7f37"})
    f_bad = wb.add_format({"bold": True, "font_color": "#b42318"})
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    header_row = 3

    for s in sheets:
        if s.name == "tieout":
            continue
        title = SHEET_TITLES[s.name][:31]
        ws = wb.add_worksheet(title)
        ws.write_string(0, 0, f"{SHEET_TITLES[s.name]} - period {period}", f_title)
        ws.write_string(
            1,
            0,
            f"careledger extract, generated {generated}; PHI-free aggregates"
            + ("; " + "; ".join(s.notes) if s.notes else ""),
        )
        for j, c in enumerate(s.columns):
            ws.write_string(header_row, j, header(c), f_head)
            ws.set_column(j, j, max(11, min(len(header(c)) + 2, 24 if c != "message" else 60)))
        first = header_row + 1
        for i, r in enumerate(s.rows):
            for j, (c, v) in enumerate(zip(s.columns, r)):
                if v is None:
                    continue
                if isinstance(v, bool):
                    ws.write_string(first + i, j, "yes" if v else "no")
                elif c.endswith("_amount") or c == "amount":
                    ws.write_number(first + i, j, float(v), f_money)
                elif c.endswith(("_pct", "_rate")):
                    ws.write_number(first + i, j, float(v), f_pct)
                elif isinstance(v, (int, Decimal)):
                    ws.write_number(first + i, j, float(v), f_int)
                elif isinstance(v, dt.datetime):
                    ws.write_datetime(first + i, j, v.replace(tzinfo=None), f_date)
                elif isinstance(v, dt.date):
                    ws.write_datetime(first + i, j, dt.datetime(v.year, v.month, v.day), f_date)
                else:
                    ws.write_string(first + i, j, _cell(v))
        last = first + len(s.rows) - 1
        total_row = first + len(s.rows)
        ws.autofilter(header_row, 0, max(last, header_row), len(s.columns) - 1)
        if s.total_columns:
            ws.write_string(total_row, 0, "Total", f_bold)
            for c in s.total_columns:
                j = s.columns.index(c)
                col = _col_letter(j)
                formula = f"=SUM({col}{first + 1}:{col}{last + 1})" if s.rows else "=0"
                fmt = f_money_b if c.endswith("_amount") else f_int_b
                ws.write_formula(total_row, j, formula, fmt, float(s.total(c)))
                wb.define_name(total_name(s.name, c), f"='{title}'!${col}${total_row + 1}")
        ws.freeze_panes(header_row + 1, 0)
        _page_setup(ws, header_row, f"{SHEET_TITLES[s.name]} - period {period}")

    ws = wb.add_worksheet(SHEET_TITLES["tieout"])
    ws.write_string(0, 0, f"Tie-out to posted journal totals - period {period}", f_title)
    all_tied = all(t.tied for t in tieouts)
    ws.write_string(
        1,
        0,
        "All sheets tie to the journals (difference 0.00)"
        if all_tied
        else "BREAK: at least one difference is not 0.00",
        f_ok if all_tied else f_bad,
    )
    tie_cols = _tieout_sheet(tieouts).columns
    for j, c in enumerate(tie_cols):
        ws.write_string(header_row, j, header(c), f_head)
        ws.set_column(j, j, 18 if j else 40)
    sheet_names = {s.name for s in sheets}
    for i, t in enumerate(tieouts):
        r = header_row + 1 + i
        ws.write_string(r, 0, t.check)
        ws.write_string(r, 1, SHEET_TITLES[t.sheet])
        ws.write_string(r, 2, t.measure_label)
        sheet = next(s for s in sheets if s.name == t.sheet) if t.sheet in sheet_names else None
        if sheet is not None and t.measure in sheet.total_columns:
            ws.write_formula(r, 3, f"={total_name(t.sheet, t.measure)}", f_money, float(t.sheet_total))
        else:
            ws.write_number(r, 3, float(t.sheet_total), f_money)
        ws.write_string(r, 4, t.journal_source)
        ws.write_string(r, 5, t.journal_account)
        ws.write_number(r, 6, float(t.journal_total), f_money)
        ws.write_formula(r, 7, f"=ROUND(D{r + 1}-G{r + 1},2)", f_money, float(t.difference))
        ws.write_string(r, 8, "tied" if t.tied else "BREAK", f_ok if t.tied else f_bad)
    last = header_row + len(tieouts)
    ws.autofilter(header_row, 0, max(last, header_row), len(tie_cols) - 1)
    ws.write_string(last + 2, 0, f"Source: {source.name} (warehouse or serving snapshot, read-only)")
    ws.freeze_panes(header_row + 1, 0)
    _page_setup(ws, header_row, f"Tie-out - period {period}")
    ws.activate()
    wb.close()
    kill_if_asked("extract", "before_rename")
    os.replace(tmp, path)


# --------------------------------------------------------------------------- entry point


def write_extract(warehouse_or_serving: Path, period: str, fmt: str, out_dir: Path) -> ExtractResult:
    """Write the reconciled extract for ``period`` (``YYYY-MM``) as ``xlsx`` or ``csv``.

    ``warehouse_or_serving``: a serving folder (its ``current`` snapshot is used), a serving
    ``serving.duckdb`` or the warehouse file (opened read-only). Writes
    ``out_dir/careledger_extract_<period>.xlsx`` or the folder
    ``out_dir/careledger_extract_<period>/`` with one CSV per sheet and ``tieout.csv``.
    """
    if fmt not in FORMATS:
        raise ExtractError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    start, end = _period_bounds(period)
    src = _open_source(Path(warehouse_or_serving))
    try:
        journal_count = src.con.execute(
            f"select count(*) from {src.mart('mart_erp_journal_lines')} where posting_date between ? and ?",
            [start, end],
        ).fetchone()[0]
        if journal_count == 0:
            periods = [
                r[0]
                for r in src.con.execute(
                    f"select distinct strftime(posting_date, '%Y-%m') from "
                    f"{src.mart('mart_erp_journal_lines')} order by 1"
                ).fetchall()
            ]
            raise ExtractError(
                f"no journal lines for period {period} in {src.path}; periods with journals: "
                f"{', '.join(periods) or 'none'}",
                "no_period",
            )
        data = [
            _pnl(src, period),
            _reimbursement(src, start, end),
            _denials(src, period),
            _journals(src, start, end),
            _ar_aging(src, period),
            _ar_rollforward(src, period),
            _cash_reconciliation(src, start, end),
            _cash_exceptions(src, start, end),
            _reconciliation(src, start, end),
            _held(src, start, end),
        ]
        by_name = {s.name: s for s in data}
        tieouts = _tieouts(src, by_name, start, end)
        sheets = [*data, _tieout_sheet(tieouts)]
        _check_phi(sheets)
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        stem = f"careledger_extract_{period}"
        if fmt == "xlsx":
            path = out_dir / f"{stem}.xlsx"
            _write_xlsx(sheets, tieouts, path, period, src.path)
            paths = [path]
        else:
            paths = _write_csv(sheets, out_dir / stem)
    finally:
        src.con.close()
    result = ExtractResult(
        period=period,
        fmt=fmt,
        paths=paths,
        sheets={s.name: len(s.rows) for s in sheets},
        tieouts=tieouts,
        source=src.path,
    )
    breaks = [t for t in tieouts if not t.tied]
    for t in breaks:
        log.info(
            "tie-out break in %s: %s %s sheet %s vs journal %s (difference %s)",
            period,
            t.check,
            t.measure,
            t.sheet_total,
            t.journal_total,
            t.difference,
        )
    log.info(
        "extract %s (%s): %s; %d/%d tie-outs tied",
        period,
        fmt,
        ", ".join(str(p) for p in paths),
        len(tieouts) - len(breaks),
        len(tieouts),
    )
    return result


def main(argv: list[str] | None = None) -> int:
    """``python -m careledger.publish.extracts --period YYYY-MM --format xlsx|csv [--out DIR] [--source]``"""
    parser = argparse.ArgumentParser(
        prog="careledger extract",
        description="Write the reconciled, PHI-free finance extract of one period.",
    )
    parser.add_argument("--period", required=True, help="accounting period YYYY-MM")
    parser.add_argument("--format", dest="fmt", choices=FORMATS, default="xlsx")
    parser.add_argument(
        "--out", type=Path, default=None, help="output folder (default $CARELEDGER_HOME/exports/extracts)"
    )
    parser.add_argument(
        "--source",
        type=Path,
        default=None,
        help="serving folder or DuckDB file (default: the warehouse under $CARELEDGER_HOME, read-only)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    home = Home.from_env()
    try:
        source = args.source or default_source(home)
        result = write_extract(source, args.period, args.fmt, args.out or home.extracts)
    except ExtractError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for p in result.paths:
        print(p)
    for t in result.tieouts:
        print(
            f"{'tied ' if t.tied else 'BREAK'} {t.check:<40} sheet {t.sheet_total:>16} "
            f"journal {t.journal_total:>16} diff {t.difference}"
        )
    return 0 if result.all_tied else 1


if __name__ == "__main__":
    raise SystemExit(main())
