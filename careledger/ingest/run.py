"""Ingest a file or a folder: detect each file's format, pick its loader from the format
registry (:mod:`careledger.ingest.formats`) and land it through the landing core
(:mod:`careledger.ingest.landing`), one transaction per file."""

from __future__ import annotations

import logging
import stat
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from careledger.config import kill_if_asked
from careledger.ingest import detect, formats
from careledger.ingest.landing import FileResult, LandedFiles, connect, ensure_schema, iter_files, land_loaded

log = logging.getLogger(__name__)

#: the largest file ingest reads (4 GiB); a larger one is refused with a reason, not read
MAX_FILE_BYTES = 1 << 32


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
    path = Path(path).absolute()
    refused = refusal(path)
    if refused:
        return FileResult(str(path), None, "failed", message=refused, seconds=time.perf_counter() - started)
    path = path.resolve()
    try:
        detected = detect.detect(path, source)
        if detected.format is None:
            return FileResult(
                str(path), None, "unknown", message=detected.reason, seconds=time.perf_counter() - started
            )
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
    except (OSError, RecursionError, MemoryError) as exc:  # the file, not the run: report it and go on
        log.warning("could not read %s: %s", path, exc)
        return FileResult(
            str(path),
            None,
            "failed",
            message=f"{path}: could not be read ({type(exc).__name__}: {exc}); fix the file or its permissions "
            "and ingest it again",
            seconds=time.perf_counter() - started,
        )


def refusal(path: Path) -> str | None:
    """Why ``path`` is not read at all (a FIFO, socket, device, folder, dangling link, or a file
    over :data:`MAX_FILE_BYTES`), or None. Opening a FIFO would wait for a writer forever."""
    try:
        st = path.stat()
    except OSError as exc:
        return f"{path}: cannot be opened ({exc.strerror or exc}); check the file and its permissions"
    if not stat.S_ISREG(st.st_mode):
        kind = (
            "a FIFO"
            if stat.S_ISFIFO(st.st_mode)
            else "a socket"
            if stat.S_ISSOCK(st.st_mode)
            else "a folder"
            if stat.S_ISDIR(st.st_mode)
            else "a device or other special file"
        )
        return f"{path}: {kind}, not a regular file; only regular files are ingested (copy the data into a file)"
    if st.st_size > MAX_FILE_BYTES:
        return (
            f"{path}: {st.st_size:,} bytes, over the {MAX_FILE_BYTES:,}-byte limit per file (MAX_FILE_BYTES); "
            "split the export into smaller files"
        )
    return None


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
            if i < len(files):
                kill_if_asked("ingest", "between_files")  # a file committed, the next not begun
    finally:
        con.close()
    return IngestReport(results, time.perf_counter() - started)
