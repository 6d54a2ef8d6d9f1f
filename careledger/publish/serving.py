"""BI serving snapshot: copy the public marts out of the warehouse, swap them in atomically.

DuckDB allows one writer per file, so BI tools and the dashboard never open the warehouse.
After a green build this module writes a new, self-contained snapshot:

    serving_dir/
      versions/<UTC timestamp>-<content hash>/
        serving.duckdb                 every public mart, the conformed dimensions, metrics (+ a
                                       view per metric), source_freshness, held_journals,
                                       posting_ledger, snapshot_constraints, snapshot_manifest
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
``access: public``, see ``careledger.publish.contracts``), the non-PHI columns of the conformed
dimensions, aggregate source freshness from ``raw_meta.batches`` (never raw rows or file
contents), the held journals and the ERP posting ledger (journal-level, no patient data).

The snapshot describes itself (``careledger.publish.serving_model`` reads the dbt yml): table
and column comments from the dbt descriptions, primary keys and foreign keys to the dimensions
(declared at create time, DuckDB's only way), the dbt metrics, and Parquet key-value metadata
with the snapshot contract version.
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

from careledger.config import kill_if_asked
from careledger.publish import serving_model
from careledger.publish.build_status import BuildStatus
from careledger.publish.contracts import public_mart_names
from careledger.sql import literal

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


def _describe(con: duckdb.DuckDBPyConnection, relation: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in con.execute(f"describe {relation}").fetchall()]


def _key_state(con: duckdb.DuckDBPyConnection, source: str, table: str, key: tuple[str, ...]) -> str | None:
    """Why ``key`` cannot be declared on ``table`` (None: it can). A duplicate key is a broken
    invariant of the mart and stops the snapshot; a null in a key column only leaves the key
    undeclared (DuckDB's primary keys are not null), with the reason in snapshot_constraints."""
    if not key:
        return "the dbt yml declares no key"
    cols = ", ".join(_quote(c) for c in key)
    nulls = con.execute(
        f"select count(*) from {source} where {' or '.join(f'{_quote(c)} is null' for c in key)}"
    ).fetchone()[0]
    dups = con.execute(
        f"select count(*) from (select {cols} from {source} group by all having count(*) > 1)"
    ).fetchone()[0]
    if dups:
        raise SnapshotError(
            f"{table} has {dups} duplicate key(s) on ({', '.join(key)}), a broken invariant of the mart: "
            "fix the model (its unique test fails too); the current snapshot was left in place"
        )
    return f"{nulls} row(s) with a null key column" if nulls else None


def _create_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    source: str,
    columns: list[tuple[str, str]],
    key: tuple[str, ...],
    constraints: list[tuple],
) -> None:
    """``create table`` with its primary key and the foreign keys to the conformed dimensions
    whose every value is present (DuckDB declares both only at create time), then insert."""
    reason = _key_state(con, source, table, key)
    defs = [f"{_quote(c)} {t}" for c, t in columns]
    if reason is None:
        defs.append(f"primary key ({', '.join(_quote(c) for c in key)})")
    constraints.append((table, "primary_key", ", ".join(key), None, None, reason is None, reason or ""))
    names = {c for c, _ in columns}
    for col, (dim, dim_key) in _references(names).items():
        if dim == table or not _relation_exists(con, dim):
            continue
        orphans = con.execute(
            f"select count(*) from {source} m where m.{_quote(col)} is not null and not exists "
            f"(select 1 from {_quote(dim)} d where d.{_quote(dim_key)} = m.{_quote(col)})"
        ).fetchone()[0]
        if not orphans:
            defs.append(f"foreign key ({_quote(col)}) references {_quote(dim)} ({_quote(dim_key)})")
        note = f"{orphans} row(s) whose value is not in {dim}" if orphans else ""
        constraints.append((table, "foreign_key", col, dim, dim_key, not orphans, note))
    con.execute(f"create table {_quote(table)} ({', '.join(defs)})")
    con.execute(f"insert into {_quote(table)} select {', '.join(_quote(c) for c, _ in columns)} from {source}")


def _references(columns: set[str]) -> dict[str, tuple[str, str]]:
    """Mart column -> (conformed dimension, its key) for the columns a BI star joins on."""
    out = {key: (dim, key) for dim, key in serving_model.CONFORMED_DIMENSIONS.items() if key in columns}
    out.pop("date_day", None)
    for col in serving_model.DATE_COLUMNS:
        if col in columns:
            out[col] = ("dim_date", "date_day")
    return out


def _relation_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_catalog = current_database() "
            "and table_schema = 'main' and table_name = ?",
            [table],
        ).fetchone()[0]
    )


def _copy_dimensions(con: duckdb.DuckDBPyConnection, docs: dict, constraints: list[tuple]) -> list[str]:
    """The conformed dimensions from the core layer, non-PHI columns only (a column tagged
    ``phi`` in the yml or named on the deny-list stays behind)."""
    built = set(_relations(con, "core"))
    copied = []
    for dim in serving_model.CONFORMED_DIMENSIONS:
        if dim not in built:
            log.warning("warehouse has no core.%s; the snapshot goes without it", dim)
            continue
        doc = docs.get(dim)
        phi = doc.phi_columns if doc else frozenset()
        cols = [
            (c, t)
            for c, t in _describe(con, f"wh.core.{_quote(dim)}")
            if c not in phi and c.lower() not in PHI_COLUMN_NAMES
        ]
        _create_table(con, dim, f"wh.core.{_quote(dim)}", cols, doc.primary_key if doc else (), constraints)
        copied.append(dim)
    return copied


def _copy_marts(
    con: duckdb.DuckDBPyConnection, docs: dict, constraints: list[tuple], held_back: Mapping[str, str]
) -> tuple[list[str], tuple[str, ...]]:
    """Copy every public mart the warehouse has, except those the last build held back, with its
    key and foreign keys; a missing one (its build failed) is reported and the others are
    published. None at all is an error."""
    built = set(_relations(con, "marts"))
    available = [m for m in public_mart_names() if m in built and m not in held_back]
    if not available:
        raise NoMartsError(
            "the warehouse has none of the public marts yet, so there is nothing to publish: "
            "build them first (`careledger refresh`); the current snapshot was left in place"
        )
    for table in available:
        source = f"wh.marts.{_quote(table)}"
        doc = docs.get(table)
        _create_table(con, table, source, _describe(con, source), doc.primary_key if doc else (), constraints)
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


#: Comments of the tables the publisher itself writes (the marts and dimensions have dbt's).
OWN_TABLE_COMMENTS: dict[str, str] = {
    "source_freshness": "Aggregate freshness per source system x format from raw_meta.batches: last landed batch, batch counts, rows accepted and quarantined. No file-level rows.",
    "posting_ledger": "ERP posting ledger: one row per journal exported per target (original, reversal, replacement) with its status and totals. Journal-level, no patient data.",
    "held_journals": "Journals an ERP posting held back per target (UNMAPPED codes, no open accounting period, a pre-validation rule), with reason and amounts: the money not yet posted.",
    "snapshot_manifest": "Tables of this snapshot with their row counts, the time it was published and the snapshot contract version.",
    "snapshot_constraints": "Primary and foreign keys of this snapshot: declared (is_declared) or why not (note).",
    "metrics": "The dbt metrics (dbt_project/models/marts/_marts__semantic_models.yml) as SQL over the snapshot tables; each has a view metric_<name> grouped by its dimensions.",
}


def _write_metrics(con: duckdb.DuckDBPyConnection, tables: set[str]) -> list[str]:
    """A ``metrics`` table (one row per dbt metric over a published table) and a view per
    metric, ``metric_<name>``: the metric by its semantic model's dimensions."""
    con.execute(
        """
        create table metrics (
            metric_name varchar primary key, label varchar not null, description varchar,
            metric_type varchar not null, table_name varchar not null, expression varchar not null,
            time_dimension varchar, dimensions varchar, numerator_metric varchar,
            denominator_metric varchar, view_name varchar not null
        )
        """
    )
    rows, views = [], []
    for m in serving_model.metrics():
        if m.table not in tables:
            continue
        view = f"metric_{m.name}"
        dims = ", ".join(_quote(d) for d in m.dimensions)
        con.execute(
            f"create view {_quote(view)} as select {dims}{', ' if dims else ''}{m.expression} as {_quote(m.name)} "
            f"from {_quote(m.table)}" + (" group by all" if dims else "")
        )
        con.execute(f"comment on view {_quote(view)} is {literal(m.label + ': ' + m.description)}")
        rows.append(
            (
                m.name,
                m.label,
                m.description,
                m.metric_type,
                m.table,
                m.expression,
                m.time_dimension,
                ", ".join(m.dimensions),
                m.numerator,
                m.denominator,
                view,
            )
        )
        views.append(view)
    if rows:  # a warehouse without the metrics' marts publishes an empty metrics table
        con.executemany(f"insert into metrics values ({', '.join(['?'] * 11)})", rows)
    return views


def _write_comments(con: duckdb.DuckDBPyConnection, tables: list[str], docs: dict) -> None:
    """Table and column comments from the dbt descriptions (COMMENT ON), for BI catalogs."""
    for table in tables:
        doc = docs.get(table)
        text = doc.description if doc else OWN_TABLE_COMMENTS.get(table, "")
        if text:
            con.execute(f"comment on table {_quote(table)} is {literal(text)}")
        if doc is None:
            continue
        for col, _ in _describe(con, _quote(table)):
            if doc.columns.get(col):
                con.execute(f"comment on column {_quote(table)}.{_quote(col)} is {literal(doc.columns[col])}")


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


def _kv_metadata(table: str, published_at: dt.datetime, docs: dict) -> str:
    """Parquet key-value metadata: the snapshot contract version, the table, its dbt model
    version and description, when it was published."""
    doc = docs.get(table)
    meta = {
        "careledger_contract_version": serving_model.SNAPSHOT_CONTRACT_VERSION,
        "careledger_table": table,
        "careledger_model_version": doc.version if doc else "",
        "careledger_published_at": published_at.isoformat(),
        "careledger_description": (doc.description if doc else OWN_TABLE_COMMENTS.get(table, ""))[:2000],
    }
    return "kv_metadata {" + ", ".join(f"{k}: {literal(v)}" for k, v in meta.items()) + "}"


def _write_parquet(
    con: duckdb.DuckDBPyConnection, table: str, rows: int, out: Path, partition_min_rows: int, kv: str = ""
) -> str:
    """COPY one table to Parquet; hive-partition by period when the table is large."""
    target = out / table
    cols = _columns(con, table)
    kv = f", {kv}" if kv else ""
    if rows >= partition_min_rows and rows > 0:
        if "period_id" in cols:
            con.execute(
                f"copy {_quote(table)} to {literal(target)} "
                f"(format parquet, partition_by (period_id), filename_pattern 'part_{{i}}'{kv})"
            )
            return "period_id"
        date_col = next((c for c in _PERIOD_DATE_COLUMNS if c in cols), None)
        if date_col is not None:
            con.execute(
                f"copy (select *, strftime({_quote(date_col)}, '%Y-%m') as period "
                f"from {_quote(table)}) to {literal(target)} "
                f"(format parquet, partition_by (period), filename_pattern 'part_{{i}}'{kv})"
            )
            return "period"
    target.mkdir(parents=True, exist_ok=True)
    con.execute(f"copy {_quote(table)} to {literal(target / (table + '.parquet'))} (format parquet{kv})")
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
    kill_if_asked("serving", "before_swap")  # the new link made, not yet renamed over ``current``
    os.replace(tmp, serving_dir / CURRENT_LINK)  # rename(2): atomic for every reader
    dir_fd = os.open(serving_dir, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _clean_stray_links(serving_dir: Path) -> list[Path]:
    """Remove the temporary links (``.current.<hex>.tmp``, ``.serving.duckdb.<hex>.tmp``) that a
    publish killed between making a link and renaming it left; readers never follow them."""
    stray = sorted(
        p
        for p in serving_dir.glob(".*.tmp")
        if p.is_symlink() and p.name.split(".")[1] in (CURRENT_LINK, SERVING_DB_NAME.split(".")[0], "parquet")
    )
    for p in stray:
        p.unlink(missing_ok=True)
        log.warning("removed %s, a link left by a snapshot publish that was stopped before its rename", p)
    return stray


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
                con.execute(f"attach {literal(warehouse)} as wh (read_only)")
            except duckdb.IOException as exc:
                raise SnapshotError(
                    f"cannot open {warehouse} read-only ({exc}); a build or ingest probably "
                    "holds the writer lock: publish after it finishes"
                ) from exc
            docs = serving_model.model_docs()
            constraints: list[tuple] = []
            dims = _copy_dimensions(con, docs, constraints)
            marts, missing = _copy_marts(con, docs, constraints, held_back)
            _add_invariant_rows(con, status, marts)
            has_freshness = _copy_freshness(con, published_at)
            has_ledger = _copy_posting_ledger(con)
            _copy_held_journals(con)
            con.execute("detach wh")
            views = _write_metrics(con, set(marts))
            con.execute(
                """
                create table snapshot_constraints (
                    table_name varchar not null, constraint_type varchar not null, column_names varchar not null,
                    referenced_table varchar, referenced_column varchar, is_declared boolean not null, note varchar
                )
                """
            )
            con.executemany("insert into snapshot_constraints values (?, ?, ?, ?, ?, ?, ?)", constraints)
            tables = [*dims, *marts, "source_freshness", "held_journals", "metrics", "snapshot_constraints"] + (
                ["posting_ledger"] if has_ledger else []
            )
            counts = {t: int(con.execute(f"select count(*) from {_quote(t)}").fetchone()[0]) for t in tables}
            con.execute(
                """
                create table snapshot_manifest (
                    table_name varchar primary key, row_count bigint not null,
                    published_at timestamp not null, contract_version varchar not null
                )
                """
            )
            con.executemany(
                "insert into snapshot_manifest values (?, ?, ?, ?)",
                [
                    (t, n, published_at.replace(tzinfo=None), serving_model.SNAPSHOT_CONTRACT_VERSION)
                    for t, n in counts.items()
                ],
            )
            _write_comments(con, [*tables, "snapshot_manifest"], docs)
            parquet_dir = tmp_dir / "parquet"
            parquet_dir.mkdir()
            layout = {
                t: _write_parquet(
                    con, t, counts[t], parquet_dir, partition_min_rows, _kv_metadata(t, published_at, docs)
                )
                for t in tables
            }
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
            "contract_version": serving_model.SNAPSHOT_CONTRACT_VERSION,
            "dimensions": dims,
            "metric_views": views,
            "has_source_freshness": has_freshness,
            "has_posting_ledger": has_ledger,
        }
        (tmp_dir / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, sort_keys=True))
        kill_if_asked("serving", "before_rename")  # the new snapshot complete in its temp folder
        version_dir = versions / version
        os.rename(tmp_dir, version_dir)
        kill_if_asked("serving", "after_rename")  # a finished version that ``current`` does not name
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise
    _swap_current(serving_dir, version_dir)
    _ensure_stable_links(serving_dir)
    _clean_stray_links(serving_dir)
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
