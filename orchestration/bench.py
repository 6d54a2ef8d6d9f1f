"""``careledger bench``: measured figures for docs/benchmarks.md (never asserted in tests)."""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

STAGES = ("synth", "ingest", "dbt", "all")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("stage", choices=STAGES, help="what to measure (all = synth, ingest and dbt on one folder)")
    p.add_argument("--encounters", type=int, nargs="+", default=[10_000],
                   help="one or more sizes, e.g. --encounters 100000 1000000")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--work", help="scratch folder (default: a temp folder, deleted afterwards)")
    p.add_argument("--keep", action="store_true", help="keep the scratch folder")
    p.add_argument("--json", action="store_true", help="print figures as JSON")


def _timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def bench_one(n: int, stage: str, seed: int, work: Path) -> dict:
    from ingest.synthetic.simulator import synthesize

    figures: dict = {"encounters": n}
    landing = work / f"landing_{n}"
    home = work / f"home_{n}"
    home.mkdir(parents=True, exist_ok=True)
    _, secs = _timed(synthesize, landing, encounters=n, seed=seed, faults=0.0)
    figures["synth_seconds"] = round(secs, 2)
    figures["landing_mb"] = round(sum(p.stat().st_size for p in landing.rglob("*") if p.is_file()) / 1e6, 1)
    if stage in ("ingest", "all"):
        from ingest.bench import bench_ingest

        figures["ingest"] = bench_ingest(landing, home)
    if stage in ("dbt", "all"):
        from ingest.landing import ingest_paths
        from orchestration.dbt_runner import run_dbt

        warehouse = home / "warehouse.duckdb"
        if not warehouse.exists() or stage == "dbt":
            ingest_paths(warehouse, [landing])
        _, secs = _timed(run_dbt, ["parse", "--no-partial-parse"], home=home)
        figures["dbt_parse_seconds"] = round(secs, 2)
        _, secs = _timed(run_dbt, ["build", "--exclude", "resource_type:test"], home=home)
        figures["dbt_build_models_seconds"] = round(secs, 2)
        _, secs = _timed(run_dbt, ["build"], home=home)
        figures["dbt_build_with_tests_seconds"] = round(secs, 2)
        _, secs = _timed(run_dbt, ["build", "--select", "marts", "--exclude", "resource_type:test"], home=home)
        figures["dbt_marts_seconds"] = round(secs, 2)
    return figures


def run_bench(args: argparse.Namespace) -> int:
    from rich.console import Console

    console = Console(highlight=False)
    work = Path(args.work).resolve() if args.work else Path(tempfile.mkdtemp(prefix="careledger-bench-"))
    results = []
    try:
        for n in args.encounters:
            console.print(f"benchmark {args.stage}: {n:,} encounters in {work}")
            figures = bench_one(n, args.stage, args.seed, work)
            results.append(figures)
            console.print(json.dumps(figures, indent=2, default=str))
    finally:
        if not args.keep and not args.work:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(results, indent=2, default=str))
    return 0
