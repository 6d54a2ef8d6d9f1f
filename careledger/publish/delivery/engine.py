"""``deliver``: send what ``publish erp`` wrote to an ERP's API, exactly once per journal.

One loop for every target. A target's client (:mod:`careledger.publish.delivery.clients`)
turns the published files into *units* (one request to the ERP: one journal for the webhook,
NetSuite and SAP) and sends one unit, answering per journal ``accepted`` (with the ERP's
document id) or ``rejected`` (with the ERP's own text). This loop does the rest:

- reads from ``publish.posting_ledger`` what was published for the target and skips every
  journal already accepted or rejected by the ERP (a rerun sends nothing already accepted;
  a rejection waits for a corrected posting instead of a blind resend);
- pre-validates again at delivery time (the period still open in the ERP's calendar, the
  payload still balanced and equal to the ledger's totals); a journal that fails is recorded
  ``stopped`` with the reason and not sent, the rest go;
- retries a unit on 429/5xx/timeouts with the transport's back-off (a business rejection is
  never retried) and stops the run when the circuit breaker opens;
- records every try in ``publish.delivery_attempts`` (time, outcome, HTTP status, ERP
  document id or message). ``dry_run`` prints what would be sent, sends and records nothing.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Protocol

import duckdb
import httpx

from careledger.config import secret, secret_variable
from careledger.publish.posting import LEDGER_SCHEMA, PostingError, ensure_ledger, load_period_calendar
from careledger.publish.prevalidation import load_rules
from careledger.transport import CircuitOpenError, TransientError, Transport, safe_endpoint

log = logging.getLogger(__name__)


class DeliveryError(RuntimeError):
    """Delivery cannot start (no secret, no file, no calendar); one sentence saying what to do."""


def published_files(pending: list[Pending], folder: Path) -> list[tuple[str, str, list[Pending]]]:
    """The files ``publish erp`` wrote for ``pending``, each once: (file name, its text, its
    journals), in the order the journals come; a file the ledger names that is gone stops."""
    by_file: dict[str, list[Pending]] = {}
    for p in pending:
        by_file.setdefault(p.file_name, []).append(p)
    out = []
    for name, journals in by_file.items():
        path = folder / name
        if not path.exists():
            raise DeliveryError(f"{path} (named by the posting ledger) is missing; publish it again first")
        out.append((name, path.read_text(encoding="utf-8"), journals))
    return out


def basic_auth(erp: str, *, dry_run: bool, who: str):
    """HTTP basic auth from the secrets ``<erp>_user`` / ``<erp>_password``; a real run without
    them stops in one sentence naming the variables and ``who`` the user must be."""
    user, password = secret(f"{erp}_user"), secret(f"{erp}_password")
    if not dry_run and not (user and password):
        raise DeliveryError(
            f"set {secret_variable(f'{erp}_user')} and {secret_variable(f'{erp}_password')} "
            f"(or the _FILE variants): {who}"
        )
    return httpx.BasicAuth(user, password) if user and password else None


@dataclass(frozen=True)
class Pending:
    """A published journal the ERP has not answered yet (from the posting ledger)."""

    journal_id: str
    idempotency_key: str
    file_name: str
    legal_entity_id: str
    accounting_date: date
    debit_total: Decimal
    credit_total: Decimal
    last_outcome: str | None = None  # of the latest attempt, if any
    resume_id: str | None = None  # the ERP's id of a submission not yet answered (Oracle ESS request)


@dataclass
class Unit:
    """One request to the ERP carrying ``journals``; ``totals`` = (debits, credits) per journal
    as the payload states them; ``body`` is what is sent, ``describe`` what dry-run prints."""

    journals: list[Pending]
    body: bytes
    totals: dict[str, tuple[Decimal, Decimal]]
    describe: str
    extra: dict = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)  # journal id -> what the payload breaks


@dataclass(frozen=True)
class Answer:
    outcome: str  # accepted | rejected
    http_status: int | None
    erp_document_id: str | None = None
    message: str | None = None


class Client(Protocol):
    """``resend_is_idempotent``: False where the ERP cannot recognise a resend (Oracle's
    importBulkData): an upload left in doubt is then not sent again until an operator checked
    the ERP and asked for it (``resend_in_doubt``)."""

    target: str
    resend_is_idempotent: bool

    def units(self, pending: list[Pending], exports_dir: Path) -> list[Unit]: ...

    def send(self, unit: Unit, transport: Transport) -> dict[str, Answer]: ...


@dataclass
class DeliveryResult:
    target: str
    accepted: list[str] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)
    stopped: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    already_accepted: int = 0
    circuit_open: bool = False
    dry_run: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if self.dry_run:
            return f"{self.target}: dry run, {len(self.dry_run)} requests would be sent, nothing sent"
        text = (
            f"{self.target}: {len(self.accepted)} accepted, {len(self.rejected)} rejected, "
            f"{len(self.stopped)} stopped by pre-validation, {len(self.failed)} not delivered, "
            f"{self.already_accepted} already accepted before"
        )
        return text + ("; circuit open, the rest waits for the next run" if self.circuit_open else "")


AUTH_REFUSED = frozenset({401, 403})


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _has_attempts_table(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = 'delivery_attempts'",
            [LEDGER_SCHEMA],
        ).fetchone()[0]
    )


def load_pending(con: duckdb.DuckDBPyConnection, target: str) -> tuple[list[Pending], int]:
    """(journals to send, how many the ERP already answered) for ``target``."""
    attempts = (
        f"select target, journal_id, outcome, erp_document_id, started_at, attempt from {LEDGER_SCHEMA}.delivery_attempts"
        if _has_attempts_table(con)  # a dry run before the first delivery: no attempts yet
        else "select null::varchar target, null::varchar journal_id, null::varchar outcome, "
        "null::varchar erp_document_id, null::timestamp started_at, null::integer attempt where false"
    )
    try:
        rows = con.execute(
            f"""
            with attempts as ({attempts}),
            latest as (
                select journal_id, outcome, erp_document_id
                from attempts where target = ?
                qualify row_number() over (partition by journal_id order by started_at desc, attempt desc) = 1
            ),
            answered as (
                select distinct journal_id from attempts
                where target = ? and outcome in ('accepted', 'rejected')
            )
            select l.journal_id, l.idempotency_key, l.file_name, l.legal_entity_id, l.accounting_date,
                l.debit_total, l.credit_total, latest.outcome, latest.erp_document_id,
                answered.journal_id is not null as is_answered
            from {LEDGER_SCHEMA}.posting_ledger l
            left join latest on latest.journal_id = l.journal_id
            left join answered on answered.journal_id = l.journal_id
            where l.target = ? and l.status <> 'pending'  -- a pending journal's file may not exist yet
            order by l.accounting_date, l.journal_id
            """,
            [target, target, target],
        ).fetchall()
    except duckdb.CatalogException as exc:
        raise DeliveryError(
            f"nothing was published yet ({LEDGER_SCHEMA}.posting_ledger is missing); run `careledger publish erp` first"
        ) from exc
    pending = [Pending(*r[:9]) for r in rows if not r[9]]
    return pending, sum(1 for r in rows if r[9])


def delivery_checks(con: duckdb.DuckDBPyConnection, target: str, units: list[Unit]) -> dict[str, str]:
    """Pre-validation at delivery time, journal id -> why it may not go now: the period still
    open in the ERP's calendar (EP01), the payload balanced and equal to the ledger's totals
    (EU02), every account still in the chart and open for posting (EF03), and what the client
    found in the payload itself (its ERP's schema)."""
    try:
        calendar = load_period_calendar(con)
        accounts = load_rules(con, calendar).accounts
    except (duckdb.CatalogException, PostingError) as exc:
        raise DeliveryError(
            f"cannot read the ERP's period calendar and chart of accounts to pre-validate ({exc}); "
            "build the marts first (`careledger refresh`)"
        ) from exc
    ids = [p.journal_id for u in units for p in u.journals]
    lines: dict[str, list[tuple[int, str]]] = {}
    if ids:
        for journal_id, line_number, account_id in con.execute(
            f"select journal_id, line_number, account_id from {LEDGER_SCHEMA}.posting_ledger_lines "
            "where target = ? and list_contains(?, journal_id) order by journal_id, line_number",
            [target, ids],
        ).fetchall():
            lines.setdefault(journal_id, []).append((line_number, account_id))
    stopped: dict[str, str] = {}
    for unit in units:
        for p in unit.journals:
            period = calendar.period_for(p.accounting_date)
            dr, cr = unit.totals.get(p.journal_id, (None, None))
            closed_accounts = [
                f"line {n}: account {a} "
                + ("is not in the ERP's chart of accounts" if a not in accounts else "does not allow posting")
                for n, a in lines.get(p.journal_id, [])
                if not accounts.get(a)
            ]
            if period is None or not period.is_open:
                state = "no period covers it" if period is None else f"period {period.period_id} is {period.status}"
                stopped[p.journal_id] = f"EP01: accounting date {p.accounting_date} cannot post now, {state} in the ERP"
            elif p.journal_id in unit.problems:
                stopped[p.journal_id] = unit.problems[p.journal_id]
            elif dr is None:
                stopped[p.journal_id] = f"missing: {p.file_name} does not hold journal {p.journal_id}; publish it again"
            elif dr != cr or dr != p.debit_total or cr != p.credit_total:
                stopped[p.journal_id] = (
                    f"EU02: the payload carries debits {dr:.2f} / credits {cr:.2f}, the ledger "
                    f"{p.debit_total:.2f} / {p.credit_total:.2f}; publish it again"
                )
            elif closed_accounts:
                stopped[p.journal_id] = "EF03: " + "; ".join(closed_accounts)
    return stopped


def deliver(
    warehouse: Path,
    client: Client,
    endpoint: str,
    exports_dir: Path,
    *,
    transport: Transport | None = None,
    dry_run: bool = False,
    resend_in_doubt: bool = False,
    echo: Callable[[str], None] = print,
) -> DeliveryResult:
    """Send every journal published for ``client.target`` that the ERP has not answered."""
    target = client.target
    result = DeliveryResult(target)
    folder = Path(exports_dir) / target
    con = duckdb.connect(str(warehouse), read_only=dry_run)
    try:
        if not dry_run:
            ensure_ledger(con)
        pending, result.already_accepted = load_pending(con, target)
        if not client.resend_is_idempotent and not resend_in_doubt:
            for p in pending:
                if p.last_outcome == "in_doubt" and p.resume_id is None:
                    result.failed[p.journal_id] = (
                        "held: an earlier upload may have reached the ERP; check it there, then rerun "
                        "with --resend-in-doubt if it did not arrive"
                    )
            pending = [p for p in pending if p.journal_id not in result.failed]
        units = client.units(pending, folder)
        stopped = delivery_checks(con, target, units)
        if stopped:  # the rest of a file still goes: cut the units again without them
            units = client.units([p for p in pending if p.journal_id not in stopped], folder)
        result.stopped = stopped
        if dry_run:
            for journal_id, reason in stopped.items():
                echo(f"would stop {journal_id}: {reason}")
            for unit in units:
                echo(unit.describe)
                result.dry_run.append(unit.describe)
            return result
        transport = transport or Transport()
        run_id = uuid.uuid4().hex[:12]
        for p in pending:
            if p.journal_id in stopped:
                _record(con, target, p, run_id, 0, endpoint, _now(), "stopped", None, None, stopped[p.journal_id])
                log.warning("%s: journal %s not sent, %s", target, p.journal_id, stopped[p.journal_id])
        for unit in units:
            if result.circuit_open:
                for p in unit.journals:
                    result.failed[p.journal_id] = "not sent: circuit open"
                continue
            _send(con, client, transport, endpoint, run_id, unit, result)
    finally:
        con.close()
    log.info(result.summary())
    return result


def _send(con, client: Client, transport: Transport, endpoint, run_id, unit: Unit, result: DeliveryResult) -> None:
    policy = transport.policy
    target = client.target

    def record(attempt, started, outcome, http_status, doc_id, message, only: str | None = None) -> None:
        for p in unit.journals:
            if only is None or p.journal_id == only:
                _record(con, target, p, run_id, attempt, endpoint, started, outcome, http_status, doc_id, message)

    for attempt in range(1, policy.max_attempts + 1):
        started = _now()
        try:
            answers = client.send(unit, transport)
        except CircuitOpenError as exc:
            result.circuit_open = True
            for p in unit.journals:
                result.failed[p.journal_id] = str(exc)
            return
        except DeliveryError as exc:  # the ERP refused our credentials: the run cannot go on
            record(attempt, started, "failed", None, None, str(exc))
            raise
        except TransientError as exc:
            last = attempt == policy.max_attempts or transport.breaker.is_open
            outcome = "failed" if last else ("in_doubt" if exc.in_doubt else "retry")
            unsafe = exc.in_doubt and exc.document_id is None and not client.resend_is_idempotent
            if unsafe:
                outcome, last = "in_doubt", True  # never resent blind: it may be in the ERP already
            if exc.document_id:
                unit.extra["resume_id"] = exc.document_id
            record(attempt, started, outcome, exc.http_status, exc.document_id, str(exc))
            if last:
                for p in unit.journals:
                    result.failed[p.journal_id] = str(exc)
                result.circuit_open = transport.breaker.is_open
                return
            transport.sleep(policy.delay(attempt, exc.retry_after, transport.rng))
            continue
        refused = next((a for a in answers.values() if a.http_status in AUTH_REFUSED), None)
        if refused is not None:
            message = (
                f"{safe_endpoint(endpoint)} refused careledger's credentials (HTTP {refused.http_status}); "
                "check the secrets named in docs/erp_posting.md and rerun"
            )
            record(attempt, started, "failed", refused.http_status, None, message)
            raise DeliveryError(message)
        for p in unit.journals:
            a = answers.get(p.journal_id) or Answer(
                "rejected", None, None, "the ERP's answer does not name this journal"
            )
            record(attempt, started, a.outcome, a.http_status, a.erp_document_id, a.message, only=p.journal_id)
            if a.outcome == "accepted":
                result.accepted.append(p.journal_id)
            else:
                result.rejected[p.journal_id] = a.message or ""
        return


def _record(con, target, p: Pending, run_id, attempt, endpoint, started, outcome, http_status, doc_id, message) -> None:
    con.execute(
        f"insert into {LEDGER_SCHEMA}.delivery_attempts values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            target,
            p.journal_id,
            p.idempotency_key,
            run_id,
            attempt,
            safe_endpoint(endpoint),
            started,
            _now(),
            outcome,
            http_status,
            doc_id,
            message,
        ],
    )


def deliver_erp(
    warehouse: Path,
    target: str,
    endpoint: str,
    exports_dir: Path,
    *,
    dry_run: bool = False,
    resend_in_doubt: bool = False,
    transport: Transport | None = None,
    echo: Callable[[str], None] = print,
    **client_options,
) -> DeliveryResult:
    """``careledger deliver erp``: the target's client from the registry, then :func:`deliver`.
    ``client_options`` go to the client (poll intervals, a clock) and are for tests."""
    from careledger.publish.erp.targets import target as erp_target

    try:
        client_class = erp_target(target).client_class()
    except ValueError as exc:
        raise DeliveryError(str(exc)) from exc
    if not Path(warehouse).exists():
        raise DeliveryError(f"no warehouse at {warehouse}; run `careledger demo` or `careledger refresh` first")
    client = client_class(endpoint, dry_run=dry_run, **client_options)
    return deliver(
        warehouse,
        client,
        endpoint,
        exports_dir,
        transport=transport,
        dry_run=dry_run,
        resend_in_doubt=resend_in_doubt,
        echo=echo,
    )
