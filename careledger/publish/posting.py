"""The posting ledger: what careledger exported to which ERP, so re-runs are exactly-once.

Reads only ``marts.mart_erp_journal_lines`` (the journals, shaped by the mart) and
``core.dim_accounting_period`` (open/closed periods). Writes only the ``publish`` schema:

- ``publish.posting_ledger``: one row per exported journal and target (original,
  reversal or replacement), with its content hash, the period it was posted to, the file
  it went out in, its status (``posted`` | ``reversed``) and what it reverses/replaces.
- ``publish.posting_ledger_lines``: the lines exactly as exported, so a later reversal
  negates what the ERP really received, whatever the mart says today.

The planning step (:func:`plan_postings`) is pure: current journals + ledger state +
period calendar -> the journals to export. Nothing here knows any ERP file format.

Corrections are a full reversal of the posted journal plus a replacement journal (both
referencing the original), never an in-place rewrite and never a write into a closed
period: see docs/erp_posting.md for why reversal + replacement rather than one delta.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal

import duckdb
import pyarrow as pa

log = logging.getLogger(__name__)

ZERO = Decimal("0.00")
CENT = Decimal("0.01")

JOURNAL_LINES_RELATION = "marts.mart_erp_journal_lines"
PERIODS_RELATION = "core.dim_accounting_period"
LEDGER_SCHEMA = "publish"

UNMAPPED = "UNMAPPED"  # the conformed dimensions' member for an identifier with no mapping

POSTING_TYPES = ("original", "reversal", "replacement")
#: ``pending``: recorded before its file is written (phase 1); ``posted``: its file is in place
#: (phase 2); ``reversed``: a later reversal negates it. See docs/erp_posting.md, "Two-phase posting".
LEDGER_STATUSES = ("pending", "posted", "reversed")

# Identifier shapes that must never leave the warehouse in a posting (docs/data_contracts.md).
_PHI_VALUE_PATTERNS = (
    re.compile(r"^PCN\d{10}$"),  # patient control number (CLM01 / CLP01)
    re.compile(r"^MRN\d{8}$"),  # medical record number
)

LEDGER_COLUMNS = (
    "target",
    "journal_key",
    "posting_seq",
    "journal_id",
    "idempotency_key",
    "posting_type",
    "status",
    "reverses_journal_id",
    "original_journal_id",
    "content_hash",
    "source_content_hash",
    "journal_source",
    "legal_entity_id",
    "ledger_name",
    "facility_id",
    "posting_date",
    "accounting_date",
    "period_id",
    "source_period_id",
    "currency_code",
    "source_journal_id",
    "source_idempotency_key",
    "correlation_id",
    "line_count",
    "debit_total",
    "credit_total",
    "file_name",
    "posted_at",
)
LEDGER_LINE_COLUMNS = (
    "target",
    "journal_id",
    "line_number",
    "account_id",
    "cost_center_id",
    "service_line_code",
    "debit_amount",
    "credit_amount",
    "description",
    "source_record_count",
    "source_first_id",
    "source_last_id",
    "source_id_set_hash",
    "correlation_id",
)

LEDGER_DDL = f"""
create schema if not exists {LEDGER_SCHEMA};

create table if not exists {LEDGER_SCHEMA}.posting_ledger (
    target varchar not null,                 -- oracle | d365 | netsuite | json
    journal_key varchar not null,            -- hash of legal entity | facility | posting date | source
    posting_seq integer not null,            -- 1, 2, 3 ... per (target, journal_key)
    journal_id varchar not null,             -- the exported journal id
    idempotency_key varchar not null,        -- the exported idempotency key (NetSuite externalId ...)
    posting_type varchar not null,           -- original | reversal | replacement
    status varchar not null,                 -- pending | posted | reversed
    reverses_journal_id varchar,             -- reversal: the journal it negates
    original_journal_id varchar,             -- reversal and replacement: the journal being corrected
    content_hash varchar not null,           -- sha256 of the exported lines (canonical form)
    source_content_hash varchar not null,    -- content hash of the mart journal this row stands for
    journal_source varchar not null,
    legal_entity_id varchar not null,
    ledger_name varchar,
    facility_id varchar not null,
    posting_date date not null,              -- the mart's posting date (the journal's identity)
    accounting_date date not null,           -- the date it was posted with (may move to an open period)
    period_id varchar not null,              -- the period it was posted to
    source_period_id varchar,                -- the period of posting_date
    currency_code varchar not null,
    source_journal_id varchar,
    source_idempotency_key varchar,
    correlation_id varchar,
    line_count integer not null,
    debit_total decimal(18, 2) not null,
    credit_total decimal(18, 2) not null,
    file_name varchar not null,
    posted_at timestamp not null,
    primary key (target, journal_id)
);

create table if not exists {LEDGER_SCHEMA}.posting_ledger_lines (
    target varchar not null,
    journal_id varchar not null,
    line_number integer not null,
    account_id varchar not null,
    cost_center_id varchar,
    service_line_code varchar,
    debit_amount decimal(18, 2) not null,
    credit_amount decimal(18, 2) not null,
    description varchar,
    source_record_count bigint,
    source_first_id varchar,
    source_last_id varchar,
    source_id_set_hash varchar,
    correlation_id varchar,
    primary key (target, journal_id, line_number)
);

-- journals a run could not post (no accounting period covers them, or a closed period with no
-- later open one; UNMAPPED legal entity, facility or account): the exception row of each, the
-- current state per target (rewritten for the dates each run reads)
create table if not exists {LEDGER_SCHEMA}.held_journals (
    target varchar not null,
    journal_key varchar not null,
    journal_label varchar not null,
    journal_source varchar not null,
    legal_entity_id varchar not null,
    facility_id varchar not null,
    posting_date date not null,
    reason_code varchar not null,            -- NO_ACCOUNTING_PERIOD | UNMAPPED | a pre-validation rule (EP01 ...)
    message varchar not null,
    line_count integer not null,
    debit_total decimal(18, 2) not null,
    credit_total decimal(18, 2) not null,
    held_at timestamp not null,
    primary key (target, journal_key)
);
"""

# What happened to each journal after publish wrote it: its ERP reference and every delivery
# attempt (docs/erp_posting.md, "Delivery"). Pre-validation rejections at publish are rows of
# held_journals (reason_code = the rule); at delivery, attempts with outcome 'stopped'.
DELIVERY_DDL = f"""
create table if not exists {LEDGER_SCHEMA}.erp_references (
    target varchar not null,
    journal_id varchar not null,             -- careledger's exported journal id
    erp_reference varchar not null,          -- what the ERP stores for it (SAP DocumentReferenceID, 16 chars)
    primary key (target, journal_id),
    unique (target, erp_reference)
);

create table if not exists {LEDGER_SCHEMA}.delivery_attempts (
    target varchar not null,
    journal_id varchar not null,
    idempotency_key varchar not null,
    run_id varchar not null,                 -- one `deliver erp` run
    attempt integer not null,                -- 1, 2, ... per journal within the run
    endpoint varchar not null,               -- scheme://host/path, never credentials or query
    started_at timestamp not null,
    finished_at timestamp not null,
    outcome varchar not null,                -- accepted | rejected | retry | in_doubt | failed | stopped | dry_run
    http_status integer,
    erp_document_id varchar,                 -- the ERP's document id on acceptance
    message varchar                          -- the ERP's rejection text or the transport error
);
"""


class PostingError(RuntimeError):
    """A journal cannot be posted as it stands; the message names the journal and what to do."""


class UnbalancedJournalError(PostingError):
    """A journal whose debits and credits differ (to the cent)."""


class PeriodError(PostingError):
    """A date with no accounting period, or no open period to post into."""


# ---------------------------------------------------------------------------- data shapes


@dataclass(frozen=True)
class JournalLine:
    """One GL line, PHI-free: segments, one-sided amount and source references."""

    line_number: int
    account_id: str
    cost_center_id: str | None
    service_line_code: str | None
    debit_amount: Decimal
    credit_amount: Decimal
    description: str | None
    source_record_count: int | None
    source_first_id: str | None
    source_last_id: str | None
    source_id_set_hash: str | None
    correlation_id: str | None

    def content_key(self) -> tuple[str, ...]:
        """What the line posts: segments, amounts, source references. Not its number, not
        the run that produced it, not its wording (a reworded description is no reason to
        reverse a posted journal)."""
        return (
            self.account_id,
            self.cost_center_id or "",
            self.service_line_code or "",
            f"{self.debit_amount:.2f}",
            f"{self.credit_amount:.2f}",
            "" if self.source_record_count is None else str(self.source_record_count),
            self.source_first_id or "",
            self.source_last_id or "",
            self.source_id_set_hash or "",
        )

    def reversed(self) -> JournalLine:
        return replace(self, debit_amount=self.credit_amount, credit_amount=self.debit_amount)


@dataclass(frozen=True)
class SourceJournal:
    """One journal as the mart has it now: legal entity x facility x posting date x source."""

    journal_key: str
    journal_source: str
    legal_entity_id: str
    ledger_name: str | None
    facility_id: str
    posting_date: date
    period_id: str | None
    currency_code: str
    source_journal_id: str | None
    source_idempotency_key: str | None
    correlation_id: str | None
    lines: tuple[JournalLine, ...]
    content_hash: str

    @property
    def label(self) -> str:
        return f"{self.journal_source} {self.legal_entity_id}/{self.facility_id} {self.posting_date.isoformat()}"


@dataclass(frozen=True)
class PostingJournal:
    """A journal to export: an original posting, a reversal, or a replacement."""

    target: str
    journal_key: str
    posting_seq: int
    journal_id: str
    idempotency_key: str
    posting_type: str
    journal_source: str
    legal_entity_id: str
    ledger_name: str | None
    facility_id: str
    posting_date: date
    accounting_date: date
    period_id: str
    source_period_id: str | None
    currency_code: str
    source_journal_id: str | None
    source_idempotency_key: str | None
    correlation_id: str | None
    original_journal_id: str | None
    reverses_journal_id: str | None
    content_hash: str
    source_content_hash: str
    lines: tuple[JournalLine, ...]

    @property
    def debit_total(self) -> Decimal:
        return sum((ln.debit_amount for ln in self.lines), ZERO)

    @property
    def credit_total(self) -> Decimal:
        return sum((ln.credit_amount for ln in self.lines), ZERO)

    @property
    def description(self) -> str:
        base = f"{self.journal_source} {self.legal_entity_id}/{self.facility_id} {self.posting_date.isoformat()}"
        if self.posting_type == "reversal":
            return f"Reversal of {self.reverses_journal_id}: {base}"
        if self.posting_type == "replacement":
            return f"Replaces {self.original_journal_id}: {base}"
        return base


@dataclass(frozen=True)
class LedgerEntry:
    """A row of ``publish.posting_ledger`` with its exported lines."""

    target: str
    journal_key: str
    posting_seq: int
    journal_id: str
    posting_type: str
    status: str
    content_hash: str
    source_content_hash: str
    journal_source: str
    legal_entity_id: str
    facility_id: str
    posting_date: date
    accounting_date: date
    period_id: str
    currency_code: str
    ledger_name: str | None = None
    source_journal_id: str | None = None
    source_idempotency_key: str | None = None
    correlation_id: str | None = None
    lines: tuple[JournalLine, ...] = ()


@dataclass(frozen=True)
class AccountingPeriod:
    period_id: str
    start_date: date
    end_date: date
    status: str

    @property
    def is_open(self) -> bool:
        return self.status == "open"


@dataclass
class PeriodCalendar:
    """The ERP's accounting periods (``core.dim_accounting_period``), ordered by start date."""

    periods: list[AccountingPeriod] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.periods = sorted(self.periods, key=lambda p: (p.start_date, p.period_id))
        self._by_id = {p.period_id: p for p in self.periods}

    def by_id(self, period_id: str) -> AccountingPeriod | None:
        return self._by_id.get(period_id)

    def period_for(self, day: date) -> AccountingPeriod | None:
        for p in self.periods:
            if p.start_date <= day <= p.end_date:
                return p
        return None

    def next_open_after(self, period: AccountingPeriod) -> AccountingPeriod | None:
        for p in self.periods:
            if p.start_date > period.end_date and p.is_open:
                return p
        return None

    def placement(self, day: date, what: str) -> tuple[date, AccountingPeriod]:
        """Where a journal dated ``day`` may be posted: its own period if open, else the
        first day of the next open period. Raises :class:`PeriodError` naming ``what``."""
        period = self.period_for(day)
        if period is None:
            raise PeriodError(
                f"{what}: no accounting period covers {day.isoformat()}; "
                "load the ERP's accounting_periods.csv for that date and rebuild."
            )
        return self.placement_in(period, day, what)

    def placement_in(self, period: AccountingPeriod, day: date, what: str) -> tuple[date, AccountingPeriod]:
        if period.is_open:
            return day, period
        nxt = self.next_open_after(period)
        if nxt is None:
            raise PeriodError(
                f"{what}: period {period.period_id} is closed and no later period is open; "
                "open the next period in the ERP (accounting_periods.csv) and rebuild."
            )
        log.info("%s: period %s is closed; posting in %s", what, period.period_id, nxt.period_id)
        return nxt.start_date, nxt


# ---------------------------------------------------------------------------- hashing, ids


def journal_key_for(legal_entity_id: str, facility_id: str, posting_date: date, journal_source: str) -> str:
    """The journal's identity: stable across re-runs and content changes."""
    raw = f"{legal_entity_id}|{facility_id}|{posting_date.isoformat()}|{journal_source}"
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:24]


def content_hash_for(header: Sequence[str], lines: Iterable[JournalLine]) -> str:
    """sha256 of the canonical content: header fields + lines sorted by what they say."""
    payload = {"header": list(header), "lines": sorted(list(ln.content_key()) for ln in lines)}
    blob = json.dumps(payload, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def export_journal_id(journal_key: str, posting_seq: int) -> str:
    return f"CL-{journal_key[:12].upper()}-{posting_seq:03d}"


def export_idempotency_key(journal_key: str, posting_seq: int, posting_type: str, content_hash: str) -> str:
    raw = f"{journal_key}|{posting_seq}|{posting_type}|{content_hash}"
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:32]


# ---------------------------------------------------------------------------- reading


def ensure_ledger(con: duckdb.DuckDBPyConnection) -> None:
    """Create the ``publish`` schema and ledger tables if missing."""
    con.execute(LEDGER_DDL)
    con.execute(DELIVERY_DDL)


def _money(value: object) -> Decimal:
    if value is None:
        return ZERO
    if isinstance(value, Decimal):
        return value.quantize(CENT)
    if isinstance(value, float):  # never expected (the mart is DECIMAL(18,2)); refuse silently-rounded floats
        raise PostingError(f"amount {value!r} arrived as a float; the mart must carry decimal(18, 2)")
    return Decimal(str(value)).quantize(CENT)


def normalize_line(line: JournalLine) -> JournalLine | None:
    """Net a line to one non-negative side (a negative debit is a credit); drop zero lines."""
    net = line.debit_amount - line.credit_amount
    if net == 0:
        return None
    debit, credit = (net, ZERO) if net > 0 else (ZERO, -net)
    if debit == line.debit_amount and credit == line.credit_amount:
        return line
    return replace(line, debit_amount=debit, credit_amount=credit)


def _check_phi_free(label: str, line: JournalLine) -> None:
    for value in (line.source_first_id, line.source_last_id, line.description):
        if value and any(p.match(value) for p in _PHI_VALUE_PATTERNS):
            raise PostingError(
                f"journal {label} line {line.line_number}: source reference {value!r} looks like a "
                "patient identifier (PCN/MRN); postings carry claim ids or 835 trace numbers only. "
                "Fix mart_erp_journal_lines."
            )


def _set_hash(values: Iterable[str | None]) -> str | None:
    present = sorted({v for v in values if v})
    if not present:
        return None
    return hashlib.sha256("|".join(present).encode("utf-8")).hexdigest()[:32]


def load_source_journals(
    con: duckdb.DuckDBPyConnection,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    relation: str = JOURNAL_LINES_RELATION,
) -> list[SourceJournal]:
    """Read the mart's journal lines in [date_from, date_to] and group them into journals.

    Lines are netted to one side and zero lines dropped; every journal is checked to
    balance to the cent before anything is planned (raises :class:`UnbalancedJournalError`).
    """
    where, params = [], []
    if date_from is not None:
        where.append("posting_date >= ?")
        params.append(date_from)
    if date_to is not None:
        where.append("posting_date <= ?")
        params.append(date_to)
    sql = f"""
        select
            cast(journal_source as varchar), cast(legal_entity_id as varchar),
            cast(ledger_name as varchar), cast(facility_id as varchar),
            cast(posting_date as date), cast(period_id as varchar), cast(currency_code as varchar),
            cast(journal_id as varchar), cast(idempotency_key as varchar),
            cast(line_number as integer), cast(account_id as varchar),
            cast(cost_center_id as varchar), cast(service_line_code as varchar),
            cast(debit_amount as decimal(18, 2)), cast(credit_amount as decimal(18, 2)),
            cast(description as varchar), cast(source_record_count as bigint),
            cast(source_first_id as varchar), cast(source_last_id as varchar),
            cast(source_id_set_hash as varchar), cast(correlation_id as varchar)
        from {relation}
        {"where " + " and ".join(where) if where else ""}
        order by legal_entity_id, facility_id, posting_date, journal_source, line_number, account_id
    """
    rows = con.execute(sql, params).fetchall()
    groups: dict[tuple[str, str, date, str], list[tuple]] = {}
    for row in rows:
        groups.setdefault((row[1], row[3], row[4], row[0]), []).append(row)

    journals: list[SourceJournal] = []
    for (legal_entity_id, facility_id, posting_date, journal_source), grp in groups.items():
        first = grp[0]
        label = f"{journal_source} {legal_entity_id}/{facility_id} {posting_date}"
        if not legal_entity_id or not facility_id or not journal_source or posting_date is None:
            raise PostingError(
                f"journal {label}: legal_entity_id, facility_id, posting_date and journal_source are required"
            )
        currencies = {r[6] for r in grp}
        if len(currencies) != 1 or None in currencies:
            raise PostingError(
                f"journal {label}: lines must share one currency_code, found {sorted(map(str, currencies))}"
            )
        raw_lines = [_line_from_row((int(r[9]) if r[9] is not None else i + 1, *r[10:21])) for i, r in enumerate(grp)]
        for ln in raw_lines:
            if not ln.account_id:
                raise PostingError(f"journal {label} line {ln.line_number}: account_id is empty")
            _check_phi_free(label, ln)
        debit = sum((ln.debit_amount for ln in raw_lines), ZERO)
        credit = sum((ln.credit_amount for ln in raw_lines), ZERO)
        if debit != credit:
            raise UnbalancedJournalError(
                f"journal {label} (mart journal_id {first[7]}) does not balance: "
                f"debits {debit:.2f} != credits {credit:.2f}; fix mart_erp_journal_lines before posting."
            )
        kept = [n for n in (normalize_line(ln) for ln in raw_lines) if n is not None]
        lines = tuple(
            replace(ln, line_number=i)  # renumber 1..n after dropping zero lines
            for i, ln in enumerate(kept, start=1)
        )
        ledger_name = first[2]
        header = (journal_source, legal_entity_id, facility_id, posting_date.isoformat(), first[6])
        correlation_ids = sorted({ln.correlation_id for ln in raw_lines if ln.correlation_id})
        journals.append(
            SourceJournal(
                journal_key=journal_key_for(legal_entity_id, facility_id, posting_date, journal_source),
                journal_source=journal_source,
                legal_entity_id=legal_entity_id,
                ledger_name=ledger_name,
                facility_id=facility_id,
                posting_date=posting_date,
                period_id=first[5],
                currency_code=first[6],
                source_journal_id=first[7],
                # the mart keys each line; the journal carries the hash of that key set
                source_idempotency_key=_set_hash(r[8] for r in grp),
                correlation_id=correlation_ids[0] if len(correlation_ids) == 1 else _set_hash(correlation_ids),
                lines=lines,
                content_hash=content_hash_for(header, lines),
            )
        )
    journals.sort(key=lambda j: (j.posting_date, j.legal_entity_id, j.facility_id, j.journal_source))
    return journals


def load_period_calendar(con: duckdb.DuckDBPyConnection, relation: str = PERIODS_RELATION) -> PeriodCalendar:
    rows = con.execute(
        f"""
        select cast(period_id as varchar), cast(period_start_date as date),
               cast(period_end_date as date), lower(trim(cast(status as varchar)))
        from {relation}
        where period_id is not null and period_start_date is not null and period_end_date is not null
        """
    ).fetchall()
    return PeriodCalendar([AccountingPeriod(r[0], r[1], r[2], r[3]) for r in rows])


def _line_from_row(r: tuple) -> JournalLine:
    return JournalLine(
        line_number=r[0],
        account_id=r[1],
        cost_center_id=r[2],
        service_line_code=r[3],
        debit_amount=_money(r[4]),
        credit_amount=_money(r[5]),
        description=r[6],
        source_record_count=r[7],
        source_first_id=r[8],
        source_last_id=r[9],
        source_id_set_hash=r[10],
        correlation_id=r[11],
    )


def load_ledger(
    con: duckdb.DuckDBPyConnection,
    target: str,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
) -> tuple[dict[str, LedgerEntry], dict[str, int]]:
    """The active postings (original or replacement still ``posted``) per journal key, with
    their lines, plus the highest posting_seq per journal key for ``target``."""
    max_seq = dict(
        con.execute(
            f"select journal_key, max(posting_seq) from {LEDGER_SCHEMA}.posting_ledger where target = ? group by 1",
            [target],
        ).fetchall()
    )
    where, params = ["l.target = ?", "l.status = 'posted'", "l.posting_type in ('original', 'replacement')"], [target]
    if date_from is not None:
        where.append("l.posting_date >= ?")
        params.append(date_from)
    if date_to is not None:
        where.append("l.posting_date <= ?")
        params.append(date_to)
    entries = con.execute(
        f"""
        select l.target, l.journal_key, l.posting_seq, l.journal_id, l.posting_type, l.status,
               l.content_hash, l.source_content_hash, l.journal_source, l.legal_entity_id,
               l.facility_id, l.posting_date, l.accounting_date, l.period_id, l.currency_code,
               l.source_journal_id, l.source_idempotency_key, l.ledger_name, l.correlation_id
        from {LEDGER_SCHEMA}.posting_ledger l
        where {" and ".join(where)}
        order by l.journal_key, l.posting_seq
        """,
        params,
    ).fetchall()
    if not entries:
        return {}, max_seq
    ids = [e[3] for e in entries]
    line_rows = con.execute(
        f"""
        select journal_id, line_number, account_id, cost_center_id, service_line_code,
               debit_amount, credit_amount, description, source_record_count,
               source_first_id, source_last_id, source_id_set_hash, correlation_id
        from {LEDGER_SCHEMA}.posting_ledger_lines
        where target = ? and list_contains(?, journal_id)
        order by journal_id, line_number
        """,
        [target, ids],
    ).fetchall()
    lines_by_journal: dict[str, list[JournalLine]] = {}
    for r in line_rows:
        lines_by_journal.setdefault(r[0], []).append(_line_from_row(r[1:]))
    active: dict[str, LedgerEntry] = {}
    for e in entries:
        if e[1] in active:
            raise PostingError(
                f"posting ledger for {target} has two active postings for journal key {e[1]} "
                f"({active[e[1]].journal_id}, {e[3]}); the ledger was edited by hand — repair it first."
            )
        active[e[1]] = LedgerEntry(
            target=e[0],
            journal_key=e[1],
            posting_seq=e[2],
            journal_id=e[3],
            posting_type=e[4],
            status=e[5],
            content_hash=e[6],
            source_content_hash=e[7],
            journal_source=e[8],
            legal_entity_id=e[9],
            facility_id=e[10],
            posting_date=e[11],
            accounting_date=e[12],
            period_id=e[13],
            currency_code=e[14],
            source_journal_id=e[15],
            source_idempotency_key=e[16],
            ledger_name=e[17],
            correlation_id=e[18],
            lines=tuple(lines_by_journal.get(e[3], ())),
        )
    return active, max_seq


# ---------------------------------------------------------------------------- planning


def split_postable(journals: Sequence[SourceJournal]) -> tuple[list[SourceJournal], list[SourceJournal]]:
    """(postable, held). A journal on the ``UNMAPPED`` legal entity, facility or GL account
    cannot be imported by any ERP: it is held back (not exported, not recorded) and posts on
    the first run after the mapping exists. The reconciliation mart reports it meanwhile."""
    postable, held = [], []
    for j in journals:
        unmapped = UNMAPPED in (j.legal_entity_id, j.facility_id) or any(ln.account_id == UNMAPPED for ln in j.lines)
        (held if unmapped else postable).append(j)
    if held:
        log.warning(
            "%d journal(s) held back: legal entity, facility or account is UNMAPPED (e.g. %s); "
            "add the mapping (erp/crosswalks.csv, seeds) and rebuild, they post on the next run",
            len(held),
            ", ".join(j.label for j in held[:3]),
        )
    return postable, held


@dataclass(frozen=True)
class HeldJournal:
    """A journal this run does not post, and why (one exception row in ``publish.held_journals``)."""

    journal: SourceJournal
    reason_code: str
    message: str


def split_placeable(
    journals: Sequence[SourceJournal], calendar: PeriodCalendar
) -> tuple[list[SourceJournal], list[HeldJournal]]:
    """(placeable, held). A journal no accounting period can take (no period covers its date, or
    its period is closed and no later one is open) is held back with its message; the others
    post. One bad journal never stops the rest."""
    placeable: list[SourceJournal] = []
    held: list[HeldJournal] = []
    for j in journals:
        if j.lines:
            try:
                calendar.placement(j.posting_date, f"journal {j.label}")
            except PeriodError as exc:
                held.append(HeldJournal(j, "NO_ACCOUNTING_PERIOD", str(exc)))
                continue
        placeable.append(j)
    for h in held[:5]:
        log.warning("held back: %s", h.message)
    if len(held) > 5:
        log.warning("... and %d more journal(s) held back for want of an accounting period", len(held) - 5)
    return placeable, held


def record_held(
    con: duckdb.DuckDBPyConnection,
    target: str,
    held: Sequence[HeldJournal],
    *,
    date_from: date | None = None,
    date_to: date | None = None,
) -> None:
    """Rewrite ``publish.held_journals`` for ``target`` over the dates this run read."""
    where = "target = ?"
    params: list[object] = [target]
    if date_from is not None:
        where += " and posting_date >= ?"
        params.append(date_from)
    if date_to is not None:
        where += " and posting_date <= ?"
        params.append(date_to)
    con.execute(f"delete from {LEDGER_SCHEMA}.held_journals where {where}", params)
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = []
    for h in held:
        j = h.journal
        debit = sum((ln.debit_amount for ln in j.lines), Decimal("0"))
        credit = sum((ln.credit_amount for ln in j.lines), Decimal("0"))
        rows.append(
            (
                target,
                j.journal_key,
                j.label,
                j.journal_source,
                j.legal_entity_id,
                j.facility_id,
                j.posting_date,
                h.reason_code,
                h.message,
                len(j.lines),
                debit,
                credit,
                now,
            )
        )
    if rows:
        con.executemany(f"insert or replace into {LEDGER_SCHEMA}.held_journals values ({', '.join('?' * 13)})", rows)


def unmapped_held(journals: Sequence[SourceJournal]) -> list[HeldJournal]:
    """The exception rows of the journals :func:`split_postable` holds back."""
    return [
        HeldJournal(
            j,
            "UNMAPPED",
            f"journal {j.label}: legal entity, facility or account is UNMAPPED; add the mapping "
            "(erp/crosswalks.csv, seeds) and rebuild, it posts on the next run",
        )
        for j in journals
    ]


def _posting(
    target: str,
    *,
    journal_key: str,
    seq: int,
    posting_type: str,
    src: SourceJournal | None,
    entry: LedgerEntry | None,
    accounting_date: date,
    period: AccountingPeriod,
    lines: tuple[JournalLine, ...],
    original_journal_id: str | None,
    reverses_journal_id: str | None,
) -> PostingJournal:
    base = src if src is not None else entry
    assert base is not None
    header = (
        posting_type,
        base.journal_source,
        base.legal_entity_id,
        base.facility_id,
        base.posting_date.isoformat(),
        accounting_date.isoformat(),
        period.period_id,
        base.currency_code,
    )
    content_hash = content_hash_for(header, lines)
    return PostingJournal(
        target=target,
        journal_key=journal_key,
        posting_seq=seq,
        journal_id=export_journal_id(journal_key, seq),
        idempotency_key=export_idempotency_key(journal_key, seq, posting_type, content_hash),
        posting_type=posting_type,
        journal_source=base.journal_source,
        legal_entity_id=base.legal_entity_id,
        ledger_name=(src.ledger_name if src is not None else entry.ledger_name if entry else None),
        facility_id=base.facility_id,
        posting_date=base.posting_date,
        accounting_date=accounting_date,
        period_id=period.period_id,
        source_period_id=(src.period_id if src is not None else None),
        currency_code=base.currency_code,
        source_journal_id=base.source_journal_id,
        source_idempotency_key=base.source_idempotency_key,
        correlation_id=(src.correlation_id if src is not None else entry.correlation_id if entry else None),
        original_journal_id=original_journal_id,
        reverses_journal_id=reverses_journal_id,
        content_hash=content_hash,
        source_content_hash=(src.content_hash if src is not None else entry.source_content_hash if entry else ""),
        lines=lines,
    )


def plan_postings(
    target: str,
    journals: Sequence[SourceJournal],
    active: dict[str, LedgerEntry],
    max_seq: dict[str, int],
    calendar: PeriodCalendar,
    *,
    held_keys: frozenset[str] = frozenset(),
) -> list[PostingJournal]:
    """Decide what to export for ``target``. Pure: no I/O.

    - a journal not yet posted -> ``original``, in its period if open, else the next open one;
    - posted with the same content -> nothing;
    - posted with different content -> ``reversal`` of what was posted (dated in the posted
      period if still open, else the next open period) + ``replacement`` with the new content;
    - posted but gone from the mart (within the requested dates) -> ``reversal`` only.
    A journal with no non-zero line is never posted (and reverses an earlier posting).
    A journal in ``held_keys`` (see :func:`split_postable`) is left as posted.
    """
    planned: list[PostingJournal] = []
    current = {j.journal_key: j for j in journals}

    def reversal_of(entry: LedgerEntry, seq: int) -> PostingJournal:
        posted_period = calendar.by_id(entry.period_id)
        what = f"reversal of {entry.journal_id}"
        if posted_period is None:
            acct_date, period = calendar.placement(entry.accounting_date, what)
        else:
            acct_date, period = calendar.placement_in(posted_period, entry.accounting_date, what)
        return _posting(
            target,
            journal_key=entry.journal_key,
            seq=seq,
            posting_type="reversal",
            src=None,
            entry=entry,
            accounting_date=acct_date,
            period=period,
            lines=tuple(ln.reversed() for ln in entry.lines),
            original_journal_id=entry.journal_id,
            reverses_journal_id=entry.journal_id,
        )

    for src in journals:
        entry = active.get(src.journal_key)
        seq = max_seq.get(src.journal_key, 0)
        if entry is not None and entry.source_content_hash == src.content_hash:
            continue  # exactly-once: already exported as it stands
        if entry is None and not src.lines:
            continue  # nothing to post, nothing posted
        if entry is not None:
            seq += 1
            planned.append(reversal_of(entry, seq))
        if src.lines:
            seq += 1
            acct_date, period = calendar.placement(src.posting_date, f"journal {src.label}")
            planned.append(
                _posting(
                    target,
                    journal_key=src.journal_key,
                    seq=seq,
                    posting_type="original" if entry is None else "replacement",
                    src=src,
                    entry=entry,
                    accounting_date=acct_date,
                    period=period,
                    lines=src.lines,
                    original_journal_id=None if entry is None else entry.journal_id,
                    reverses_journal_id=None,
                )
            )

    for key, entry in sorted(active.items()):
        if key not in current and key not in held_keys:
            log.info("journal %s is no longer in the mart; reversing it", entry.journal_id)
            planned.append(reversal_of(entry, max_seq.get(key, entry.posting_seq) + 1))

    planned.sort(key=lambda p: (p.accounting_date, p.legal_entity_id, p.facility_id, p.journal_source, p.posting_seq))
    for p in planned:
        if p.debit_total != p.credit_total:  # defensive: reversals/replacements of balanced journals balance
            raise UnbalancedJournalError(
                f"journal {p.journal_id} does not balance: {p.debit_total} != {p.credit_total}"
            )
    return planned


# ---------------------------------------------------------------------------- recording


_ARROW_TYPES = {
    "posting_seq": pa.int32(),
    "line_count": pa.int32(),
    "line_number": pa.int32(),
    "source_record_count": pa.int64(),
    "posting_date": pa.date32(),
    "accounting_date": pa.date32(),
    "debit_total": pa.decimal128(18, 2),
    "credit_total": pa.decimal128(18, 2),
    "debit_amount": pa.decimal128(18, 2),
    "credit_amount": pa.decimal128(18, 2),
    "posted_at": pa.timestamp("us"),
}


def _bulk_insert(con: duckdb.DuckDBPyConnection, table: str, columns: Sequence[str], rows: Sequence[tuple]) -> None:
    """Insert many rows at once through Arrow (typed, exact decimals) rather than row by row."""
    data = pa.table(
        {c: pa.array([r[i] for r in rows], type=_ARROW_TYPES.get(c, pa.string())) for i, c in enumerate(columns)}
    )
    con.register("_careledger_rows", data)
    try:
        con.execute(f"insert into {table} ({', '.join(columns)}) select {', '.join(columns)} from _careledger_rows")
    finally:
        con.unregister("_careledger_rows")


def record_postings(
    con: duckdb.DuckDBPyConnection,
    postings: Sequence[PostingJournal],
    file_names: dict[str, str],
    *,
    posted_at: datetime | None = None,
    status: str = "posted",
) -> int:
    """Append the journals (and their lines) to the ledger, in one transaction. With
    ``status="posted"`` the postings they reverse are marked ``reversed`` in the same
    transaction; with ``status="pending"`` (phase 1 of a two-phase posting) that waits for
    :func:`finish_pending`. ``file_names`` maps journal_id -> file name. Returns the number of
    ledger rows written."""
    if status not in ("pending", "posted"):
        raise ValueError(f"a new ledger row is pending or posted, not {status!r}")
    if not postings:
        return 0
    stamp = (posted_at or datetime.now(UTC)).replace(tzinfo=None)
    header_rows = [
        (
            p.target,
            p.journal_key,
            p.posting_seq,
            p.journal_id,
            p.idempotency_key,
            p.posting_type,
            status,
            p.reverses_journal_id,
            p.original_journal_id,
            p.content_hash,
            p.source_content_hash,
            p.journal_source,
            p.legal_entity_id,
            p.ledger_name,
            p.facility_id,
            p.posting_date,
            p.accounting_date,
            p.period_id,
            p.source_period_id,
            p.currency_code,
            p.source_journal_id,
            p.source_idempotency_key,
            p.correlation_id,
            len(p.lines),
            p.debit_total,
            p.credit_total,
            file_names[p.journal_id],
            stamp,
        )
        for p in postings
    ]
    line_rows = [
        (
            p.target,
            p.journal_id,
            ln.line_number,
            ln.account_id,
            ln.cost_center_id,
            ln.service_line_code,
            ln.debit_amount,
            ln.credit_amount,
            ln.description,
            ln.source_record_count,
            ln.source_first_id,
            ln.source_last_id,
            ln.source_id_set_hash,
            ln.correlation_id,
        )
        for p in postings
        for ln in p.lines
    ]
    reversed_ids = [p.reverses_journal_id for p in postings if p.reverses_journal_id] if status == "posted" else []
    con.execute("begin transaction")
    try:
        _bulk_insert(con, f"{LEDGER_SCHEMA}.posting_ledger", LEDGER_COLUMNS, header_rows)
        if line_rows:
            _bulk_insert(con, f"{LEDGER_SCHEMA}.posting_ledger_lines", LEDGER_LINE_COLUMNS, line_rows)
        if reversed_ids:
            con.execute(
                f"update {LEDGER_SCHEMA}.posting_ledger set status = 'reversed' "
                "where target = ? and list_contains(?, journal_id)",
                [postings[0].target, reversed_ids],
            )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return len(header_rows)


def pending_files(con: duckdb.DuckDBPyConnection, target: str) -> dict[str, list[str]]:
    """file name -> journal ids of the ``pending`` ledger rows of ``target`` (a posting that
    stopped between recording its journals and putting their file in place)."""
    out: dict[str, list[str]] = {}
    for file_name, journal_id in con.execute(
        f"select file_name, journal_id from {LEDGER_SCHEMA}.posting_ledger "
        "where target = ? and status = 'pending' order by file_name, journal_id",
        [target],
    ).fetchall():
        out.setdefault(file_name, []).append(journal_id)
    return out


def finish_pending(con: duckdb.DuckDBPyConnection, target: str, journal_ids: Sequence[str]) -> int:
    """Phase 2: the file of these pending journals is in place; mark them ``posted`` and the
    postings they reverse ``reversed``, in one transaction. Returns the rows finished."""
    if not journal_ids:
        return 0
    ids = list(journal_ids)
    con.execute("begin transaction")
    try:
        reversed_ids = [
            r[0]
            for r in con.execute(
                f"select reverses_journal_id from {LEDGER_SCHEMA}.posting_ledger where target = ? "
                "and status = 'pending' and reverses_journal_id is not null and list_contains(?, journal_id)",
                [target, ids],
            ).fetchall()
        ]
        if reversed_ids:
            con.execute(
                f"update {LEDGER_SCHEMA}.posting_ledger set status = 'reversed' "
                "where target = ? and list_contains(?, journal_id)",
                [target, reversed_ids],
            )
        finished = con.execute(
            f"update {LEDGER_SCHEMA}.posting_ledger set status = 'posted' "
            "where target = ? and status = 'pending' and list_contains(?, journal_id)",
            [target, ids],
        ).fetchone()[0]
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return int(finished)


def roll_back_pending(con: duckdb.DuckDBPyConnection, target: str, journal_ids: Sequence[str]) -> int:
    """The file of these pending journals never reached its place: delete their ledger rows
    (and lines) so the next plan posts them again, with the same ids and the same bytes."""
    if not journal_ids:
        return 0
    ids = list(journal_ids)
    con.execute("begin transaction")
    try:
        con.execute(
            f"delete from {LEDGER_SCHEMA}.posting_ledger_lines where target = ? and list_contains(?, journal_id)",
            [target, ids],
        )
        removed = con.execute(
            f"delete from {LEDGER_SCHEMA}.posting_ledger "
            "where target = ? and status = 'pending' and list_contains(?, journal_id)",
            [target, ids],
        ).fetchone()[0]
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return int(removed)
