"""``careledger bench``: measured figures for docs/benchmarks.md (never asserted in tests)."""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

STAGES = ("synth", "ingest", "dbt", "all", "mllp", "dashboard")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("stage", choices=STAGES, help="what to measure (all = synth, ingest and dbt on one folder)")
    p.add_argument(
        "--encounters",
        type=int,
        nargs="+",
        default=[10_000],
        help="one or more sizes, e.g. --encounters 100000 1000000",
    )
    p.add_argument("--seed", type=int, default=42)
    p.add_argument(
        "--landing",
        help="measure an existing landing folder (e.g. a real export) instead of "
        "simulating one; --encounters is then only a label",
    )
    p.add_argument("--work", help="scratch folder (default: a temp folder, deleted afterwards)")
    p.add_argument("--keep", action="store_true", help="keep the scratch folder")
    p.add_argument("--json", action="store_true", help="print figures as JSON")
    p.add_argument("--messages", type=int, default=10_000, help="mllp: messages to send (default 10000)")
    p.add_argument("--senders", type=int, default=4, help="mllp: concurrent sender connections (default 4)")
    p.add_argument("--serving-dir", help="dashboard: measure this existing serving snapshot instead of building one")
    p.add_argument("--scale", type=int, default=1, help="dashboard: replicate the snapshot's rows K times")
    p.add_argument("--repeats", type=int, default=5, help="dashboard: warm page views to take the median of")


def _timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def _model_timings(target: Path) -> dict:
    """Per-model seconds from dbt's run_results.json: the ten slowest models and every mart."""
    results = json.loads((target / "run_results.json").read_text())["results"]
    models = {
        r["unique_id"].split(".")[-1]: round(r["execution_time"], 2)
        for r in results
        if r["unique_id"].startswith(("model.", "snapshot."))
    }
    slowest = dict(sorted(models.items(), key=lambda kv: kv[1], reverse=True)[:10])
    marts = {name: secs for name, secs in sorted(models.items()) if name.startswith("mart_")}
    return {"slowest_models": slowest, "marts": marts}


def bench_one(n: int, stage: str, seed: int, work: Path, landing: Path | None = None) -> dict:
    from careledger.simulator.simulator import synthesize

    figures: dict = {"encounters": n}
    home = work / f"home_{n}"
    home.mkdir(parents=True, exist_ok=True)
    if landing is None:
        landing = work / f"landing_{n}"
        _, secs = _timed(synthesize, landing, encounters=n, seed=seed, faults=0.0)
        figures["synth_seconds"] = round(secs, 2)
    figures["landing"] = str(landing)
    figures["landing_mb"] = round(sum(p.stat().st_size for p in landing.rglob("*") if p.is_file()) / 1e6, 1)
    if stage in ("ingest", "all"):
        from careledger.bench.ingest import bench_ingest

        figures["ingest"] = bench_ingest(landing, home)
    if stage in ("dbt", "all"):
        from careledger.ingest.run import ingest_paths
        from careledger.orchestration.dbt_runner import run_dbt

        warehouse = home / "warehouse.duckdb"
        if not warehouse.exists() or stage == "dbt":
            ingest_paths(warehouse, [landing])
        target = ["--target-path", str(home / "target")]  # this home's own target: runs never share one
        _, secs = _timed(run_dbt, ["parse", "--no-partial-parse", *target], home=home)
        figures["dbt_parse_seconds"] = round(secs, 2)
        _, secs = _timed(run_dbt, ["build", "--exclude", "resource_type:test", *target], home=home)
        figures["dbt_build_models_seconds"] = round(secs, 2)
        figures["dbt_models"] = _model_timings(home / "target")
        _, secs = _timed(run_dbt, ["build", *target], home=home)
        figures["dbt_build_with_tests_seconds"] = round(secs, 2)
        _, secs = _timed(run_dbt, ["build", "--select", "marts", "--exclude", "resource_type:test", *target], home=home)
        figures["dbt_marts_seconds"] = round(secs, 2)
    return figures


def run_bench(args: argparse.Namespace) -> int:
    from rich.console import Console

    # with --json, stdout carries only the JSON document: the running commentary goes to stderr
    console = Console(highlight=False, stderr=bool(args.json))
    work = Path(args.work).resolve() if args.work else Path(tempfile.mkdtemp(prefix="careledger-bench-"))
    results = []
    try:
        if args.stage == "dashboard":
            from dataclasses import asdict

            from careledger.bench import dashboard

            console.print(f"benchmark dashboard first page render in {work}")
            figures = asdict(
                dashboard.run(
                    argparse.Namespace(
                        encounters=args.encounters[0],
                        days=365,
                        facilities=8,
                        seed=args.seed,
                        serving_dir=Path(args.serving_dir) if args.serving_dir else None,
                        scale=args.scale,
                        workdir=work,
                        repeats=args.repeats,
                    )
                )
            )
            results.append(figures)
            console.print(json.dumps(figures, indent=2, default=str))
        if args.stage == "mllp":
            from careledger.bench.mllp import bench_mllp

            console.print(f"benchmark mllp: {args.messages:,} messages from {args.senders} senders in {work}")
            figures = bench_mllp(work, args.messages, args.senders)
            results.append(figures)
            console.print(json.dumps(figures, indent=2, default=str))
        for n in [] if args.stage in ("mllp", "dashboard") else args.encounters:
            console.print(f"benchmark {args.stage}: {n:,} encounters in {work}")
            landing = Path(args.landing).resolve() if getattr(args, "landing", None) else None
            figures = bench_one(n, args.stage, args.seed, work, landing)
            results.append(figures)
            console.print(json.dumps(figures, indent=2, default=str))
    finally:
        if not args.keep and not args.work:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(results, indent=2, default=str))
    return 0
