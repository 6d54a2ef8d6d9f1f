"""``careledger demo``: simulate -> land -> dbt build -> ERP files -> serving snapshot -> extract.

Runs the Dagster jobs in-process (the same asset graph the UI shows) and ends with a summary
of rows per stage, files written, where they are and how long it took.
"""

from __future__ import annotations

import argparse
import shutil
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from careledger.config import Home


@dataclass
class DemoSummary:
    home: Path
    landing: Path
    stages: list[tuple[str, str, str]] = field(default_factory=list)  # stage, figure, detail
    files: list[Path] = field(default_factory=list)
    seconds: float = 0.0
    journal_debits: str = ""
    journal_credits: str = ""


def run_demo(args: argparse.Namespace) -> int:
    from rich.console import Console

    from careledger.orchestration.jobs import backfill, open_home, run_job

    console = Console(highlight=False)
    home: Home = open_home(getattr(args, "home", None))
    started = time.perf_counter()
    if getattr(args, "fresh", False):
        for p in (home.warehouse, Path(str(home.warehouse) + ".wal"), home.exports, home.serving, home.landing):
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()
        home.ensure()

    summary = DemoSummary(home=home.root, landing=home.landing)

    console.rule("1/5 simulate a small health system")
    t0 = time.perf_counter()
    synth = _simulate(home.landing, args, console)
    summary.stages.append(("simulate", f"{args.encounters:,} encounters", f"{synth} ({time.perf_counter() - t0:.1f}s)"))

    console.rule("2/5 land + dbt build + serving snapshot (Dagster job 'refresh', in-process)")
    t0 = time.perf_counter()
    run_job(home, "refresh", landing=home.landing)
    summary.stages.extend(_warehouse_figures(home.warehouse))
    summary.stages.append(("refresh job", "done", f"{time.perf_counter() - t0:.1f}s"))

    console.rule("3/5 ERP journals for every posting date (Dagster job 'daily_finance', one run)")
    t0 = time.perf_counter()
    lo, hi = _posting_window(home.warehouse)
    if lo is not None:
        backfill(home, lo, hi)
    summary.stages.append(("ERP postings", f"{lo}..{hi}", f"{time.perf_counter() - t0:.1f}s"))
    debit, credit = _journal_totals(home.warehouse)
    summary.journal_debits, summary.journal_credits = debit, credit

    console.rule("4/5 finance extract for the latest period")
    t0 = time.perf_counter()
    period = hi.strftime("%Y-%m") if hi else None
    if period:
        run_job(home, "month_close", partition_key=f"{period}-01")
    summary.stages.append(("finance extract", period or "-", f"{time.perf_counter() - t0:.1f}s"))

    console.rule("5/5 summary")
    summary.files = sorted(p for p in home.exports.rglob("*") if p.is_file())
    summary.seconds = time.perf_counter() - started
    _print_summary(console, summary, home)
    return 0


def _simulate(landing: Path, args: argparse.Namespace, console) -> str:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from careledger.simulator.simulator import synthesize

    with Progress(
        TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=console, transient=True
    ) as progress:
        task = progress.add_task("simulating", total=None)

        def on_progress(stage: str, done: int, total: int) -> None:
            progress.update(task, description=f"simulating: {stage}", completed=done, total=total or None)

        synthesize(
            landing, encounters=args.encounters, seed=args.seed, days=args.days, faults=0.0, progress=on_progress
        )
    files = sum(1 for p in landing.rglob("*") if p.is_file())
    return f"{files} files in {landing}"


def _warehouse_figures(warehouse: Path) -> list[tuple[str, str, str]]:
    out = []
    with duckdb.connect(str(warehouse), read_only=True) as con:
        r = con.execute(
            "select count(*), coalesce(sum(rows_read),0), coalesce(sum(rows_accepted),0), coalesce(sum(rows_quarantined),0) "
            "from raw_meta.batches where status = 'landed'"
        ).fetchone()
        out.append(("raw (landed)", f"{r[2]:,} records", f"{r[0]} files, {r[1]:,} read, {r[3]:,} quarantined"))
        for schema in ("staging", "intermediate", "core", "marts"):
            rows = con.execute(
                "select table_name, estimated_size from duckdb_tables() where schema_name = ? order by 1", [schema]
            ).fetchall()
            views = con.execute("select count(*) from duckdb_views() where schema_name = ?", [schema]).fetchone()[0]
            total = sum(int(x[1] or 0) for x in rows)
            out.append((f"dbt {schema}", f"{len(rows)} tables + {views} views", f"{total:,} rows"))
    return out


def _posting_window(warehouse: Path) -> tuple[date | None, date | None]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        lo, hi = con.execute("select min(posting_date), max(posting_date) from marts.mart_erp_journal_lines").fetchone()
    return lo, hi


def _journal_totals(warehouse: Path) -> tuple[str, str]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        d, c = con.execute("select sum(debit_amount), sum(credit_amount) from marts.mart_erp_journal_lines").fetchone()
    return f"{d or 0:,.2f}", f"{c or 0:,.2f}"


def _print_summary(console, s: DemoSummary, home: Home) -> None:
    from rich.table import Table

    t = Table(title="careledger demo")
    t.add_column("stage")
    t.add_column("figure", justify="right")
    t.add_column("detail")
    for stage in s.stages:
        t.add_row(*stage)
    t.add_row("journals", f"Dr {s.journal_debits}", f"Cr {s.journal_credits}")
    console.print(t)
    console.print(f"warehouse        {home.warehouse}")
    console.print(f"landing folder   {s.landing}")
    console.print(f"serving snapshot {home.serving}")
    console.print(f"files written    {len(s.files)} under {home.exports}")
    for f in s.files[:12]:
        console.print(f"  {f.relative_to(home.root)}")
    if len(s.files) > 12:
        console.print(f"  ... and {len(s.files) - 12} more")
    console.print("next: `make dashboard` for the executive dashboard, `make dev` for the Dagster UI")
    console.print(f"[bold]demo finished in {s.seconds:.1f}s[/bold]")
