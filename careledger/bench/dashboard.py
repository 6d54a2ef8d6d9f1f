"""Dashboard open-time benchmark (``careledger bench dashboard``).

Two ways to get a snapshot:

- ``--encounters N`` simulates a health system of that many encounters (``careledger.simulator``),
  ingests it, builds the marts with the real dbt project and publishes the serving snapshot;
- ``--serving-dir DIR`` takes an existing snapshot, and ``--scale K`` replicates every table's
  rows K times under new facility ids (``F100-1`` ...), so a small real snapshot reaches the row
  counts of a large system in seconds (the page then also has K times as many facilities in its
  filter, a heavier page than a real system of that size).

Then it starts the dashboard in a subprocess and times its **first page render over HTTP**, the
requests a browser makes in order: the index page, ``/_dash-layout``, ``/_dash-dependencies``
and the page callback (``/_dash-update-component`` with the URL), cold (first after start) and
warm (median), for the overview, a filtered overview and the weekly drill-down; and in headless
Chromium the time from navigation start until the page content is in the DOM
(``data-render-ms``, set when the page callback's output lands). Figures go to
docs/benchmarks.md (## Dashboard).
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
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

from careledger.dashboard.app import start_subprocess
from careledger.publish.serving import MANIFEST_NAME, SERVING_DB_NAME, current_snapshot_path, current_version_dir
from careledger.sql import literal

log = logging.getLogger(__name__)

CHROMIUM = Path("/usr/bin/chromium")


@dataclass
class BenchResult:
    encounters: int
    snapshot_rows: dict[str, int]
    snapshot_bytes: int
    build_seconds: dict[str, float] = field(default_factory=dict)
    first_render_cold_ms: float = 0.0  # index + layout + dependencies + page callback, first after start
    first_render_warm_median_ms: float = 0.0
    filtered_warm_median_ms: float = 0.0
    weekly_warm_median_ms: float = 0.0
    page_callback_warm_median_ms: float = 0.0  # the page callback alone (the queries and the layout)
    callback_response_bytes: int = 0
    chromium_render_ms: int | None = None  # navigation start -> page content in the DOM
    chromium_wall_seconds: float | None = None  # incl. launching the browser


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=120) as resp:
        return resp.read()


def _page_callback(base: str, pathname: str, search: str) -> bytes:
    """POST the page callback as the renderer does when the URL is known."""
    body = {
        "output": "..page.children...filter-bar.children...filter-state.children...snapshot.children..",
        "outputs": [
            {"id": "page", "property": "children"},
            {"id": "filter-bar", "property": "children"},
            {"id": "filter-state", "property": "children"},
            {"id": "snapshot", "property": "children"},
        ],
        "inputs": [
            {"id": "url", "property": "pathname", "value": pathname},
            {"id": "url", "property": "search", "value": search},
        ],
        "changedPropIds": ["url.pathname", "url.search"],
        "state": [],
    }
    req = urllib.request.Request(
        base + "/_dash-update-component",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=120) as resp:
        data = resp.read()
    if b'"page"' not in data:
        raise RuntimeError(f"the page callback did not answer with the page: {data[:300]!r}")
    return data


def first_render_ms(base: str, pathname: str = "/", search: str = "") -> tuple[float, float, int]:
    """(first render ms, page callback ms, callback bytes) of one page view over HTTP."""
    started = time.perf_counter()
    _get(base + pathname + search)
    _get(base + "/_dash-layout")
    _get(base + "/_dash-dependencies")
    cb_started = time.perf_counter()
    data = _page_callback(base, pathname, search)
    done = time.perf_counter()
    return (done - started) * 1000, (done - cb_started) * 1000, len(data)


def chromium_render(url: str) -> tuple[int | None, float]:
    with tempfile.TemporaryDirectory() as profile:
        started = time.perf_counter()
        proc = subprocess.run(
            [
                str(CHROMIUM),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--virtual-time-budget=30000",
                f"--user-data-dir={profile}",
                "--window-size=1400,3400",
                "--dump-dom",
                url,
            ],
            capture_output=True,
            timeout=180,
            check=True,
        )
        wall = time.perf_counter() - started
    m = re.search(rb'data-render-ms="(\d+)"', proc.stdout)
    return (int(m.group(1)) if m else None), wall


def scale_snapshot(source: Path, target: Path, k: int) -> Path:
    """A snapshot folder whose tables hold every row of ``source``'s current snapshot K times,
    the copies under facility ids ``<id>-1`` .. ``<id>-(K-1)`` (tables without a facility id are
    copied once). Views are left out (the dashboard reads tables)."""
    version = target / "versions" / "scaled"
    version.mkdir(parents=True)
    shutil.copy(current_version_dir(source) / MANIFEST_NAME, version / MANIFEST_NAME)
    con = duckdb.connect(str(version / SERVING_DB_NAME))
    try:
        con.execute(f"attach {literal(current_snapshot_path(source))} as src (read_only)")
        tables = con.execute(
            "select table_name from information_schema.tables where table_catalog = 'src' "
            "and table_schema = 'main' and table_type = 'BASE TABLE'"
        ).fetchall()
        for (table,) in tables:
            cols = {
                r[0]
                for r in con.execute(
                    "select column_name from information_schema.columns where table_catalog = 'src' and table_name = ?",
                    [table],
                ).fetchall()
            }
            if "facility_id" in cols:
                replace = "facility_id || case when i = 0 then '' else '-' || i end as facility_id"
                if "facility_name" in cols:
                    replace += ", facility_name || case when i = 0 then '' else ' ' || i end as facility_name"
                con.execute(
                    f'create table "{table}" as select * replace ({replace}) from src."{table}", range({k}) as r(i)'
                )
            else:
                con.execute(f'create table "{table}" as select * from src."{table}"')
    finally:
        con.close()
    (target / "current").symlink_to(version.relative_to(target))
    return target


def _filters(serving: Path) -> tuple[str, str]:
    """Query strings of the filtered overview (busiest facility and payer class, the middle
    months) and of the weekly drill-down (busiest facility and service line)."""
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
    return "?" + overview, "?" + urllib.parse.urlencode({"facility": facility, "service_line": service_line})


def build_snapshot(encounters: int, workdir: Path, *, days: int, facilities: int, seed: int) -> tuple[Path, dict]:
    """Simulate, ingest, dbt build and publish; returns the serving folder and the seconds."""
    from careledger.ingest.run import ingest_paths
    from careledger.orchestration.dbt_runner import run_dbt
    from careledger.publish.serving import publish_serving_snapshot
    from careledger.simulator.simulator import synthesize

    home, landing = workdir / "home", workdir / "landing"
    home.mkdir(parents=True, exist_ok=True)
    warehouse, serving = home / "warehouse.duckdb", home / "serving"
    t0 = time.perf_counter()
    synthesize(landing, encounters=encounters, days=days, facilities=facilities, seed=seed)
    t1 = time.perf_counter()
    ingest_paths(warehouse, [landing])
    t2 = time.perf_counter()
    # its own target folder: the project's dbt_project/target is shared with other dbt runs
    run_dbt(["build", "--target-path", str(home / "target")], home=home)
    t3 = time.perf_counter()
    publish_serving_snapshot(warehouse, serving)
    t4 = time.perf_counter()
    secs = {"simulate": t1 - t0, "ingest": t2 - t1, "dbt_build": t3 - t2, "publish": t4 - t3}
    return serving, {k: round(v, 2) for k, v in secs.items()}


def measure(serving: Path, repeats: int, encounters: int, build: dict | None = None) -> BenchResult:
    con = duckdb.connect(str(current_snapshot_path(serving)), read_only=True)
    try:
        tables = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_type = 'BASE TABLE'"
            ).fetchall()
        ]
        rows = {t: int(con.execute(f'select count(*) from "{t}"').fetchone()[0]) for t in tables}
        if not encounters:
            encounters = int(
                con.execute("select sum(encounter_count) from mart_service_line_margin_monthly").fetchone()[0]
            )
    finally:
        con.close()
    filtered, weekly = _filters(serving)
    dash = start_subprocess(serving)
    try:
        cold, _, size = first_render_ms(dash.url)
        warm = [first_render_ms(dash.url) for _ in range(repeats)]
        result = BenchResult(
            encounters=encounters,
            snapshot_rows=rows,
            snapshot_bytes=current_snapshot_path(serving).stat().st_size,
            build_seconds=build or {},
            first_render_cold_ms=round(cold, 1),
            first_render_warm_median_ms=round(statistics.median(w[0] for w in warm), 1),
            filtered_warm_median_ms=round(
                statistics.median(first_render_ms(dash.url, "/", filtered)[0] for _ in range(repeats)), 1
            ),
            weekly_warm_median_ms=round(
                statistics.median(first_render_ms(dash.url, "/weekly", weekly)[0] for _ in range(repeats)), 1
            ),
            page_callback_warm_median_ms=round(statistics.median(w[1] for w in warm), 1),
            callback_response_bytes=size,
        )
        if CHROMIUM.exists():
            try:
                render, wall = chromium_render(dash.url + "/")
                result.chromium_render_ms, result.chromium_wall_seconds = render, round(wall, 2)
            except subprocess.TimeoutExpired:
                log.warning("headless Chromium did not render the page within 180 s; no browser figure")
    finally:
        dash.stop()
    return result


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--encounters", type=int, default=1_000_000, help="simulate this many (without --serving-dir)")
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--facilities", type=int, default=8)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--serving-dir", type=Path, help="measure this existing snapshot instead of building one")
    p.add_argument("--scale", type=int, default=1, help="replicate the snapshot's rows K times (with --serving-dir)")
    p.add_argument("--workdir", type=Path, help="scratch folder (default: a temp folder, deleted afterwards)")
    p.add_argument("--repeats", type=int, default=5)


def run(args: argparse.Namespace) -> BenchResult:
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="careledger-dash-bench-"))
    try:
        if args.serving_dir:
            serving = Path(args.serving_dir)
            if args.scale > 1:
                serving = scale_snapshot(serving, workdir / "scaled", args.scale)
            return measure(serving, args.repeats, 0)
        serving, build = build_snapshot(
            args.encounters, workdir, days=args.days, facilities=args.facilities, seed=args.seed
        )
        return measure(serving, args.repeats, args.encounters, build)
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time the dashboard's first page render.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    print(json.dumps(asdict(run(args)), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
