"""Dashboard open-time benchmark on a large serving snapshot.

``python -m careledger.bench.dashboard --encounters 1000000 --workdir /tmp/cl-bench`` simulates a
health system of that many encounters (``careledger.simulator``), ingests it and builds the
marts with the real dbt project, publishes the serving snapshot, starts the dashboard in a
subprocess and times the server response of the main page (first request after start = cold,
then the median of warm requests), a filtered page and the weekly drill-down. The marts are
the real ones, so the bench measures what users open. Figures go to docs/benchmarks.md
(## Dashboard).
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
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

from careledger.dashboard.app import start_subprocess
from careledger.ingest.landing import ingest_paths
from careledger.orchestration.dbt_runner import run_dbt
from careledger.publish.serving import current_snapshot_path, publish_serving_snapshot
from careledger.simulator.simulator import synthesize

log = logging.getLogger(__name__)


@dataclass
class BenchResult:
    encounters: int
    days: int
    facilities: int
    simulate_seconds: float
    ingest_seconds: float
    dbt_build_seconds: float
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


def _filters(serving: Path) -> tuple[str, str]:
    """Query strings of the filtered overview and the weekly drill-down: the busiest facility
    and service line, the busiest payer class and the middle months of the snapshot."""
    con = duckdb.connect(str(current_snapshot_path(serving)), read_only=True)
    try:
        facility, service_line = con.execute(
            "select facility_id, service_line_code from mart_service_line_margin_monthly "
            "group by all order by sum(encounter_count) desc limit 1"
        ).fetchone()
        payer_class = con.execute(
            "select payer_class from mart_daily_reimbursement group by 1 order by sum(claim_count) desc limit 1"
        ).fetchone()[0]
        months = [
            r[0]
            for r in con.execute(
                "select distinct strftime(period_start_date, '%Y-%m') from mart_service_line_margin_monthly order by 1"
            ).fetchall()
        ]
    finally:
        con.close()
    first, last = months[len(months) // 4], months[max(len(months) * 3 // 4 - 1, len(months) // 4)]
    overview = urllib.parse.urlencode(
        {"facility": facility, "payer_class": payer_class, "period_from": first, "period_to": last}
    )
    weekly = urllib.parse.urlencode({"facility": facility, "service_line": service_line})
    return overview, weekly


def run_benchmark(
    encounters: int, workdir: Path, repeats: int = 5, *, days: int = 365, facilities: int = 8, seed: int = 42
) -> BenchResult:
    workdir.mkdir(parents=True, exist_ok=True)
    home = workdir / "home"
    landing = workdir / "landing"
    warehouse = home / "warehouse.duckdb"
    serving = home / "serving"
    home.mkdir(exist_ok=True)
    t0 = time.perf_counter()
    synthesize(landing, encounters=encounters, days=days, facilities=facilities, seed=seed)
    t1 = time.perf_counter()
    ingest_paths(warehouse, [landing])
    t2 = time.perf_counter()
    # its own target folder: the project's dbt_project/target is shared with other dbt runs
    run_dbt(["build", "--target-path", str(home / "target")], home=home)
    t3 = time.perf_counter()
    snap = publish_serving_snapshot(warehouse, serving)
    t4 = time.perf_counter()
    overview_query, weekly_query = _filters(serving)
    dash = start_subprocess(serving)
    try:
        cold, size = _get(dash.url + "/")
        warm = _median(dash.url + "/", repeats)
        filtered = _median(f"{dash.url}/?{overview_query}", repeats)
        weekly = _median(f"{dash.url}/weekly?{weekly_query}", repeats)
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
        days=days,
        facilities=facilities,
        simulate_seconds=round(t1 - t0, 2),
        ingest_seconds=round(t2 - t1, 2),
        dbt_build_seconds=round(t3 - t2, 2),
        publish_seconds=round(t4 - t3, 2),
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
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--facilities", type=int, default=8)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="careledger-dash-bench-"))
    try:
        result = run_benchmark(args.encounters, workdir, args.repeats, days=args.days, facilities=args.facilities)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(asdict(result), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
