"""Ingest benchmark: careledger landing vs. a bare DuckDB read of the same files.

``bench_ingest(landing_dir, work_dir)`` lands every file of ``landing_dir`` into a fresh
warehouse under ``work_dir`` (the real ``ingest_paths``: detection, checks, quarantine,
batches, one transaction per file), then reads the same files with nothing but DuckDB
(``read_csv`` of the CSVs, ``read_json_objects`` of the NDJSON / JSON, ``read_text`` of the
835 and HL7 files, each materialized into a temp table) and reports, per format, records,
seconds, records per second and the ratio careledger / bare (goal: <= 2x).

``python -m careledger.bench.ingest LANDING WORK [--json]`` prints the figures; ``careledger bench
ingest`` calls the same function. Figures go in docs/benchmarks.md, never in test asserts.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import time
from collections import defaultdict
from pathlib import Path

import duckdb

from careledger.ingest.landing import FileResult, duckdb_path
from careledger.ingest.run import ingest_paths

log = logging.getLogger(__name__)


def _family(fmt: str | None) -> str:
    return (fmt or "unknown").split(":")[0]


def _bare_read(con: duckdb.DuckDBPyConnection, result: FileResult) -> float:
    """Seconds for DuckDB alone to read and materialize the file as its format's plain shape."""
    path = duckdb_path(result.path)
    fmt = result.format or ""
    if fmt.startswith("fhir") or (fmt.startswith("denials") and result.path.endswith("json")):
        scan = f"select * from read_json_objects({path}, format='auto', maximum_object_size=1073741824)"
    elif fmt in ("x12-835", "hl7"):
        scan = f"select * from read_text({path})"
    else:
        scan = f"select * from read_csv({path}, header=true, all_varchar=true)"
    started = time.perf_counter()
    con.execute(f"create or replace temp table _bench_bare as {scan}")
    return time.perf_counter() - started


def _bare_split(con: duckdb.DuckDBPyConnection, result: FileResult) -> float:
    """Seconds for DuckDB alone to read an HL7 or X12 file AND cut it into its records: one row
    per segment with its fields as a list (what ``read_csv`` does for a CSV). ``read_text``
    alone only loads the bytes, so for these two formats this is the fairer bare figure; both
    are reported."""
    path = duckdb_path(result.path)
    if result.format == "hl7":
        segments = "string_split(replace(replace(content, chr(13) || chr(10), chr(13)), chr(10), chr(13)), chr(13))"
        fields = "string_split(seg, '|')"
    else:  # X12: segment terminator at ISA position 106, element separator at position 4
        segments = "string_split(replace(replace(content, chr(13), ''), chr(10), ''), substr(content, 106, 1))"
        fields = "string_split(seg, substr(content, 4, 1))"
    started = time.perf_counter()
    con.execute(
        f"create or replace temp table _bench_split as "
        f"select seg, {fields} as elements from (select content, unnest({segments}) as seg "
        f"from (select ltrim(content, chr(65279)) as content from read_text({path})))"
    )
    return time.perf_counter() - started


def bench_ingest(landing_dir: Path, work_dir: Path, *, warehouse: Path | None = None) -> dict:
    """Land ``landing_dir`` into a fresh warehouse in ``work_dir`` (or add it to an existing
    ``warehouse``, e.g. to assemble a large one family by family) and compare with bare
    DuckDB reads."""
    landing_dir, work_dir = Path(landing_dir), Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    if warehouse is None:
        warehouse = work_dir / "bench_ingest.duckdb"
        for stale in (warehouse, warehouse.with_suffix(".duckdb.wal")):
            stale.unlink(missing_ok=True)

    started = time.perf_counter()
    report = ingest_paths(warehouse, [landing_dir])
    ingest_seconds = time.perf_counter() - started

    per: dict[str, dict] = defaultdict(
        lambda: {
            "files": 0,
            "records": 0,
            "accepted": 0,
            "quarantined": 0,
            "mb": 0.0,
            "careledger_seconds": 0.0,
            "bare_seconds": 0.0,
            "bare_split_seconds": 0.0,
        }
    )
    bare = duckdb.connect()
    try:
        for f in report.files:
            if f.status not in ("landed", "quarantined"):
                continue
            fam = per[_family(f.format)]
            fam["files"] += 1
            fam["records"] += f.records_read
            fam["accepted"] += f.records_accepted
            fam["quarantined"] += f.records_quarantined
            fam["mb"] += Path(f.path).stat().st_size / 1e6
            fam["careledger_seconds"] += f.seconds
            try:
                fam["bare_seconds"] += _bare_read(bare, f)
                if f.format in ("hl7", "x12-835"):
                    fam["bare_split_seconds"] += _bare_split(bare, f)
            except duckdb.Error as exc:  # a file DuckDB alone cannot read: no bare figure for it
                log.warning("bare read of %s failed: %s", f.path, str(exc).splitlines()[0])
    finally:
        bare.close()

    formats = {}
    for name, fam in sorted(per.items()):
        cl, br = fam["careledger_seconds"], fam["bare_seconds"]
        formats[name] = {
            **{k: fam[k] for k in ("files", "records", "accepted", "quarantined")},
            "mb": round(fam["mb"], 1),
            "careledger_seconds": round(cl, 3),
            "bare_seconds": round(br, 3),
            "careledger_records_per_second": round(fam["records"] / cl) if cl else None,
            "bare_records_per_second": round(fam["records"] / br) if br else None,
            "ratio": round(cl / br, 2) if br else None,
        }
        if fam["bare_split_seconds"]:
            sp = fam["bare_split_seconds"]
            formats[name]["bare_split_seconds"] = round(sp, 3)
            formats[name]["ratio_to_split"] = round(cl / sp, 2)
    totals = report.totals
    return {
        "landing_dir": str(landing_dir),
        "warehouse_mb": round(warehouse.stat().st_size / 1e6, 1) if warehouse.exists() else 0.0,
        "ingest_seconds": round(ingest_seconds, 2),
        "records_read": totals["records_read"],
        "records_per_second": round(totals["records_read"] / ingest_seconds) if ingest_seconds else None,
        "files": totals["files"],
        "files_failed": totals["files_failed"],
        "files_unknown": totals["files_unknown"],
        "formats": formats,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m careledger.bench.ingest", description=__doc__.splitlines()[0])
    parser.add_argument("landing", type=Path)
    parser.add_argument("work", type=Path)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--clean", action="store_true", help="delete the work folder afterwards")
    parser.add_argument("--warehouse", type=Path, help="land into this existing warehouse instead of a fresh one")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    figures = bench_ingest(args.landing, args.work, warehouse=args.warehouse)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print(
            f"{figures['records_read']:,} records in {figures['ingest_seconds']} s "
            f"({figures['records_per_second']:,}/s), {figures['files']} files"
        )
        print(
            f"{'format':<10} {'files':>6} {'records':>11} {'MB':>8} {'careledger/s':>13} {'bare/s':>11} "
            f"{'ratio':>6} {'ratio to split':>15}"
        )
        for name, f in figures["formats"].items():
            print(
                f"{name:<10} {f['files']:>6} {f['records']:>11,} {f['mb']:>8} "
                f"{f['careledger_records_per_second'] or 0:>13,} {f['bare_records_per_second'] or 0:>11,} "
                f"{f['ratio'] or 0:>6} {f.get('ratio_to_split', ''):>15}"
            )
    if args.clean:
        shutil.rmtree(args.work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
