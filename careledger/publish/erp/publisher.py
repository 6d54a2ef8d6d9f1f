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

from careledger.publish.erp.base import ErpAdapter, ExportBatch, RenderedFile
from careledger.publish.erp.targets import make_adapter
from careledger.publish.posting import (
    JOURNAL_LINES_RELATION,
    PERIODS_RELATION,
    ZERO,
    HeldJournal,
    PostingError,
    ensure_ledger,
    load_ledger,
    load_period_calendar,
    load_source_journals,
    plan_postings,
    record_held,
    record_postings,
    split_placeable,
    split_postable,
    unmapped_held,
)
from careledger.publish.prevalidation import Rejection, load_rules, prevalidate, record_exceptions

log = logging.getLogger(__name__)


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


def _write_atomic(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(content)
    os.replace(tmp, path)


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
    one is reversed and replaced; a closed period is never posted into. Files are written
    before the ledger commits, so a crash in between re-exports the same bytes next run.
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
    try:
        ensure_ledger(con)
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

        target_dir = Path(out_dir) / target
        for f in rendered:
            _write_atomic(target_dir / f.name, f.content)
            result.files.append(target_dir / f.name)
        result.new_ledger_rows = record_postings(con, planned, file_of)
        references = getattr(adapter, "references", None)
        if references is not None:
            record_references(con, target, references(planned))
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
