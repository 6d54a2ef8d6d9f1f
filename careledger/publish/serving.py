"""BI serving snapshot: copy the public marts out of the warehouse, swap them in atomically.

DuckDB allows one writer per file, so BI tools and the dashboard never open the warehouse.
After a green build this module writes a new, self-contained snapshot:

    serving_dir/
      versions/<UTC timestamp>-<content hash>/
        serving.duckdb                 every public mart + source_freshness + posting_ledger
        parquet/<table>/...            the same tables as Parquet (hive-partitioned by period
                                       where a table is large)
        manifest.json                  tables, row counts, bytes, published_at
      current -> versions/<latest>     symlink, replaced atomically with os.replace
      serving.duckdb -> current/serving.duckdb   stable paths for BI tools
      parquet -> current/parquet

The new version is built in a temporary folder, renamed into ``versions/`` and only then
published by replacing the ``current`` symlink in one ``rename(2)``. A reader that opened the
previous version keeps its file (on Linux the inode outlives the directory entry); it sees
the new snapshot the next time it opens ``serving.duckdb``. The last ``keep`` versions stay
on disk so that readers of the previous snapshot can finish.

Only aggregate, PHI-free data is copied: the public marts (the models whose dbt yml says
``access: public``, see ``careledger.publish.contracts``), aggregate source
freshness from ``raw_meta.batches`` (never raw rows or file contents) and the ERP posting
ledger (journal-level, no patient data) when it exists.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import shutil
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from careledger.publish.build_status import BuildStatus
from careledger.publish.contracts import public_mart_names

log = logging.getLogger(__name__)

SERVING_DB_NAME = "serving.duckdb"
CURRENT_LINK = "current"
VERSIONS_DIR = "versions"
MANIFEST_NAME = "manifest.json"

#: Column names that must never appear in a serving table (defence in depth: the marts are
#: PHI-free by contract, this catches a regression before it reaches a BI tool).
PHI_COLUMN_NAMES: frozenset[str] = frozenset(
    {
        "patient_mrn",
        "mrn",
        "member_id",
        "subscriber_id",
        "patient_control_number",
        "patient_name",
        "patient_family_name",
        "patient_given_name",
        "family_name",
        "given_name",
        "birth_date",
        "dob",
        "date_of_birth",
        "address_line",
        "city",
        "zip",
        "phone",
        "email",
        "ssn",
        "note",
        "raw_text",
        "patient_id",
    }
)

#: Date columns used to derive a ``period`` partition for tables without ``period_id``.
_PERIOD_DATE_COLUMNS: tuple[str, ...] = (
    "posting_date",
    "remit_date",
    "reconciliation_date",
    "week_start_date",
    "service_date",
    "date_day",
    "as_of_date",
    "exception_date",
    "detected_date",
)


class SnapshotError(RuntimeError):
    """The snapshot could not be built; the current snapshot is left untouched."""


class NoMartsError(SnapshotError):
    """The warehouse has none of the public marts (dbt build has not run): nothing to publish."""


@dataclass(frozen=True)
class SnapshotResult:
    """What one publish wrote."""

    path: Path  # stable path: serving_dir/current/serving.duckdb
    version_dir: Path  # serving_dir/versions/<version>
    version: str
    tables: dict[str, int]  # table name -> row count
    bytes: int  # bytes of the whole version folder (duckdb + parquet)
    published_at: dt.datetime
    missing_marts: tuple[str, ...] = field(default_factory=tuple)
    held_back_marts: dict[str, str] = field(default_factory=dict)  # mart -> why the build held it back
    parquet_layout: dict[str, str] = field(default_factory=dict)  # table -> single|period|period_id

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


# --------------------------------------------------------------------------- reading helpers


def current_version_dir(serving_dir: Path) -> Path:
    """The version folder the ``current`` symlink points to, resolved (pins one version)."""
    link = Path(serving_dir) / CURRENT_LINK
    if not link.exists():
        raise FileNotFoundError(
            f"no serving snapshot under {serving_dir}: run the publish step "
            "(publish_serving_snapshot / `careledger refresh`) first"
        )
    return link.resolve(strict=True)


def current_snapshot_path(serving_dir: Path) -> Path:
    """Resolved path of the current ``serving.duckdb`` (stays valid for this reader)."""
    return current_version_dir(serving_dir) / SERVING_DB_NAME


def open_serving(serving_dir: Path) -> duckdb.DuckDBPyConnection:
    """Open the current snapshot read-only. Reopen to see a newer snapshot."""
    return duckdb.connect(str(current_snapshot_path(serving_dir)), read_only=True)


def read_manifest(serving_dir: Path) -> dict[str, object]:
    return json.loads((current_version_dir(serving_dir) / MANIFEST_NAME).read_text())


# --------------------------------------------------------------------------- publishing


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _relations(con: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    rows = con.execute(
        """
        select table_name from information_schema.tables
        where table_catalog = 'wh' and table_schema = ?
        order by table_name
        """,
        [schema],
    ).fetchall()
    return [r[0] for r in rows]


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [r[0] for r in con.execute(f"describe {_quote(table)}").fetchall()]


def _check_no_phi(con: duckdb.DuckDBPyConnection, table: str) -> None:
    bad = sorted(c for c in _columns(con, table) if c.lower() in PHI_COLUMN_NAMES)
    if bad:
        raise SnapshotError(
            f"table {table} carries PHI columns {bad}; fix the mart so that it is PHI-free "
            "before publishing (the current snapshot was left in place)"
        )


def _copy_marts(con: duckdb.DuckDBPyConnection, held_back: Mapping[str, str]) -> tuple[list[str], tuple[str, ...]]:
    """Copy every public mart the warehouse has, except those the last build held back; a
    missing one (its build failed) is reported and the others are published."""
    built = set(_relations(con, "marts"))
    available = [m for m in public_mart_names() if m in built and m not in held_back]
    if not available:
        raise NoMartsError(
            "the warehouse has none of the public marts yet, so there is nothing to publish: "
            "build them first (`careledger refresh`); the current snapshot was left in place"
        )
    for table in available:
        con.execute(f"create table {_quote(table)} as select * from wh.marts.{_quote(table)}")
        _check_no_phi(con, table)
    missing = tuple(m for m in public_mart_names() if m not in built and m not in held_back)
    for mart, reason in held_back.items():
        log.warning("left %s out of the serving snapshot: %s", mart, reason)
    if missing:
        log.warning("warehouse has no %s; published the marts it has", ", ".join(missing))
    return available, missing


def _add_invariant_rows(con: duckdb.DuckDBPyConnection, status: BuildStatus, marts: list[str]) -> None:
    """One row per failing invariant test in the snapshot's mart_data_quality_status (which dbt
    builds from the source data-quality checks), so the dashboard banner shows both."""
    if not status.failed_tests or "mart_data_quality_status" not in marts:
        return
    con.executemany(
        "insert into mart_data_quality_status values (?, 'error', ?, 'fail', ?, 0, ?)",
        [
            (
                test.name,
                ", ".join(test.models),
                test.failures,
                f"invariant test failed on {', '.join(test.models) or '?'}: what depends on it is held "
                f"back from this snapshot ({test.message})",
            )
            for test in status.failed_tests
        ],
    )


def _copy_freshness(con: duckdb.DuckDBPyConnection, published_at: dt.datetime) -> bool:
    """Aggregate source freshness: one row per source_system x format, no file-level rows."""
    if "batches" not in _relations(con, "raw_meta"):
        con.execute(
            """
            create table source_freshness (
                source_system varchar, format varchar, last_loaded_at timestamp,
                last_attempt_at timestamp, batch_count bigint, landed_batch_count bigint,
                failed_batch_count bigint, rows_accepted bigint, rows_quarantined bigint,
                snapshot_published_at timestamp
            )
            """
        )
        return False
    con.execute(
        """
        create table source_freshness as
        select
            source_system,
            format,
            max(coalesce(finished_at, started_at)) filter (where status = 'landed')
                as last_loaded_at,
            max(coalesce(finished_at, started_at)) as last_attempt_at,
            count(*) as batch_count,
            count(*) filter (where status = 'landed') as landed_batch_count,
            count(*) filter (where status = 'failed') as failed_batch_count,
            coalesce(sum(rows_accepted) filter (where status = 'landed'), 0)::bigint
                as rows_accepted,
            coalesce(sum(rows_quarantined) filter (where status = 'landed'), 0)::bigint
                as rows_quarantined,
            ?::timestamp as snapshot_published_at
        from wh.raw_meta.batches
        group by source_system, format
        order by source_system, format
        """,
        [published_at.replace(tzinfo=None)],
    )
    return True


def _copy_posting_ledger(con: duckdb.DuckDBPyConnection) -> bool:
    if "posting_ledger" not in _relations(con, "publish"):
        return False
    con.execute("create table posting_ledger as select * from wh.publish.posting_ledger")
    _check_no_phi(con, "posting_ledger")
    return True


#: The held journals as BI and the dashboard read them (contract of the ``held_journals`` table):
#: one row per target x journal an ERP posting held back, with its reason and amounts.
HELD_JOURNAL_COLUMNS = (
    "target",
    "journal_label",
    "journal_source",
    "legal_entity_id",
    "facility_id",
    "posting_date",
    "reason_code",
    "message",
    "line_count",
    "debit_total",
    "credit_total",
    "held_at",
)


def _copy_held_journals(con: duckdb.DuckDBPyConnection) -> None:
    """``held_journals``: always present (empty before any posting), so a reader can say "held
    $0.00" only when nothing is held."""
    if "held_journals" in _relations(con, "publish"):
        con.execute(
            f"create table held_journals as select {', '.join(HELD_JOURNAL_COLUMNS)} from wh.publish.held_journals"
        )
    else:
        con.execute(
            """
            create table held_journals (
                target varchar, journal_label varchar, journal_source varchar, legal_entity_id varchar,
                facility_id varchar, posting_date date, reason_code varchar, message varchar,
                line_count integer, debit_total decimal(18, 2), credit_total decimal(18, 2), held_at timestamp
            )
            """
        )
    _check_no_phi(con, "held_journals")


def _write_parquet(con: duckdb.DuckDBPyConnection, table: str, rows: int, out: Path, partition_min_rows: int) -> str:
    """COPY one table to Parquet; hive-partition by period when the table is large."""
    target = out / table
    cols = _columns(con, table)
    if rows >= partition_min_rows and rows > 0:
        if "period_id" in cols:
            con.execute(
                f"copy {_quote(table)} to '{target}' "
                "(format parquet, partition_by (period_id), filename_pattern 'part_{i}')"
            )
            return "period_id"
        date_col = next((c for c in _PERIOD_DATE_COLUMNS if c in cols), None)
        if date_col is not None:
            con.execute(
                f"copy (select *, strftime({_quote(date_col)}, '%Y-%m') as period "
                f"from {_quote(table)}) to '{target}' "
                "(format parquet, partition_by (period), filename_pattern 'part_{i}')"
            )
            return "period"
    target.mkdir(parents=True, exist_ok=True)
    con.execute(f"copy {_quote(table)} to '{target / (table + '.parquet')}' (format parquet)")
    return "single"


def _dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _ensure_stable_links(serving_dir: Path) -> None:
    """``serving_dir/serving.duckdb`` and ``serving_dir/parquet`` follow ``current``."""
    for name, target in (
        (SERVING_DB_NAME, f"{CURRENT_LINK}/{SERVING_DB_NAME}"),
        ("parquet", f"{CURRENT_LINK}/parquet"),
    ):
        link = serving_dir / name
        if link.is_symlink() and os.readlink(link) == target:
            continue
        tmp = serving_dir / f".{name}.{uuid.uuid4().hex}.tmp"
        os.symlink(target, tmp)
        os.replace(tmp, link)


def _swap_current(serving_dir: Path, version_dir: Path) -> None:
    tmp = serving_dir / f".{CURRENT_LINK}.{uuid.uuid4().hex}.tmp"
    os.symlink(Path(VERSIONS_DIR) / version_dir.name, tmp)
    os.replace(tmp, serving_dir / CURRENT_LINK)  # rename(2): atomic for every reader
    dir_fd = os.open(serving_dir, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _prune(serving_dir: Path, keep: int) -> list[Path]:
    versions = serving_dir / VERSIONS_DIR
    current = (serving_dir / CURRENT_LINK).resolve()
    finished = sorted(p for p in versions.iterdir() if p.is_dir() and not p.name.startswith("."))
    removed: list[Path] = []
    for old in finished[: max(len(finished) - keep, 0)]:
        if old.resolve() == current:
            continue
        shutil.rmtree(old, ignore_errors=True)
        removed.append(old)
    # leftovers of a publish that crashed before its rename
    for stale in versions.glob(".tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    return removed


def publish_serving_snapshot(
    warehouse: Path,
    serving_dir: Path,
    *,
    keep: int = 2,
    partition_min_rows: int = 100_000,
    now: dt.datetime | None = None,
    build_status: BuildStatus | None = None,
) -> SnapshotResult:
    """Publish the public marts of ``warehouse`` as a new serving snapshot, atomically.

    Opens the warehouse read-only (call it after the build has released the writer lock),
    writes ``serving.duckdb`` and Parquet into a temporary folder, moves it to
    ``serving_dir/versions/<ts>-<hash>`` and swaps the ``current`` symlink. Keeps the last
    ``keep`` versions. Raises ``SnapshotError`` (leaving the current snapshot untouched) if the
    warehouse is missing or a table carries PHI columns.

    ``build_status`` (what the last dbt build held back, ``careledger.publish.build_status``)
    leaves out the marts that a failing invariant test blocked, and adds one row per failing
    test to ``mart_data_quality_status``; the other marts are published as usual.
    """
    status = build_status or BuildStatus()
    held_back = status.held_back(public_mart_names())
    warehouse = Path(warehouse).resolve()
    serving_dir = Path(serving_dir).resolve()
    if not warehouse.is_file():
        raise SnapshotError(f"warehouse {warehouse} does not exist: build it first")
    if keep < 1:
        raise ValueError("keep must be >= 1")
    published_at = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    versions = serving_dir / VERSIONS_DIR
    versions.mkdir(parents=True, exist_ok=True)
    tmp_dir = versions / f".tmp-{uuid.uuid4().hex}"
    tmp_dir.mkdir()
    try:
        db_path = tmp_dir / SERVING_DB_NAME
        con = duckdb.connect(str(db_path))
        try:
            try:
                con.execute(f"attach '{warehouse}' as wh (read_only)")
            except duckdb.IOException as exc:
                raise SnapshotError(
                    f"cannot open {warehouse} read-only ({exc}); a build or ingest probably "
                    "holds the writer lock: publish after it finishes"
                ) from exc
            marts, missing = _copy_marts(con, held_back)
            _add_invariant_rows(con, status, marts)
            has_freshness = _copy_freshness(con, published_at)
            has_ledger = _copy_posting_ledger(con)
            _copy_held_journals(con)
            con.execute("detach wh")
            tables = [*marts, "source_freshness", "held_journals"] + (["posting_ledger"] if has_ledger else [])
            counts = {t: int(con.execute(f"select count(*) from {_quote(t)}").fetchone()[0]) for t in tables}
            con.execute(
                """
                create table snapshot_manifest (
                    table_name varchar primary key, row_count bigint not null,
                    published_at timestamp not null
                )
                """
            )
            con.executemany(
                "insert into snapshot_manifest values (?, ?, ?)",
                [(t, n, published_at.replace(tzinfo=None)) for t, n in counts.items()],
            )
            parquet_dir = tmp_dir / "parquet"
            parquet_dir.mkdir()
            layout = {t: _write_parquet(con, t, counts[t], parquet_dir, partition_min_rows) for t in tables}
            con.execute("checkpoint")
        finally:
            con.close()
        digest = hashlib.sha256(
            json.dumps({"tables": counts, "at": published_at.isoformat()}, sort_keys=True).encode()
        ).hexdigest()[:10]
        version = f"{published_at:%Y%m%dT%H%M%S%fZ}-{digest}"
        manifest = {
            "version": version,
            "published_at": published_at.isoformat(),
            "warehouse": str(warehouse),
            "tables": counts,
            "parquet_layout": layout,
            "missing_marts": list(missing),
            "held_back_marts": dict(sorted(held_back.items())),
            "has_source_freshness": has_freshness,
            "has_posting_ledger": has_ledger,
        }
        (tmp_dir / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, sort_keys=True))
        version_dir = versions / version
        os.rename(tmp_dir, version_dir)
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise
    _swap_current(serving_dir, version_dir)
    _ensure_stable_links(serving_dir)
    removed = _prune(serving_dir, keep)
    size = _dir_bytes(version_dir)
    log.info(
        "published serving snapshot %s: %d tables, %d rows, %d bytes (removed %d old versions)",
        version,
        len(counts),
        sum(counts.values()),
        size,
        len(removed),
    )
    return SnapshotResult(
        path=serving_dir / CURRENT_LINK / SERVING_DB_NAME,
        version_dir=version_dir,
        version=version,
        tables=counts,
        bytes=size,
        published_at=published_at,
        missing_marts=missing,
        held_back_marts=dict(held_back),
        parquet_layout=layout,
    )
