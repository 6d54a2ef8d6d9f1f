"""The landing core: batches, quarantine, findings, idempotency and lineage for every raw file.

Each format loader (``ingest/fhir``, ``ingest/hl7``, ``ingest/x12``, ``ingest/csv``,
``ingest/bai2``) exposes ``load(ctx: LoadContext) -> LoadCounts``. ``land_loaded`` wraps one
call in one DuckDB transaction, so a file lands whole or not at all, records a
``raw_meta.batches`` row, and checks that read = accepted + quarantined. This module imports
none of the loaders: :mod:`careledger.ingest.run` detects a file's format and hands its loader
here.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from careledger.config import kill_if_asked
from careledger.sql import literal

log = logging.getLogger(__name__)

SCHEMA_SQL = Path(__file__).with_name("schema.sql")
LINEAGE_DDL = (
    "_batch_id varchar not null, _source_file varchar not null, _source_record bigint not null, "
    "_record_hash varchar not null, _loaded_at timestamp not null"
)
LINEAGE_COLUMNS = ("_batch_id", "_source_file", "_source_record", "_record_hash", "_loaded_at")


class IngestError(Exception):
    """An error the user can act on: says which file and what to do."""


class WarehouseBusy(IngestError):
    """Another process holds the DuckDB write lock."""


@dataclass
class QuarantinedRecord:
    record_index: int
    reason_code: str
    message: str
    raw_text: str | None = None


@dataclass
class Finding:
    record_index: int
    severity: str  # info | warning | error
    rule: str
    message: str
    location: str | None = None


@dataclass
class LoadCounts:
    records_read: int
    records_accepted: int


@dataclass
class LoadContext:
    """What a format loader gets: an open transaction, the file, and ways to report."""

    con: duckdb.DuckDBPyConnection
    path: Path
    batch_id: str
    loaded_at: datetime
    kind: str | None = None  # sub-kind from detection, e.g. the CSV export kind
    quarantined: list[QuarantinedRecord] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def source_file(self) -> str:
        return str(self.path)

    def quarantine(self, record_index: int, reason_code: str, message: str, raw_text: str | None = None) -> None:
        self.quarantined.append(QuarantinedRecord(record_index, reason_code, message, raw_text))

    def finding(self, record_index: int, severity: str, rule: str, message: str, location: str | None = None) -> None:
        self.findings.append(Finding(record_index, severity, rule, message, location))

    def insert_frame(self, table: str, frame: pl.DataFrame) -> int:
        """Insert a polars frame into a raw table by column name.

        The frame carries the table's data columns plus ``_source_record`` and
        ``_record_hash``; batch id, file and load time are added here. Contract columns the
        frame lacks land as null; extra columns are an error (the contract is the DDL).
        """
        if frame.height == 0:
            return 0
        target_cols = table_columns(self.con, table)
        extra = [c for c in frame.columns if c not in target_cols]
        if extra:
            raise IngestError(f"{table}: loader produced columns not in ingest/schema.sql: {extra}")
        # a relation over the Arrow data, not a registered view: registering creates a catalog
        # entry, which costs milliseconds and makes DuckDB re-plan every prepared statement
        lineage = {"_batch_id": self.batch_id, "_source_file": self.source_file, "_loaded_at": self.loaded_at}
        full = frame.with_columns(pl.lit(value).alias(name) for name, value in lineage.items())
        full = full.select(pl.col(c) if c in full.columns else pl.lit(None).alias(c) for c in target_cols)
        self.con.from_arrow(full.to_arrow()).insert_into(table)
        return frame.height

    def insert_select(self, table: str, columns: Iterable[str], select_sql: str) -> int:
        """Insert ``select_sql`` (yielding ``columns`` + _source_record, _record_hash)."""
        cols = list(columns) + ["_source_record", "_record_hash"]
        inserted = self.con.execute(
            f"insert into {table} ({', '.join(cols)}, _batch_id, _source_file, _loaded_at) "
            f"select {', '.join(cols)}, {sql_literal(self.batch_id)}, {sql_literal(self.source_file)}, "
            f"{sql_literal(self.loaded_at)} from ({select_sql})"
        ).fetchone()
        return int(inserted[0]) if inserted else 0


@dataclass
class FileResult:
    path: str
    format: str | None
    status: str  # landed | skipped | quarantined | unknown | failed
    batch_id: str | None = None
    records_read: int = 0
    records_accepted: int = 0
    records_quarantined: int = 0
    message: str = ""
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


def sql_literal(value: str | int | datetime | None) -> str:
    """A SQL literal for a lineage value, so the per-file statements need no bound parameters.

    Binding a Python parameter makes the DuckDB client try ``import pandas`` twice (to check
    for a DataFrame); where pandas is not installed every failed import walks ``sys.path``
    again, ~0.3 ms each, which added ~10 ms to every file. Strings are quoted the SQL way
    (``'`` doubled), which is complete for DuckDB: it has no backslash escapes in literals.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return f"timestamp '{value.replace(tzinfo=None).isoformat(sep=' ')}'"
    return literal(str(value))


_GLOB_CHARS = re.compile(r"([*?\[])")


def duckdb_path(path: Path | str) -> str:
    """A file path as a DuckDB string literal that names exactly that file.

    DuckDB's table functions (``read_csv``, ``read_json_objects``) expand ``*``, ``?`` and
    ``[...]`` in a path, so ``enc?.ndjson`` would also read ``enc1.ndjson``. Each glob
    character is wrapped in a one-character class (``[?]`` matches only ``?``), which DuckDB's
    glob reads literally; the result is quoted like :func:`sql_literal`.
    """
    return sql_literal(_GLOB_CHARS.sub(r"[\1]", str(path)))


def record_hash(text: str) -> str:
    return hashlib.md5(text.encode("utf-8", "surrogateescape")).hexdigest()


def decode_text(data: bytes, source_name: str) -> tuple[str, list[Finding]]:
    """Decode a file's bytes as UTF-8, falling back to latin-1 (every byte is a character, so
    nothing is lost) with a ``NOT_UTF8`` warning that names the file and the first bad byte."""
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        return data.decode("latin-1"), [
            Finding(
                0,
                "warning",
                "NOT_UTF8",
                f"{source_name}: not valid UTF-8 ({exc.reason} at byte {exc.start}); read as latin-1",
                "file",
            )
        ]


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


_COLUMNS: dict[str, list[str]] = {}


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """A raw table's columns in DDL order. Raw tables come only from ingest/schema.sql, so the
    answer is fixed for the life of the process: looked up once per table, not once per file."""
    if table not in _COLUMNS:
        _COLUMNS[table] = _lookup_columns(con, table)
    return _COLUMNS[table]


def _lookup_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    schema, name = table.split(".")
    rows = con.execute(
        "select column_name from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, name],
    ).fetchall()
    if not rows:
        raise IngestError(f"unknown raw table {table}")
    return [r[0] for r in rows]


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every raw table from ingest/schema.sql (idempotent)."""
    sql = SCHEMA_SQL.read_text().replace("{lineage}", LINEAGE_DDL)
    con.execute(sql)


def connect(warehouse: Path, *, wait_seconds: float = 30.0) -> duckdb.DuckDBPyConnection:
    """Open the warehouse for writing, waiting for another writer up to ``wait_seconds``."""
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            con = duckdb.connect(str(warehouse))
            con.execute("set enable_progress_bar = false")
            return con
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            if time.monotonic() >= deadline:
                raise WarehouseBusy(
                    f"the warehouse {warehouse} is being written by another process "
                    f"(waited {wait_seconds:.0f}s). Wait for it to finish (a Dagster run or another "
                    f"careledger command) and run this again."
                ) from exc
            time.sleep(0.5)


def iter_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Files under the given paths, sorted, skipping hidden files and ground truth.

    Symlinked folders are followed (a landing folder often links to the interface engine's
    export share); a link back to a folder already walked is not walked twice."""
    for p in paths:
        p = Path(p)
        if p.is_dir():
            for f in sorted(_walk(p)):
                rel = f.relative_to(p)
                if not any(part.startswith(".") for part in rel.parts) and not _is_ground_truth(rel):
                    yield f
        elif p.exists() or p.is_symlink():
            yield p
        else:
            raise IngestError(f"{p}: no such file or folder")


def _walk(root: Path) -> Iterator[Path]:
    seen: set[str] = set()
    for folder, dirs, files in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        for name in files:
            # every entry that is not a folder, FIFOs and dangling links included: the run refuses
            # those by name (careledger.ingest.run.refusal) rather than skipping them unseen
            yield Path(folder, name)


def _is_ground_truth(rel: Path) -> bool:
    return rel.parts[0] in {"ground_truth", "ground_truth.json"}


Loader = Callable[[LoadContext], LoadCounts]


class LandedFiles:
    """sha256 -> batch id of every file already landed, read once per run instead of once per file.

    Only valid while the caller holds the warehouse's write lock (``ingest_paths`` keeps one
    connection open for the whole run, so no other process can land a file meanwhile).
    """

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._by_sha: dict[str, str] = dict(
            con.execute(
                "select sha256, min(batch_id) from raw_meta.batches where status = 'landed' group by sha256"
            ).fetchall()
        )

    def get(self, sha: str) -> str | None:
        return self._by_sha.get(sha)

    def add(self, sha: str, batch_id: str) -> None:
        self._by_sha.setdefault(sha, batch_id)


def land_loaded(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    fmt: str,
    kind: str | None,
    loader: Loader,
    source_system: str,
    force: bool = False,
    landed: LandedFiles | None = None,
    started: float | None = None,
) -> FileResult:
    """Land one file whose format is known, in one transaction. Never raises for bad content: it reports.

    ``fmt``/``kind`` are what detection found and ``loader`` the format's ``load`` (the
    dispatch lives in :mod:`careledger.ingest.run`, so this core imports no format code).
    ``landed`` is the run's preloaded sha256 index; without it the sha256 is looked up in
    ``raw_meta.batches``.
    """
    started = time.perf_counter() if started is None else started
    path = Path(path).resolve()
    sha = file_sha256(path)
    if not force:
        if landed is not None:
            prior = landed.get(sha)
        else:
            row = con.execute(
                "select batch_id from raw_meta.batches where sha256 = ? and status = 'landed' limit 1", [sha]
            ).fetchone()
            prior = row[0] if row else None
        if prior:
            return FileResult(
                str(path),
                fmt,
                "skipped",
                batch_id=prior,
                message=f"already landed as batch {prior} (same sha256); use --force to land again",
                seconds=time.perf_counter() - started,
            )

    batch_id = f"b_{datetime.now(UTC):%Y%m%dT%H%M%S}_{uuid.uuid4().hex[:8]}"
    loaded_at = datetime.now(UTC).replace(tzinfo=None)
    label = fmt if not kind else f"{fmt}:{kind}"
    ctx = LoadContext(con=con, path=path, batch_id=batch_id, loaded_at=loaded_at, kind=kind)
    con.execute("begin transaction")
    try:
        counts = loader(ctx)
        n_quarantined = len({q.record_index for q in ctx.quarantined})
        if counts.records_read != counts.records_accepted + n_quarantined:
            raise IngestError(
                f"{path}: read {counts.records_read} records but accepted {counts.records_accepted} and "
                f"quarantined {n_quarantined}; the loader lost records (a careledger bug, please report)"
            )
        _write_quarantine(con, ctx)
        _write_findings(con, ctx)
        status = "landed"
        row = [
            batch_id,
            source_system,
            label,
            str(path),
            path.name,
            sha,
            path.stat().st_size,
            counts.records_read,
            counts.records_accepted,
            n_quarantined,
            status,
            None,
            loaded_at,
            datetime.now(UTC).replace(tzinfo=None),
        ]
        con.execute(f"insert into raw_meta.batches values ({', '.join(sql_literal(v) for v in row)})")
        kill_if_asked("ingest", "before_commit")  # rows and batch inserted, not committed
        con.execute("commit")
        if landed is not None:
            landed.add(sha, batch_id)
    except Exception as exc:  # the whole file is rolled back; the failure is recorded
        con.execute("rollback")
        log.exception("failed to land %s", path)
        message = f"{path}: {exc}"
        con.execute(
            "insert into raw_meta.batches values (?, ?, ?, ?, ?, ?, ?, 0, 0, 0, 'failed', ?, ?, ?)",
            [
                batch_id,
                source_system,
                fmt,
                str(path),
                path.name,
                sha,
                path.stat().st_size,
                message,
                loaded_at,
                datetime.now(UTC).replace(tzinfo=None),
            ],
        )
        return FileResult(str(path), fmt, "failed", batch_id, message=message, seconds=time.perf_counter() - started)
    return FileResult(
        str(path),
        label,
        "landed" if counts.records_accepted or not n_quarantined else "quarantined",
        batch_id,
        counts.records_read,
        counts.records_accepted,
        n_quarantined,
        message="; ".join(sorted({f"{q.reason_code}" for q in ctx.quarantined}))[:300],
        seconds=time.perf_counter() - started,
    )


def _write_quarantine(con: duckdb.DuckDBPyConnection, ctx: LoadContext) -> None:
    if not ctx.quarantined:
        return
    frame = pl.DataFrame(
        {
            "batch_id": [ctx.batch_id] * len(ctx.quarantined),
            "source_file": [ctx.source_file] * len(ctx.quarantined),
            "record_index": [q.record_index for q in ctx.quarantined],
            "reason_code": [q.reason_code for q in ctx.quarantined],
            "message": [q.message for q in ctx.quarantined],
            "raw_text": [q.raw_text for q in ctx.quarantined],
            "quarantined_at": [ctx.loaded_at] * len(ctx.quarantined),
        },
        schema_overrides={"record_index": pl.Int64, "raw_text": pl.Utf8},
    )
    con.from_arrow(frame.to_arrow()).insert_into("raw_meta.quarantine")


def _write_findings(con: duckdb.DuckDBPyConnection, ctx: LoadContext) -> None:
    if not ctx.findings:
        return
    frame = pl.DataFrame(
        {
            "batch_id": [ctx.batch_id] * len(ctx.findings),
            "source_file": [ctx.source_file] * len(ctx.findings),
            "record_index": [f.record_index for f in ctx.findings],
            "severity": [f.severity for f in ctx.findings],
            "rule": [f.rule for f in ctx.findings],
            "location": [f.location for f in ctx.findings],
            "message": [f.message for f in ctx.findings],
        },
        schema_overrides={"record_index": pl.Int64, "location": pl.Utf8},
    )
    con.from_arrow(frame.to_arrow()).insert_into("raw_meta.validation_findings")
