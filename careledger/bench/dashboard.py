"""Dashboard open-time benchmark on a large serving snapshot.

``python -m careledger.bench.dashboard --encounters 1000000 --workdir /tmp/cl-bench`` builds a synthetic
marts-only warehouse of that many encounters (``careledger.bench.sample_data``), publishes it as a
serving snapshot, starts the dashboard in a subprocess and times the server response of the
main page (first request after start = cold, then the median of warm requests), a filtered
page and the weekly drill-down. Figures go to docs/benchmarks.md (## Dashboard).
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import shutil
import statistics
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from careledger.bench.sample_data import SampleSpec, build_sample_warehouse
from careledger.dashboard.app import start_subprocess
from careledger.publish.serving import publish_serving_snapshot

log = logging.getLogger(__name__)


@dataclass
class BenchResult:
    encounters: int
    build_seconds: float
    publish_seconds: float
    snapshot_bytes: int
    snapshot_rows: dict[str, int]
    overview_cold_ms: float
    overview_warm_median_ms: float
    filtered_warm_median_ms: float
    weekly_warm_median_ms: float
    overview_bytes: int
    chromium_load_seconds: float | None  # wall clock incl. launching the browser
    chromium_page_load_ms: int | None  # navigation start -> load event, in the page


def _get(url: str) -> tuple[float, int]:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as resp:
        body = resp.read()
    return (time.perf_counter() - started) * 1000, len(body)


def _median(url: str, n: int) -> float:
    return statistics.median(_get(url)[0] for _ in range(n))


def run_benchmark(encounters: int, workdir: Path, repeats: int = 5) -> BenchResult:
    workdir.mkdir(parents=True, exist_ok=True)
    warehouse = workdir / "warehouse.duckdb"
    serving = workdir / "serving"
    spec = SampleSpec(encounters=encounters, facilities=8, physicians_per_facility=60, payers=25, days=365)
    t0 = time.perf_counter()
    build_sample_warehouse(warehouse, spec)
    t1 = time.perf_counter()
    snap = publish_serving_snapshot(warehouse, serving)
    t2 = time.perf_counter()
    dash = start_subprocess(serving)
    try:
        cold, size = _get(dash.url + "/")
        warm = _median(dash.url + "/", repeats)
        filtered = _median(
            dash.url + "/?facility=F200&payer_class=commercial&period_from=2025-04&period_to=2025-09", repeats
        )
        weekly = _median(dash.url + "/weekly?facility=F200&service_line=cardiology", repeats)
        chrome = None
        page_load: int | None = None
        if Path("/usr/bin/chromium").exists():
            with tempfile.TemporaryDirectory() as profile:
                started = time.perf_counter()
                proc = subprocess.run(
                    [
                        "/usr/bin/chromium",
                        "--headless",
                        "--no-sandbox",
                        "--disable-gpu",
                        "--no-first-run",
                        "--disable-background-networking",
                        "--disable-component-update",
                        "--disable-sync",
                        f"--user-data-dir={profile}",
                        "--dump-dom",
                        dash.url + "/",
                    ],
                    capture_output=True,
                    timeout=120,
                    check=True,
                )
                chrome = time.perf_counter() - started
                m = re.search(rb'data-load-ms="(\d+)"', proc.stdout)
                page_load = int(m.group(1)) if m else None
    finally:
        dash.stop()
    return BenchResult(
        encounters=encounters,
        build_seconds=round(t1 - t0, 2),
        publish_seconds=round(t2 - t1, 2),
        snapshot_bytes=snap.bytes,
        snapshot_rows=snap.tables,
        overview_cold_ms=round(cold, 1),
        overview_warm_median_ms=round(warm, 1),
        filtered_warm_median_ms=round(filtered, 1),
        weekly_warm_median_ms=round(weekly, 1),
        overview_bytes=size,
        chromium_load_seconds=round(chrome, 2) if chrome is not None else None,
        chromium_page_load_ms=page_load,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time the dashboard on a large snapshot.")
    parser.add_argument("--encounters", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="careledger-dash-bench-"))
    try:
        result = run_benchmark(args.encounters, workdir, args.repeats)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(asdict(result), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
