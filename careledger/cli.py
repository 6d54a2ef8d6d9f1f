"""The ``careledger`` command line. Every command runs the same code the Dagster assets run;
``refresh``, ``backfill`` and ``demo`` execute the Dagster jobs in-process."""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from careledger import config
from careledger.config import REPO_ROOT, Home
from careledger.orchestration.jobs import (
    backfill,
    date_range_tags,
    materialization_meta,
    open_home,
    run_job,
    write_dagster_yaml,
)

log = logging.getLogger("careledger")


# --------------------------------------------------------------------------- helpers


def _console():
    import shutil as _shutil

    from rich.console import Console

    width = None if sys.stdout.isatty() else max(160, _shutil.get_terminal_size((160, 40)).columns)
    return Console(stderr=False, highlight=False, width=width)


def _setup_logging(verbose: bool, home: Home | None = None) -> None:
    level = logging.DEBUG if verbose else logging.INFO
    handlers: list[logging.Handler] = []
    from rich.logging import RichHandler

    handlers.append(
        RichHandler(
            level=logging.INFO if verbose else logging.WARNING, show_path=False, rich_tracebacks=False, markup=False
        )
    )
    if home is not None:
        home.logs.mkdir(parents=True, exist_ok=True)
        fh = logging.FileHandler(home.logs / "careledger.log")
        fh.setLevel(level)
        fh.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        handlers.append(fh)
    logging.basicConfig(level=level, handlers=handlers, force=True)
    for noisy in ("dagster", "dbt", "urllib3", "alembic", "sqlalchemy"):
        logging.getLogger(noisy).setLevel(logging.WARNING if not verbose else logging.INFO)


def _home(args: argparse.Namespace) -> Home:
    return open_home(getattr(args, "home", None))


def _parse_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (expected YYYY-MM-DD)") from None


# --------------------------------------------------------------------------- commands


def cmd_synth(args: argparse.Namespace) -> int:
    from careledger.simulator.cli import run_from_args

    run_from_args(args)
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from careledger.ingest.landing import IngestError
    from careledger.ingest.run import ingest_paths
    from careledger.orchestration.locking import warehouse_writer

    home = _home(args)
    console = _console()
    try:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} files"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=args.json,
        ) as progress:
            task = progress.add_task("ingesting", total=None)

            def on_file(result, i, n):
                progress.update(task, total=n, completed=i, description=f"ingesting {Path(result.path).name}")

            with warehouse_writer(home.warehouse, "careledger ingest", wait_seconds=args.wait):
                report = ingest_paths(
                    home.warehouse,
                    [Path(p) for p in args.paths],
                    source=args.source,
                    force=args.force,
                    progress=on_file,
                    wait_seconds=args.wait,
                )
    except IngestError as exc:
        console.print(f"[red]error:[/red] {exc}")
        return 2
    if args.json:
        print(json.dumps(report.as_dict(), indent=2, default=str))
        return 0
    from rich.table import Table

    table = Table(title=f"careledger ingest -> {home.warehouse}")
    for col in ("file", "format", "status", "read", "accepted", "quarantined", "note"):
        table.add_column(col, justify="right" if col in ("read", "accepted", "quarantined") else "left")
    for f in report.files:
        table.add_row(
            _short(f.path),
            f.format or "?",
            f.status,
            str(f.records_read),
            str(f.records_accepted),
            str(f.records_quarantined),
            (f.message or "")[:80],
        )
    t = report.totals
    table.add_row(
        "TOTAL",
        "",
        f"{t['files_landed']} landed / {t['files_skipped']} skipped / "
        f"{t['files_unknown']} unknown / {t['files_failed']} failed",
        str(t["records_read"]),
        str(t["records_accepted"]),
        str(t["records_quarantined"]),
        f"{report.seconds:.1f}s",
    )
    console.print(table)
    return 0


def _short(path: str) -> str:
    p = Path(path)
    return str(Path(*p.parts[-3:])) if len(p.parts) > 3 else path


def cmd_refresh(args: argparse.Namespace) -> int:
    home = _home(args)
    started = time.perf_counter()
    result = run_job(home, "refresh", landing=Path(args.landing).resolve() if args.landing else None)
    _print_materializations(result)
    _console().print(f"refresh done in {time.perf_counter() - started:.1f}s; warehouse {home.warehouse}")
    return 0


def _print_materializations(result) -> None:
    meta = materialization_meta(result)
    console = _console()
    for key, m in sorted(meta.items()):
        if key.startswith(("raw_", "publish/")):
            shown = {
                k: v
                for k, v in m.items()
                if k
                in (
                    "files_landed",
                    "records_accepted",
                    "records_quarantined",
                    "journals",
                    "lines",
                    "file_count",
                    "tables",
                    "rows",
                )
            }
            if shown:
                console.print(f"  {key}: {shown}")


def cmd_backfill(args: argparse.Namespace) -> int:
    home = _home(args)
    if args.date_to < args.date_from:
        raise SystemExit("--to is before --from")
    started = time.perf_counter()
    result = backfill(home, args.date_from, args.date_to)
    _print_materializations(result)
    _console().print(
        f"backfill {args.date_from}..{args.date_to} done in one run "
        f"({time.perf_counter() - started:.1f}s); files under {home.exports / 'erp'}"
    )
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    home = _home(args)
    console = _console()
    if args.what == "serving":
        from careledger.orchestration.locking import warehouse_writer
        from careledger.publish.serving import publish_serving_snapshot

        with warehouse_writer(home.warehouse, "publish serving"):
            result = publish_serving_snapshot(home.warehouse, home.serving)
        console.print(f"serving snapshot: {result}")
        return 0
    if not home.warehouse.exists():
        console.print(f"[red]error:[/red] warehouse {home.warehouse} does not exist; run `careledger refresh` first")
        return 2
    date_from, date_to = _date_window(args, home)
    partition_start = config.partition_start()
    before_partitions = date_from < date.fromisoformat(partition_start)
    if args.out or before_partitions:
        from careledger.orchestration.erp_posting import post_erp

        if before_partitions and not args.out:
            # archived data (an 835 from 2004) predates the daily partitions: the same function
            # the asset runs, called directly for the whole window, into the asset's folder
            console.print(
                f"journals from {date_from} predate the daily partitions ({partition_start}, "
                "CARELEDGER_PARTITION_START): publishing the window directly"
            )
        from careledger.publish.erp.base import ExportValidationError
        from careledger.publish.posting import PostingError

        out = Path(args.out).resolve() if args.out else None
        try:
            result = post_erp(home, args.target, date_from, date_to, out_dir=out)
        except (PostingError, ExportValidationError, ValueError) as exc:
            console.print(f"[red]error:[/red] {exc}")
            return 2
        console.print(_describe_publish(result))
        return _held_back(home, args.target, date_from, date_to)
    # default: the same Dagster asset the daily job runs, for this target only
    tags = date_range_tags(date_from, date_to)
    from dagster import AssetKey

    result = run_job(
        home, "daily_finance", tags=tags, asset_selection=[AssetKey(["publish", f"erp_journals_{args.target}"])]
    )
    _print_materializations(result)
    console.print(f"ERP files under {home.exports / 'erp' / args.target}")
    return _held_back(home, args.target, date_from, date_to)


# exit code of `careledger publish erp` when the other journals were written but some were held back
EXIT_JOURNALS_HELD = 3


def _held_back(home: Home, target: str, date_from: date, date_to: date) -> int:
    """Name the journals this publish held back (publish.held_journals) and say so in the exit code."""
    import duckdb

    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        try:
            rows = con.execute(
                "select reason_code, message, debit_total from publish.held_journals "
                "where target = ? and posting_date between ? and ? order by posting_date, journal_label",
                [target, date_from, date_to],
            ).fetchall()
        except duckdb.CatalogException:
            return 0
    if not rows:
        return 0
    console = _console()
    console.print(
        f"{len(rows)} journal(s) held back, the others were written (exception rows in publish.held_journals):"
    )
    for reason, message, debit in rows[:10]:
        console.print(f"  {reason}: {message} (debits {debit})")
    if len(rows) > 10:
        console.print(f"  ... and {len(rows) - 10} more")
    return EXIT_JOURNALS_HELD


def _describe_publish(result) -> str:
    files = getattr(result, "files", [])
    return (
        f"{len(files)} file(s) written, journals={getattr(result, 'journals', '?')}, "
        f"lines={getattr(result, 'lines', '?')}, debit={getattr(result, 'debit_total', '?')}, "
        f"credit={getattr(result, 'credit_total', '?')}" + "".join(f"\n  {f}" for f in files)
    )


def _date_window(args: argparse.Namespace, home: Home) -> tuple[date, date]:
    if args.date and (args.date_from or args.date_to):
        raise SystemExit("use either --date or --from/--to, not both")
    if args.date:
        return args.date, args.date
    if args.date_from or args.date_to:
        if not (args.date_from and args.date_to):
            raise SystemExit("give both --from and --to, or --date")
        return args.date_from, args.date_to
    import duckdb

    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        lo, hi = con.execute("select min(posting_date), max(posting_date) from marts.mart_erp_journal_lines").fetchone()
    if lo is None:
        raise SystemExit("no journal lines in the warehouse yet; run `careledger refresh` first")
    return lo, hi


def cmd_extract(args: argparse.Namespace) -> int:
    from careledger.publish.extracts import ExtractError, write_extract

    home = _home(args)
    console = _console()
    out = Path(args.out).resolve() if args.out else home.exports / "extracts"
    try:
        result = write_extract(home.serving, args.period, args.format, out)
    except ExtractError as exc:
        console.print(f"[red]error:[/red] {exc}")
        return 2
    from rich.table import Table

    t = Table(title=f"finance extract {args.period}: tie-out to posted journals")
    for c in ("check", "sheet total", "journal total", "difference", ""):
        t.add_column(c, justify="right" if c not in ("check", "") else "left")
    for tie in result.tieouts:
        t.add_row(
            tie.check,
            f"{tie.sheet_total:,.2f}",
            f"{tie.journal_total:,.2f}",
            f"{tie.difference:,.2f}",
            "tied" if tie.tied else "[red]BREAK[/red]",
        )
    console.print(t)
    for p in result.paths:
        console.print(f"wrote {p}")
    return 0 if result.all_tied else 1


def cmd_dashboard(args: argparse.Namespace) -> int:
    from careledger.dashboard.app import serve

    home = _home(args)
    _console().print(
        f"executive dashboard on http://{args.host}:{args.port}/ (serving snapshot {home.serving}); Ctrl-C stops it"
    )
    serve(home.serving, host=args.host, port=args.port)
    return 0


def cmd_ui(args: argparse.Namespace) -> int:
    home = _home(args)
    write_dagster_yaml(home)
    env = home.child_env(Path(args.landing).resolve() if args.landing else None)
    dagster = Path(sys.executable).parent / "dagster"
    cmd = [str(dagster), "dev", "-m", "careledger.orchestration.definitions", "-h", args.host, "-p", str(args.port)]
    _console().print(
        f"Dagster UI (webserver + daemon) on http://{args.host}:{args.port}/  DAGSTER_HOME={home.dagster_home}"
    )
    return subprocess.call(cmd, env=env, cwd=str(REPO_ROOT))


def cmd_bench(args: argparse.Namespace) -> int:
    from careledger.bench.orchestration import run_bench

    return run_bench(args)


def cmd_deliver(args: argparse.Namespace) -> int:
    from careledger.orchestration.locking import warehouse_writer
    from careledger.publish.delivery.webhook import DeliveryError, deliver_json

    home = _home(args)
    console = _console()
    try:
        with warehouse_writer(home.warehouse, f"deliver erp {args.target}"):
            result = deliver_json(home.warehouse, args.endpoint, home.exports / "erp")
    except DeliveryError as exc:
        console.print(f"[red]error:[/red] {exc}")
        return 2
    console.print(result.summary())
    for journal_id, text in list(result.rejected.items())[:10]:
        console.print(f"  rejected {journal_id}: {text}")
    return 0 if not (result.rejected or result.failed) else 1


def _delivery_status(con, console) -> None:
    """The latest delivery attempt of each journal not accepted yet, with the ERP's message."""
    import duckdb

    try:
        rows = con.execute(
            "select a.target, a.journal_id, l.facility_id, l.posting_date, a.outcome, a.http_status, a.message "
            "from publish.delivery_attempts a join publish.posting_ledger l using (target, journal_id) "
            "qualify row_number() over (partition by a.target, a.journal_id order by a.started_at desc, a.attempt desc) = 1 "
            "and a.outcome <> 'accepted' order by l.posting_date, l.facility_id limit 20"
        ).fetchall()
    except duckdb.CatalogException:  # nothing delivered yet
        return
    for r in rows:
        console.print(f"[yellow]not posted[/yellow] {r[0]} {r[1]} {r[2]} {r[3]}: {r[4]} (HTTP {r[5]}) {r[6] or ''}")


def cmd_status(args: argparse.Namespace) -> int:
    import duckdb

    home = _home(args)
    console = _console()
    if not home.warehouse.exists():
        console.print(f"no warehouse yet at {home.warehouse}; run `careledger demo` or `careledger ingest`")
        return 0
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        rows = con.execute(
            "select format, count(*) files, sum(rows_read), sum(rows_accepted), sum(rows_quarantined), max(finished_at) "
            "from raw_meta.batches where status = 'landed' group by 1 order by 1"
        ).fetchall()
        _delivery_status(con, console)
    from rich.table import Table

    t = Table(title=f"batches in {home.warehouse}")
    for c in ("format", "files", "read", "accepted", "quarantined", "last loaded"):
        t.add_column(c)
    for r in rows:
        t.add_row(*[str(x) for x in r])
    console.print(t)
    ops = home.root / "ops.duckdb"
    if ops.exists():
        with duckdb.connect(str(ops), read_only=True) as con:
            alerts = con.execute(
                "select raised_at, alert_type, message from alerts order by raised_at desc limit 5"
            ).fetchall()
        for a in alerts:
            console.print(f"[red]alert[/red] {a[0]} {a[1]}: {a[2]}")
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from careledger.orchestration.replay import ReplayError, replay

    home = _home(args)
    try:
        result = replay(home, batch_id=args.batch, crosswalks=args.crosswalks)
    except ReplayError as exc:
        _console().print(f"[red]error:[/red] {exc}")
        return 2
    console = _console()
    console.print(
        f"replayed from raw: {', '.join(result.raw_tables)} -> {result.assets_rebuilt} models rebuilt (full refresh)"
    )
    if result.exceptions_before is not None:
        console.print(f"mapping exceptions: {result.exceptions_before} before, {result.exceptions_after} after")
    return 0


def cmd_listen(args: argparse.Namespace) -> int:
    from careledger.ingest import mllp
    from careledger.ingest.landing import IngestError
    from careledger.orchestration.locking import warehouse_writer

    home = _home(args)
    if bool(args.tls_cert) != bool(args.tls_key):
        print("error: --tls-cert and --tls-key go together; give both or neither", file=sys.stderr)
        return 2
    try:
        context = mllp.tls_context(Path(args.tls_cert), Path(args.tls_key)) if args.tls_cert else None
        config = mllp.ListenerConfig(
            host=args.host,
            port=args.port,
            batch_messages=args.batch_messages,
            batch_seconds=args.batch_seconds,
            queue_size=args.queue_size,
            ssl_context=context,
            land=not args.no_land,
        )
        listener = mllp.Listener(
            home.root,
            home.warehouse,
            home.landing,
            config,
            writer_lock=lambda: warehouse_writer(home.warehouse, "careledger listen (MLLP micro-batch)"),
        )
        return listener.run(on_ready=lambda port: print(f"listening on {args.host}:{port}", flush=True))
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except IngestError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def cmd_demo(args: argparse.Namespace) -> int:
    from careledger.orchestration.demo import run_demo

    return run_demo(args)


# --------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="careledger",
        description="careledger: healthcare finance warehouse (EHR + billing + ERP -> DuckDB -> dbt -> ERP journals).",
        epilog="Everything is written under CARELEDGER_HOME (default ./.careledger).",
    )
    parser.add_argument("--home", help="CARELEDGER_HOME folder (default: $CARELEDGER_HOME or ./.careledger)")
    parser.add_argument("-v", "--verbose", action="store_true", help="more log output")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", help="simulate a small health system, ingest, build, publish; print where everything is")
    p.add_argument("--encounters", type=int, default=2000, help="encounters to simulate (default 2000)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--days", type=int, default=90, help="days of activity to simulate (default 90)")
    p.add_argument("--fresh", action="store_true", help="delete the demo warehouse and outputs first")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("synth", help="write a simulated landing folder with ground truth")
    from careledger.simulator.cli import add_arguments

    add_arguments(p)
    p.set_defaults(func=cmd_synth)

    from careledger.ingest.formats import SOURCE_CHOICES

    p = sub.add_parser("ingest", help="land files and folders into the warehouse (validated, with quarantine)")
    p.add_argument("paths", nargs="+", help="files or folders to land")
    p.add_argument("--source", choices=SOURCE_CHOICES, default="auto", help="force a format family (default: detect)")
    p.add_argument("--force", action="store_true", help="land files again even if their sha256 was landed before")
    p.add_argument("--json", action="store_true", help="print the per-file report as JSON")
    p.add_argument("--wait", type=float, default=60.0, help="seconds to wait for another writer (default 60)")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("listen", help="MLLP listener for real-time HL7 v2 (durable before it acknowledges)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=2575, help="TCP port (default 2575; 0 picks a free one)")
    p.add_argument("--tls-cert", help="PEM certificate chain: serve MLLP over TLS")
    p.add_argument("--tls-key", help="PEM private key for --tls-cert")
    p.add_argument("--batch-messages", type=int, default=500, help="land a micro-batch every N messages (500)")
    p.add_argument("--batch-seconds", type=float, default=5.0, help="... or every S seconds (5)")
    p.add_argument("--queue-size", type=int, default=1000, help="messages queued before senders are slowed (1000)")
    p.add_argument("--no-land", action="store_true", help="only journal (and ACK); land later with a listener run")
    p.set_defaults(func=cmd_listen)

    p = sub.add_parser("refresh", help="run the Dagster 'refresh' job in-process: land, dbt build, serving snapshot")
    p.add_argument("--landing", help="landing folder (default: $CARELEDGER_HOME/landing)")
    p.set_defaults(func=cmd_refresh)

    p = sub.add_parser("backfill", help="run the daily finance job (ERP postings) for a date range in one run")
    p.add_argument("--from", dest="date_from", type=_parse_date, required=True)
    p.add_argument("--to", dest="date_to", type=_parse_date, required=True)
    p.set_defaults(func=cmd_backfill)

    p = sub.add_parser("publish", help="publish ERP journal files or the serving snapshot")
    psub = p.add_subparsers(dest="what", required=True, metavar="WHAT")
    pe = psub.add_parser("erp", help="write balanced ERP journal files (exactly-once via the posting ledger)")
    from careledger.publish.erp import targets as erp_targets

    pe.add_argument("--target", choices=erp_targets.TARGETS, required=True, help=erp_targets.help_text())
    pe.add_argument("--date", type=_parse_date, help="one posting date")
    pe.add_argument("--from", dest="date_from", type=_parse_date)
    pe.add_argument("--to", dest="date_to", type=_parse_date)
    pe.add_argument("--out", help="output folder (default: $CARELEDGER_HOME/exports/erp, via the Dagster job)")
    pe.set_defaults(func=cmd_publish)
    ps = psub.add_parser("serving", help="publish serving.duckdb + Parquet for BI tools and the dashboard")
    ps.set_defaults(func=cmd_publish)

    p = sub.add_parser("deliver", help="send published ERP journals over an API (exactly once per journal)")
    dsub = p.add_subparsers(dest="what", required=True, metavar="WHAT")
    de = dsub.add_parser("erp", help="POST the published generic JSON journals to a signed webhook")
    de.add_argument(
        "--target",
        choices=erp_targets.DELIVERABLE,
        required=True,
        help=f"only {', '.join(erp_targets.DELIVERABLE)} (the signed webhook) so far",
    )
    de.add_argument("--endpoint", required=True, help="webhook URL")
    de.set_defaults(func=cmd_deliver)

    p = sub.add_parser("extract", help="write the reconciled finance extract for one period")
    p.add_argument("--period", required=True, help="YYYY-MM")
    p.add_argument("--format", choices=("xlsx", "csv"), default="xlsx")
    p.add_argument("--out", help="output folder (default: $CARELEDGER_HOME/exports/extracts)")
    p.set_defaults(func=cmd_extract)

    p = sub.add_parser("dashboard", help="start the executive dashboard on the serving snapshot")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8050)
    p.set_defaults(func=cmd_dashboard)

    p = sub.add_parser("ui", help="start the Dagster UI (webserver + daemon) on the same definitions")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=3000)
    p.add_argument("--landing", help="landing folder the assets read (default: $CARELEDGER_HOME/landing)")
    p.set_defaults(func=cmd_ui)

    p = sub.add_parser(
        "replay", help="reprocess a batch from raw, or everything downstream of the crosswalks after a fix"
    )
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--batch", help="batch id (raw_meta.batches) whose downstream models to rebuild")
    g.add_argument(
        "--crosswalks", action="store_true", help="rebuild everything that uses the crosswalks (after a mapping fix)"
    )
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("status", help="what has landed, quarantine counts and recent alerts")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("bench", help="benchmarks (figures go in docs/benchmarks.md)")
    from careledger.bench.orchestration import add_arguments as bench_args

    bench_args(p)
    p.set_defaults(func=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    home = Home.from_env(args.home)
    if args.home:
        config.set_home(home.root)
    if args.verbose:
        config.set_verbose()
    _setup_logging(args.verbose, home if args.command not in ("synth",) else None)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
