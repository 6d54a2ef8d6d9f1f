"""``publish_erp``: mart journals -> posting plan -> ERP files -> posting ledger.

The one function the CLI (``careledger publish erp``) and the Dagster asset call. It opens
the warehouse read-write (the ledger lives in it), so call it only when no other writer
runs (the orchestration layer holds the warehouse lock).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb

from careledger.config import KILL_AT_VARIABLE, kill_if_asked
from careledger.publish.erp.base import ErpAdapter, ExportBatch, RenderedFile
from careledger.publish.erp.targets import make_adapter
from careledger.publish.posting import (
    JOURNAL_LINES_RELATION,
    PERIODS_RELATION,
    ZERO,
    HeldJournal,
    PostingError,
    ensure_ledger,
    finish_pending,
    load_ledger,
    load_period_calendar,
    load_source_journals,
    pending_files,
    plan_postings,
    record_held,
    record_postings,
    roll_back_pending,
    split_placeable,
    split_postable,
    unmapped_held,
)
from careledger.publish.prevalidation import Rejection, load_rules, prevalidate, record_exceptions

log = logging.getLogger(__name__)

#: kill tests set this to a point name (``after_pending``, ``after_file``, ``after_posted``):
#: the process SIGKILLs itself there, as a crash at that moment would
KILL_AT_ENV = KILL_AT_VARIABLE


def _hook(point: str) -> None:
    kill_if_asked("publish", point)


@dataclass
class PublishResult:
    """What one ``publish_erp`` run exported (all zero when nothing changed)."""

    target: str
    files: list[Path] = field(default_factory=list)
    journals: int = 0
    lines: int = 0
    debit_total: Decimal = ZERO
    credit_total: Decimal = ZERO
    new_ledger_rows: int = 0
    reversals: int = 0
    replacements: int = 0
    unchanged_journals: int = 0
    held_journals: int = 0  # not posted this run: UNMAPPED, or no accounting period takes it
    held: list[HeldJournal] = field(default_factory=list)  # their exception rows (publish.held_journals)
    rejections: list[Rejection] = field(default_factory=list)  # stopped by pre-validation (exception rows)

    def summary(self) -> str:
        held = (
            f"; {self.held_journals} held back (UNMAPPED legal entity/facility/account or no accounting period, "
            "see publish.held_journals)"
            if self.held_journals
            else ""
        )
        stopped = {r.journal.journal_id for r in self.rejections}
        if stopped:
            held += f"; {len(stopped)} of them stopped by pre-validation"
        if not self.files:
            return (
                f"{self.target}: nothing new to post ({self.unchanged_journals} journals already posted "
                f"as they stand{held})"
            )
        return (
            f"{self.target}: {len(self.files)} file(s), {self.journals} journals ({self.reversals} reversals, "
            f"{self.replacements} replacements), {self.lines} lines, debits {self.debit_total:.2f} = "
            f"credits {self.credit_total:.2f}, {self.new_ledger_rows} new ledger rows{held}"
        )


#: the temporary name a file is written under before it is renamed into place
TMP_SUFFIX = ".tmp"


def _write_atomic(path: Path, content: bytes) -> None:
    """Write to a temporary file in the same folder, fsync it, rename it into place and fsync
    the folder: the ERP (or a rerun) sees the whole file or none of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}{TMP_SUFFIX}")
    with open(tmp, "wb") as fh:
        fh.write(content)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _clean_temp_files(target_dir: Path) -> list[Path]:
    """Remove the temporary files a killed writer left (``.<name>.tmp``); never a finished file."""
    if not target_dir.is_dir():
        return []
    stray = sorted(p for p in target_dir.iterdir() if p.name.startswith(".") and p.name.endswith(TMP_SUFFIX))
    for p in stray:
        p.unlink(missing_ok=True)
        log.warning("removed %s, a partial file left by a posting that was stopped while writing it", p)
    return stray


def resolve_pending(con: duckdb.DuckDBPyConnection, target: str, target_dir: Path) -> tuple[int, int]:
    """Settle what a stopped posting left ``pending``: a file that is in place (renamed, so
    whole) is finished (``posted``); a file that never got there is rolled back, so this run
    plans those journals again with the same ids. Stray temporary files are removed first.
    Returns (journals finished, journals rolled back)."""
    _clean_temp_files(target_dir)
    finished = rolled_back = 0
    for file_name, journal_ids in pending_files(con, target).items():
        if (target_dir / file_name).is_file():
            finished += finish_pending(con, target, journal_ids)
            log.warning(
                "%s: finished the posting of %d journal(s) in %s, whose file was in place when the last run stopped",
                target,
                len(journal_ids),
                file_name,
            )
        else:
            rolled_back += roll_back_pending(con, target, journal_ids)
            log.warning(
                "%s: rolled back %d pending journal(s) of %s, whose file was never written; this run posts them again",
                target,
                len(journal_ids),
                file_name,
            )
    return finished, rolled_back


def record_references(con: duckdb.DuckDBPyConnection, target: str, references: dict[str, str]) -> None:
    """Keep journal id -> ERP reference (SAP DocumentReferenceID) beside the ledger; a reference
    already taken by another journal stops the run (it would post two journals as one)."""
    for journal_id, reference in sorted(references.items()):
        taken = con.execute(
            "select journal_id from publish.erp_references where target = ? and erp_reference = ?", [target, reference]
        ).fetchone()
        if taken and taken[0] != journal_id:
            raise PostingError(f"{target}: reference {reference} of {journal_id} already belongs to {taken[0]}")
        if not taken:
            con.execute("insert into publish.erp_references values (?, ?, ?)", [target, journal_id, reference])


def publish_erp(
    warehouse: Path,
    target: str,
    out_dir: Path,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    adapter: ErpAdapter | None = None,
    journal_relation: str = JOURNAL_LINES_RELATION,
    period_relation: str = PERIODS_RELATION,
) -> PublishResult:
    """Export what is new or changed in ``marts.mart_erp_journal_lines`` to ``out_dir/<target>/``.

    Exactly-once per (target, journal): an unchanged journal is not exported again; a changed
    one is reversed and replaced; a closed period is never posted into. Two-phase: the
    journals are recorded ``pending`` (idempotency key, file name) before their file is
    written, and ``posted`` once it is atomically in place; a run stopped in between is settled
    by the next one (:func:`resolve_pending`) without a second file for the same journals.
    """
    if date_from and date_to and date_from > date_to:
        raise ValueError(f"--from {date_from} is after --to {date_to}")
    adapter = adapter or make_adapter(target)
    if adapter.target != target:
        raise ValueError(f"adapter for {adapter.target!r} passed for target {target!r}")
    warehouse = Path(warehouse)
    if not warehouse.exists():
        raise FileNotFoundError(f"warehouse {warehouse} does not exist; run `careledger refresh` first")

    con = duckdb.connect(str(warehouse))
    target_dir = Path(out_dir) / target
    try:
        ensure_ledger(con)
        resolve_pending(con, target, target_dir)
        try:
            journals = load_source_journals(con, date_from=date_from, date_to=date_to, relation=journal_relation)
            calendar = load_period_calendar(con, relation=period_relation)
        except duckdb.CatalogException as exc:
            raise PostingError(
                f"cannot read {journal_relation} / {period_relation} in {warehouse}: {exc}. "
                "Build the marts first (`careledger refresh`)."
            ) from exc
        journals, held = split_postable(journals)
        journals, unplaceable = split_placeable(journals, calendar)
        exceptions = unmapped_held(held) + unplaceable
        record_held(con, target, exceptions, date_from=date_from, date_to=date_to)
        active, max_seq = load_ledger(con, target, date_from=date_from, date_to=date_to)
        planned = plan_postings(
            target,
            journals,
            active,
            max_seq,
            calendar,
            held_keys=frozenset(h.journal.journal_key for h in exceptions),
        )
        result = PublishResult(target=target, held_journals=len(exceptions), held=exceptions)
        result.unchanged_journals = sum(
            1
            for j in journals
            if j.journal_key in active and active[j.journal_key].source_content_hash == j.content_hash
        )
        planned, result.rejections = prevalidate(planned, load_rules(con, calendar), adapter)
        result.held_journals += record_exceptions(con, result.rejections)
        if not planned:
            log.info(result.summary())
            return result

        batch = ExportBatch(
            target=target,
            date_from=date_from or min(p.posting_date for p in planned),
            date_to=date_to or max(p.posting_date for p in planned),
            journals=tuple(planned),
        )
        rendered: list[RenderedFile] = adapter.render(batch)
        file_of: dict[str, str] = {}
        for f in rendered:
            for jid in f.journal_ids:
                if jid in file_of:
                    raise PostingError(f"journal {jid} rendered into two files ({file_of[jid]}, {f.name})")
                file_of[jid] = f.name
        missing = [p.journal_id for p in planned if p.journal_id not in file_of]
        if missing:
            raise PostingError(f"{target} adapter left journals out of its files: {missing[:5]}")

        # phase 1: the journals are pending (with idempotency key and file name) before any file exists
        result.new_ledger_rows = record_postings(con, planned, file_of, status="pending")
        references = getattr(adapter, "references", None)
        if references is not None:  # a rolled-back journal is planned again with the same id and reference
            record_references(con, target, references(planned))
        _hook("after_pending")
        by_file: dict[str, list[str]] = {}
        for jid, name in file_of.items():
            by_file.setdefault(name, []).append(jid)
        # companions that carry no journal (Oracle's zip of its CSV) go first, so a file that
        # carries journals, once in place, means its whole batch is: the rerun finishes it
        for f in sorted(rendered, key=lambda f: bool(f.journal_ids)):
            _write_atomic(target_dir / f.name, f.content)
            _hook("after_file")
            # phase 2: the file is whole and in place
            finish_pending(con, target, sorted(by_file.get(f.name, ())))  # a file of no journal: nothing
        result.files = [target_dir / f.name for f in rendered]
        _hook("after_posted")
        result.journals = len(planned)
        result.lines = sum(len(p.lines) for p in planned)
        result.debit_total = sum((p.debit_total for p in planned), ZERO)
        result.credit_total = sum((p.credit_total for p in planned), ZERO)
        result.reversals = sum(1 for p in planned if p.posting_type == "reversal")
        result.replacements = sum(1 for p in planned if p.posting_type == "replacement")
        log.info(result.summary())
        return result
    finally:
        con.close()
