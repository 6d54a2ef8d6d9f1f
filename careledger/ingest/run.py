"""Ingest a file or a folder: detect each file's format, pick its loader from the format
registry (:mod:`careledger.ingest.formats`) and land it through the landing core
(:mod:`careledger.ingest.landing`), one transaction per file."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from careledger.ingest import detect, formats
from careledger.ingest.landing import FileResult, LandedFiles, connect, ensure_schema, iter_files, land_loaded

log = logging.getLogger(__name__)


def land_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    source: str = "auto",
    force: bool = False,
    landed: LandedFiles | None = None,
) -> FileResult:
    """Detect one file's format and land it in one transaction. Never raises for bad content: it reports.

    ``landed`` is the run's preloaded sha256 index (``ingest_paths`` passes one); without it
    the sha256 is looked up in ``raw_meta.batches``.
    """
    started = time.perf_counter()
    path = Path(path).resolve()
    detected = detect.detect(path, source)
    if detected.format is None:
        return FileResult(str(path), None, "unknown", message=detected.reason, seconds=time.perf_counter() - started)
    loader, source_system = formats.loader_for(detected.format)
    return land_loaded(
        con,
        path,
        fmt=detected.format,
        kind=detected.kind,
        loader=loader,
        source_system=source_system,
        force=force,
        landed=landed,
        started=started,
    )


@dataclass
class IngestReport:
    files: list[FileResult]
    seconds: float

    @property
    def totals(self) -> dict[str, int]:
        landed = [f for f in self.files if f.status in ("landed", "quarantined")]
        return {
            "files": len(self.files),
            "files_landed": len(landed),
            "files_skipped": sum(f.status == "skipped" for f in self.files),
            "files_unknown": sum(f.status == "unknown" for f in self.files),
            "files_failed": sum(f.status == "failed" for f in self.files),
            "records_read": sum(f.records_read for f in landed),
            "records_accepted": sum(f.records_accepted for f in landed),
            "records_quarantined": sum(f.records_quarantined for f in landed),
        }

    def as_dict(self) -> dict:
        return {"files": [f.as_dict() for f in self.files], "totals": self.totals, "seconds": round(self.seconds, 3)}


def ingest_paths(
    warehouse: Path,
    paths: Iterable[Path],
    *,
    source: str = "auto",
    force: bool = False,
    progress: Callable[[FileResult, int, int], None] | None = None,
    wait_seconds: float = 30.0,
) -> IngestReport:
    """Land every file under ``paths`` into ``warehouse``; one transaction per file."""
    started = time.perf_counter()
    files = list(iter_files(paths))
    results: list[FileResult] = []
    con = connect(warehouse, wait_seconds=wait_seconds)
    try:
        ensure_schema(con)
        landed = LandedFiles(con)
        for i, f in enumerate(files, start=1):
            result = land_file(con, f, source=source, force=force, landed=landed)
            results.append(result)
            log.info(
                "%s %s read=%d accepted=%d quarantined=%d %s",
                result.status,
                f,
                result.records_read,
                result.records_accepted,
                result.records_quarantined,
                result.message,
            )
            if progress:
                progress(result, i, len(files))
    finally:
        con.close()
    return IngestReport(results, time.perf_counter() - started)
