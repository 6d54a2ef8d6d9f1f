"""The ``careledger`` command line. Every command runs the same code the Dagster assets run;
``refresh``, ``backfill`` and ``demo`` execute the Dagster jobs in-process."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import os
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

# --------------------------------------------------------------------------- exit codes

#: Every exit code of ``careledger`` (README, "Exit codes"; docs/runbook.md). An expected failure
#: is one sentence on stderr saying what to do next, never a traceback.
EXIT_OK = 0
EXIT_BREAK = 1  # the command ran and found a break (an extract tie-out, a rejected delivery)
EXIT_USAGE = 2  # bad arguments or input (a period that is not YYYY-MM, --date with --from)
EXIT_JOURNALS_HELD = 3  # publish erp: the other journals were written, some were held back
#: the same code for refresh: a failing invariant held some marts back, the rest was published
#: (both say "ran; some outputs held back, listed; the rest published")
EXIT_OUTPUTS_HELD = EXIT_JOURNALS_HELD
EXIT_NOTHING_LANDED = 4  # no exports in the landing folder / no warehouse yet
EXIT_NOT_BUILT = 5  # the warehouse has no marts yet (dbt build has not run)
EXIT_BUSY = 6  # another careledger process is writing the warehouse
EXIT_PORT_IN_USE = 7  # the dashboard's or UI's port is taken
EXIT_NO_SNAPSHOT = 8  # no serving snapshot yet (publish serving / refresh)
EXIT_NO_PERIODS = 9  # the period asked for has no journals, or no period has any
EXIT_REMOTE = 10  # fetch fhir: the server is unreachable, refused the credentials, or the export failed
EXIT_INTERRUPTED = 130

EXIT_CODES: dict[int, str] = {
    EXIT_OK: "done",
    EXIT_BREAK: "ran, and found a break (extract tie-out BREAK, journals rejected by the ERP)",
    EXIT_USAGE: "bad arguments or input",
    EXIT_JOURNALS_HELD: "ran; some outputs held back and listed, the rest published (publish erp / backfill: "
    "journals in publish.held_journals; refresh: marts behind a failing invariant)",
    EXIT_NOTHING_LANDED: "nothing landed yet: no exports in the landing folder or no warehouse",
    EXIT_NOT_BUILT: "the warehouse has no marts yet: run `careledger refresh`",
    EXIT_BUSY: "another careledger process is writing the warehouse: run again when it has finished",
    EXIT_PORT_IN_USE: "the port is in use: pick another with --port",
    EXIT_NO_SNAPSHOT: "no serving snapshot yet: run `careledger publish serving` (or `refresh`)",
    EXIT_NO_PERIODS: "no journals for the period asked (the message lists the periods that have some)",
    EXIT_REMOTE: "the FHIR server is unreachable, refused careledger's credentials, or failed the export",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C)",
}


class CliFailure(Exception):
    """An expected failure: one sentence with what to do next, and its exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


#: ``--json``: stdout carries only JSON; human output and logs go to stderr. ``held`` collects
#: the JSON document while ``_only_json_on_stdout`` points stdout at stderr.
_JSON: dict = {"on": False, "held": None}


def _json_print(text: str) -> None:
    if _JSON["held"] is not None:
        _JSON["held"].append(text + "\n")
        return
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


@contextlib.contextmanager
def _only_json_on_stdout():
    """For the block, file descriptor 1 and ``sys.stdout`` point at stderr, so nothing reaches
    stdout but the JSON document, which ``_json_print`` holds back and the end of the block
    writes to the restored stdout: not dagster-dbt, which re-emits every dbt log line on
    ``sys.stdout``, nor a child process that inherits fd 1."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    previous = sys.stdout
    sys.stdout = sys.stderr
    _JSON["held"] = []
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 1)
        os.close(saved)
        sys.stdout = previous
        held, _JSON["held"] = _JSON["held"], None
        sys.stdout.write("".join(held))
        sys.stdout.flush()


def _console():
    import shutil as _shutil

    from rich.console import Console

    if _JSON["on"]:
        return Console(stderr=True, highlight=False)
    width = None if sys.stdout.isatty() else max(160, _shutil.get_terminal_size((160, 40)).columns)
    return Console(stderr=False, highlight=False, width=width)


def _emit(payload: dict) -> bool:
    """With ``--json``, print ``payload`` as the only thing on stdout and say so (True)."""
    if not _JSON["on"]:
        return False
    _json_print(json.dumps(payload, indent=2, default=str))
    return True


def _require_warehouse(home: Home) -> None:
    if not home.warehouse.exists():
        raise CliFailure(
            f"nothing has landed yet (no warehouse at {home.warehouse}): put your exports in {home.landing} "
            "and run `careledger refresh`, or try `careledger demo`",
            EXIT_NOTHING_LANDED,
        )


def _require_marts(home: Home, mart: str = "mart_erp_journal_lines") -> None:
    """The warehouse exists and dbt has built ``mart``."""
    _require_warehouse(home)
    with _read_only(home) as con:
        built = con.execute(
            "select count(*) from information_schema.tables where table_schema = 'marts' and table_name = ?", [mart]
        ).fetchone()[0]
    if not built:
        raise CliFailure(
            f"the warehouse {home.warehouse} has no marts yet (no marts.{mart}): run `careledger refresh` first",
            EXIT_NOT_BUILT,
        )


def _read_only(home: Home):
    """A read-only connection to the warehouse; a writer holding it is :data:`EXIT_BUSY`."""
    import duckdb

    try:
        return duckdb.connect(str(home.warehouse), read_only=True)
    except duckdb.IOException as exc:
        if "lock" not in str(exc).lower():
            raise
        raise CliFailure(_busy_sentence(home), EXIT_BUSY) from None


def _busy_sentence(home: Home) -> str:
    from careledger.orchestration.locking import read_holder

    holder = read_holder(home.warehouse)
    who = holder.describe() if holder is not None else "another process"
    return (
        f"the warehouse {home.warehouse} is being written by {who}: "
        "run this again when it has finished (`careledger status` shows it)"
    )


def _port_free(host: str, port: int) -> None:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            raise CliFailure(
                f"port {port} on {host} is in use (another dashboard or UI?): stop it or pick another with --port",
                EXIT_PORT_IN_USE,
            ) from None


def _setup_logging(verbose: bool, home: Home | None = None) -> None:
    level = logging.DEBUG if verbose else logging.INFO
    handlers: list[logging.Handler] = []
    from rich.console import Console
    from rich.logging import RichHandler

    # logs go to stderr, so stdout carries only the summary (or, with --json, only JSON)
    handlers.append(
        RichHandler(
            console=Console(stderr=True),
            level=logging.INFO if verbose else logging.WARNING,
            show_path=False,
            rich_tracebacks=False,
            markup=False,
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
        _json_print(json.dumps(report.as_dict(), indent=2, default=str))
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


def _landing_files(landing: Path) -> list[Path]:
    return [p for p in landing.rglob("*") if p.is_file() and not p.name.startswith(".")] if landing.is_dir() else []


def cmd_refresh(args: argparse.Namespace) -> int:
    home = _home(args)
    landing = Path(args.landing).resolve() if args.landing else home.landing
    if not _landing_files(landing) and not home.warehouse.exists():
        raise CliFailure(
            f"nothing to refresh: the landing folder {landing} has no files and nothing has landed yet; "
            "copy your exports there (README, 'Your own exports, step by step') or run `careledger demo`",
            EXIT_NOTHING_LANDED,
        )
    started = time.perf_counter()
    result = run_job(home, "refresh", landing=landing if args.landing else None)
    seconds = time.perf_counter() - started
    meta = materialization_meta(result)
    if _JSON["on"]:
        held = _held_back_payload(home)
        _emit(
            {
                "command": "refresh",
                "seconds": round(seconds, 1),
                "warehouse": home.warehouse,
                "assets": meta,
                "held_back": held,
            }
        )
        # the same exit code as without --json: 3 when the build held outputs back
        return EXIT_OUTPUTS_HELD if held else EXIT_OK
    _print_materializations(meta)
    _console().print(f"refresh done in {seconds:.1f}s; warehouse {home.warehouse}; serving snapshot {home.serving}")
    return _report_build_status(home)


def _held_back_payload(home) -> dict | None:
    """What the last dbt build held back, for ``--json``: None when it held nothing back."""
    from careledger.publish.build_status import BuildStatus
    from careledger.publish.contracts import public_mart_names

    status = BuildStatus.read(home.build_status)
    if status.is_clean:
        return None
    return {
        "blocked_models": list(status.blocked_models),
        "failed_models": list(status.failed_models),
        "failed_tests": [
            {"name": t.name, "models": list(t.models), "failures": t.failures, "message": t.message}
            for t in status.failed_tests
        ],
        "not_published": status.held_back(public_mart_names()),
    }


def _report_build_status(home) -> int:
    """Exit 3 (and say what and why) when the dbt build held outputs back; 0 otherwise."""
    from careledger.publish.build_status import BuildStatus
    from careledger.publish.contracts import public_mart_names

    status = BuildStatus.read(home.build_status)
    if status.is_clean:
        return EXIT_OK
    console = _console()
    held = status.held_back(public_mart_names())
    console.print(
        f"[yellow]held back:[/yellow] {len(status.blocked_models)} model(s) not rebuilt and "
        f"{len(held)} public mart(s) left out of the serving snapshot; everything else was published."
    )
    for line in status.summary().splitlines():
        console.print(f"  {line}")
    for mart, why in held.items():
        console.print(f"  not published: {mart} ({why})")
    console.print(
        "  fix the failing invariant (see `dbt build` output in the logs folder), then run `careledger refresh`."
    )
    return EXIT_OUTPUTS_HELD


#: The figures of each asset a person reads in the summary, with their labels.
_SUMMARY_FIGURES = (
    ("files_landed", "files landed"),
    ("records_accepted", "records accepted"),
    ("records_quarantined", "quarantined"),
    ("journals", "journals"),
    ("lines", "lines"),
    ("debit_total", "debits"),
    ("file_count", "files"),
    ("tables", "tables"),
    ("rows", "rows"),
)


def _print_materializations(meta: dict[str, dict]) -> None:
    """One table row per raw or publish asset with its figures (no dicts)."""
    from rich.table import Table

    rows = []
    for key, m in sorted(meta.items()):
        if not key.startswith(("raw_", "publish/")):
            continue
        figures = []
        for name, label in _SUMMARY_FIGURES:
            if name in m:
                value = m[name]
                text = (
                    f"{value:,.2f}" if isinstance(value, float) else f"{value:,}" if isinstance(value, int) else value
                )
                figures.append(f"{label} {text}")
        if figures:
            rows.append((key, ", ".join(figures)))
    if not rows:
        return
    t = Table(show_header=True, box=None)
    t.add_column("asset")
    t.add_column("result")
    for row in rows:
        t.add_row(*row)
    _console().print(t)


def _refresh_serving(home: Home) -> None:
    """Publish the serving snapshot again after a posting, so BI and the dashboard see the
    posting ledger and the held journals as they stand (not as they stood before posting)."""
    from careledger.orchestration.locking import warehouse_writer
    from careledger.publish.serving import SnapshotError, publish_serving_snapshot

    try:
        with warehouse_writer(home.warehouse, "publish serving (after posting)"):
            publish_serving_snapshot(home.warehouse, home.serving)
    except SnapshotError as exc:
        log.warning("serving snapshot not refreshed after posting: %s", exc)


def cmd_backfill(args: argparse.Namespace) -> int:
    home = _home(args)
    if args.date_to < args.date_from:
        raise CliFailure(f"--to {args.date_to} is before --from {args.date_from}", EXIT_USAGE)
    _require_marts(home)
    started = time.perf_counter()
    result = backfill(home, args.date_from, args.date_to)
    _refresh_serving(home)
    seconds = time.perf_counter() - started
    meta = materialization_meta(result)
    held = _held_rows(home, None, args.date_from, args.date_to)
    payload = {
        "command": "backfill",
        "from": args.date_from,
        "to": args.date_to,
        "seconds": round(seconds, 1),
        "assets": meta,
        "held_journals": [dict(zip(_HELD_COLUMNS, r)) for r in held],
        "erp_folder": home.erp_exports,
    }
    if _emit(payload):
        return EXIT_JOURNALS_HELD if held else EXIT_OK
    _print_materializations(meta)
    _console().print(
        f"backfill {args.date_from}..{args.date_to} done in one run ({seconds:.1f}s); files under {home.erp_exports}; "
        "serving snapshot refreshed"
    )
    return _print_held(held)


def cmd_publish(args: argparse.Namespace) -> int:
    home = _home(args)
    console = _console()
    if args.what == "serving":
        from careledger.orchestration.locking import warehouse_writer
        from careledger.publish.serving import NoMartsError, publish_serving_snapshot

        _require_warehouse(home)
        try:
            with warehouse_writer(home.warehouse, "publish serving", wait_seconds=args.wait):
                result = publish_serving_snapshot(home.warehouse, home.serving)
        except NoMartsError as exc:
            raise CliFailure(str(exc), EXIT_NOT_BUILT) from None
        payload = {
            "command": "publish serving",
            "path": result.path,
            "version": result.version,
            "tables": result.tables,
            "rows": result.rows,
            "bytes": result.bytes,
            "missing_marts": list(result.missing_marts),
        }
        if _emit(payload):
            return EXIT_OK
        console.print(
            f"serving snapshot {result.version}: {len(result.tables)} tables, {result.rows:,} rows, "
            f"{result.bytes / 1e6:.1f} MB at {home.serving / 'serving.duckdb'} (Parquet in {home.serving / 'parquet'})"
        )
        if result.missing_marts:
            console.print(f"not in the warehouse, so not published: {', '.join(result.missing_marts)}")
        return EXIT_OK
    _require_marts(home)
    date_from, date_to = _date_window(args, home)
    if args.resend:
        return _resend(home, args.target, date_from, date_to, Path(args.out).resolve())
    from careledger.orchestration.partitions import PARTITION_START as partition_start

    before_partitions = date_from < date.fromisoformat(partition_start)
    if args.out or before_partitions:
        from careledger.orchestration.erp_posting import post_erp

        if before_partitions and not args.out:
            # archived data (an 835 from 2004) predates the daily partitions: the same function
            # the asset runs, called directly for the whole window, into the asset's folder
            console.print(
                f"journals from {date_from} predate the daily partitions ({partition_start}): "
                "publishing the window directly"
            )
        from careledger.publish.erp.base import ExportValidationError
        from careledger.publish.posting import PostingError

        out = Path(args.out).resolve() if args.out else None
        try:
            result = post_erp(home, args.target, date_from, date_to, out_dir=out)
        except (PostingError, ExportValidationError, ValueError) as exc:
            raise CliFailure(str(exc), EXIT_USAGE) from None
        _refresh_serving(home)
        held = _held_rows(home, args.target, date_from, date_to)
        if _emit(_publish_payload(result, held)):
            return EXIT_JOURNALS_HELD if held else EXIT_OK
        console.print(_describe_publish(result, out or home.erp_exports))
        return _print_held(held)
    # default: the same Dagster asset the daily job runs, for this target only
    tags = date_range_tags(date_from, date_to)
    from dagster import AssetKey

    result = run_job(
        home, "daily_finance", tags=tags, asset_selection=[AssetKey(["publish", f"erp_journals_{args.target}"])]
    )
    _refresh_serving(home)
    meta = materialization_meta(result)
    held = _held_rows(home, args.target, date_from, date_to)
    if _emit({"command": "publish erp", "target": args.target, "assets": meta, "held_journals": _held_dicts(held)}):
        return EXIT_JOURNALS_HELD if held else EXIT_OK
    m = meta.get(f"publish/erp_journals_{args.target}", {})
    if m.get("file_count", 0) == 0 and held:
        console.print(f"0 files written: no journal of {date_from}..{date_to} is new to post to {args.target}")
    elif m.get("file_count", 0) == 0:
        console.print(
            f"0 files written: every journal of {date_from}..{date_to} was already posted to {args.target} as it "
            f"stands (re-send them with `--resend --out DIR`)"
        )
    else:
        _print_materializations(meta)
    console.print(f"ERP files under {home.erp_exports / args.target}")
    return _print_held(held)


_HELD_COLUMNS = ("target", "posting_date", "journal_label", "reason_code", "message", "debit_total")


def _held_rows(home: Home, target: str | None, date_from: date, date_to: date) -> list[tuple]:
    """The journals a posting held back (publish.held_journals) in the window."""
    import duckdb

    with _read_only(home) as con:
        try:
            return con.execute(
                f"select {', '.join(_HELD_COLUMNS)} from publish.held_journals "
                "where (? is null or target = ?) and posting_date between ? and ? "
                "order by target, posting_date, journal_label",
                [target, target, date_from, date_to],
            ).fetchall()
        except duckdb.CatalogException:
            return []


def _held_dicts(rows: list[tuple]) -> list[dict]:
    return [dict(zip(_HELD_COLUMNS, r)) for r in rows]


def _print_held(rows: list[tuple]) -> int:
    """Name the held journals (per target, then the first few reasons) and say so in the exit
    code (:data:`EXIT_JOURNALS_HELD`)."""
    if not rows:
        return EXIT_OK
    console = _console()
    by_target: dict[str, list[tuple]] = {}
    for r in rows:
        by_target.setdefault(r[0], []).append(r)
    console.print(
        f"{len(rows)} journal(s) held back, the others were written (map the codes, rebuild, then post again; "
        "rows in publish.held_journals, and the extract's Held journals sheet):"
    )
    for target, held in by_target.items():
        console.print(f"  {target}: {len(held)} journal(s), debits {sum(r[5] for r in held):,.2f}")
    seen: dict[str, tuple] = {}
    for r in rows:
        seen.setdefault(r[2], r)
    for *_, reason, message, debit in list(seen.values())[:5]:
        console.print(f"  {reason}: {message} (debits {debit:,.2f})")
    if len(seen) > 5:
        console.print(f"  ... and {len(seen) - 5} more journal(s)")
    return EXIT_JOURNALS_HELD


def _publish_payload(result, held: list[tuple]) -> dict:
    return {
        "command": "publish erp",
        "target": result.target,
        "files": [str(f) for f in result.files],
        "journals": result.journals,
        "lines": result.lines,
        "debit_total": result.debit_total,
        "credit_total": result.credit_total,
        "unchanged_journals": result.unchanged_journals,
        "held_journals": _held_dicts(held),
    }


def _describe_publish(result, folder: Path) -> str:
    if not result.files:
        return (
            f"0 files written to {folder}: all {result.unchanged_journals} journals of the window were already posted "
            f"to {result.target} as they stand; to send those files again use "
            f"`careledger publish erp --target {result.target} --resend --out DIR`"
        )
    return (
        f"{len(result.files)} file(s) written: {result.journals} journals, {result.lines} lines, "
        f"debits {result.debit_total:,.2f} = credits {result.credit_total:,.2f}"
        + "".join(f"\n  {f}" for f in result.files)
    )


def _resend(home: Home, target: str, date_from: date, date_to: date, out: Path) -> int:
    """Copy the files already posted for the window (the posting ledger's file names) into
    ``out``, unchanged: for an ERP import that was lost or must be loaded again. The ledger is not
    touched: these journals stay posted once."""
    import shutil

    import duckdb

    with _read_only(home) as con:
        try:
            names = [
                r[0]
                for r in con.execute(
                    "select distinct file_name from publish.posting_ledger "
                    "where target = ? and posting_date between ? and ? order by 1",
                    [target, date_from, date_to],
                ).fetchall()
            ]
        except duckdb.CatalogException:
            names = []
    if not names:
        raise CliFailure(
            f"nothing was posted to {target} for {date_from}..{date_to}, so there is nothing to re-send: "
            f"post it first with `careledger publish erp --target {target}`",
            EXIT_NO_PERIODS,
        )
    folder = home.erp_exports / target
    found = {p.name: p for p in folder.rglob("*") if p.is_file()} if folder.is_dir() else {}
    missing = [n for n in names if Path(n).name not in found]
    if missing:
        raise CliFailure(
            f"{len(missing)} posted file(s) are no longer under {folder} (first: {missing[0]}): "
            "restore them from your backup; the posting ledger still lists them",
            EXIT_USAGE,
        )
    out.mkdir(parents=True, exist_ok=True)
    copied = []
    for n in names:
        dest = out / Path(n).name
        shutil.copy2(found[Path(n).name], dest)
        copied.append(dest)
    if _emit({"command": "publish erp --resend", "target": target, "files": copied}):
        return EXIT_OK
    _console().print(
        f"re-sent {len(copied)} already posted file(s) of {target} for {date_from}..{date_to} to {out} "
        "(unchanged; the posting ledger is not touched):" + "".join(f"\n  {f}" for f in copied)
    )
    return EXIT_OK


def _date_window(args: argparse.Namespace, home: Home) -> tuple[date, date]:
    if args.date and (args.date_from or args.date_to):
        raise CliFailure("use either --date or --from/--to, not both", EXIT_USAGE)
    if args.date:
        return args.date, args.date
    if args.date_from or args.date_to:
        if not (args.date_from and args.date_to):
            raise CliFailure("give both --from and --to, or --date", EXIT_USAGE)
        return args.date_from, args.date_to
    with _read_only(home) as con:
        lo, hi = con.execute("select min(posting_date), max(posting_date) from marts.mart_erp_journal_lines").fetchone()
    if lo is None:
        raise CliFailure(
            "the warehouse has no journal lines yet (nothing dated has landed): land your exports and run "
            "`careledger refresh`",
            EXIT_NO_PERIODS,
        )
    return lo, hi


def cmd_extract(args: argparse.Namespace) -> int:
    from careledger.publish.extracts import ExtractError, default_source, write_extract

    home = _home(args)
    _require_warehouse(home)
    out = Path(args.out).resolve() if args.out else home.extracts
    try:
        source = default_source(home)
        if source == home.warehouse:
            _require_marts(home)
        result = write_extract(source, args.period, args.format, out)
    except ExtractError as exc:
        raise CliFailure(str(exc), _EXTRACT_CODES.get(exc.kind, EXIT_USAGE)) from None
    payload = {
        "command": "extract",
        "period": args.period,
        "source": result.source,
        "paths": result.paths,
        "sheets": result.sheets,
        "all_tied": result.all_tied,
        "tieouts": [
            {
                "check": t.check,
                "sheet_total": t.sheet_total,
                "journal_total": t.journal_total,
                "difference": t.difference,
                "tied": t.tied,
            }
            for t in result.tieouts
        ],
    }
    if _emit(payload):
        return EXIT_OK if result.all_tied else EXIT_BREAK
    from rich.table import Table

    console = _console()
    t = Table(title=f"finance extract {args.period}: tie-out to posted journals (source {result.source})")
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
    held = result.sheets.get("held_journals", 0)
    if held:
        console.print(f"{held} journal(s) of {args.period} held back from posting: see the Held journals sheet")
    for p in result.paths:
        console.print(f"wrote {p}")
    return EXIT_OK if result.all_tied else EXIT_BREAK


#: ExtractError.kind -> exit code
_EXTRACT_CODES = {
    "usage": EXIT_USAGE,
    "no_build": EXIT_NOT_BUILT,
    "no_period": EXIT_NO_PERIODS,
    "busy": EXIT_BUSY,
    "nothing_landed": EXIT_NOTHING_LANDED,
}


def cmd_dashboard(args: argparse.Namespace) -> int:
    from careledger.dashboard.app import serve

    home = _home(args)
    if not (home.serving / "current").exists():
        raise CliFailure(
            f"no serving snapshot under {home.serving} yet: run `careledger refresh` (or `careledger publish serving` "
            "after a build), then start the dashboard",
            EXIT_NO_SNAPSHOT,
        )
    _port_free(args.host, args.port)
    _console().print(
        f"executive dashboard on http://{args.host}:{args.port}/ (serving snapshot {home.serving}); Ctrl-C stops it"
    )
    serve(home.serving, host=args.host, port=args.port)
    return EXIT_OK


def cmd_ui(args: argparse.Namespace) -> int:
    from careledger.orchestration.dbt_manifest import ensure_manifest
    from careledger.orchestration.ui import run_ui

    home = _home(args)
    _port_free(args.host, args.port)
    # parse the dbt project here, once, when the manifest is stale: otherwise the code server
    # loading the definitions runs `dbt parse` while the UI waits (docs/benchmarks.md)
    ensure_manifest()
    write_dagster_yaml(home)
    env = home.child_env(Path(args.landing).resolve() if args.landing else None)
    _console().print(
        f"Dagster UI (webserver + daemon) on http://{args.host}:{args.port}/  DAGSTER_HOME={home.dagster_home}; "
        "Ctrl-C or SIGTERM stops both"
    )
    return run_ui(args.host, args.port, env=env, cwd=REPO_ROOT)


def cmd_bench(args: argparse.Namespace) -> int:
    from careledger.bench.orchestration import run_bench

    return run_bench(args)


def cmd_deliver(args: argparse.Namespace) -> int:
    from contextlib import nullcontext

    from careledger.orchestration.locking import warehouse_writer
    from careledger.publish.delivery.engine import DeliveryError, deliver_erp

    home = _home(args)
    console = _console()
    # a dry run only reads: it needs no write lock
    lock = nullcontext() if args.dry_run else warehouse_writer(home.warehouse, f"deliver erp {args.target}")
    try:
        with lock:
            result = deliver_erp(
                home.warehouse,
                args.target,
                args.endpoint,
                home.exports / "erp",
                dry_run=args.dry_run,
                resend_in_doubt=args.resend_in_doubt,
                echo=lambda line: console.print(line, markup=False, highlight=False),
            )
    except DeliveryError as exc:
        raise CliFailure(str(exc), EXIT_USAGE) from None
    code = EXIT_OK if args.dry_run or not (result.rejected or result.failed or result.stopped) else EXIT_BREAK
    if _emit({"command": "deliver erp", **dataclasses.asdict(result), "summary": result.summary(), "exit_code": code}):
        return code
    console.print(result.summary())
    for label, problems in (
        ("stopped", result.stopped),
        ("rejected", result.rejected),
        ("not delivered", result.failed),
    ):
        for journal_id, text in list(problems.items())[:10]:
            console.print(f"  {label} {journal_id}: {text}")
    return code


def _status_data(home: Home) -> dict:
    """What has landed (batches with ids), what failed, files not landed, open exceptions,
    held journals, deliveries not accepted and recent alerts; read-only."""
    import duckdb

    out: dict = {"warehouse": home.warehouse, "landing": home.landing}
    with _read_only(home) as con:

        def q(sql: str, params: list | None = None) -> list[tuple]:
            try:
                return con.execute(sql, params or []).fetchall()
            except duckdb.CatalogException:  # that part has not been built or written yet
                return []

        cols = ("format", "files", "read", "accepted", "quarantined", "last_loaded")
        out["by_format"] = [
            dict(zip(cols, r))
            for r in q(
                "select format, count(*), sum(rows_read), sum(rows_accepted), sum(rows_quarantined), max(finished_at) "
                "from raw_meta.batches where status = 'landed' group by 1 order by 1"
            )
        ]
        cols = ("batch_id", "status", "format", "file_name", "accepted", "quarantined", "finished_at", "message")
        out["batches"] = [
            dict(zip(cols, r))
            for r in q(
                f"select {', '.join(c if c != 'accepted' and c != 'quarantined' else 'rows_' + c for c in cols)} "
                "from raw_meta.batches order by coalesce(finished_at, started_at) desc limit 15"
            )
        ]
        out["failed_batches"] = [
            dict(zip(cols, r))
            for r in q(
                f"select {', '.join(c if c != 'accepted' and c != 'quarantined' else 'rows_' + c for c in cols)} "
                "from raw_meta.batches where status = 'failed' order by started_at desc"
            )
        ]
        landed_paths = {r[0] for r in q("select distinct source_file from raw_meta.batches")}
        out["files_not_landed"] = [
            str(f)
            for f in _landing_files(home.landing)
            if str(f) not in landed_paths and str(f.resolve()) not in landed_paths
        ]
        out["open_exceptions"] = [
            dict(zip(("reason_code", "rows", "amount"), r))
            for r in q(
                "select reason_code, count(*), sum(amount) from marts.mart_reconciliation_exceptions "
                "group by 1 order by 2 desc"
            )
        ]
        out["held_journals"] = [
            dict(zip(("target", "reason_code", "journals", "debit_total"), r))
            for r in q(
                "select target, reason_code, count(*), sum(debit_total) from publish.held_journals "
                "group by 1, 2 order by 1, 2"
            )
        ]
        out["deliveries_not_accepted"] = [
            dict(zip(("target", "journal_id", "facility_id", "posting_date", "outcome", "http_status", "message"), r))
            for r in q(
                "select a.target, a.journal_id, l.facility_id, l.posting_date, a.outcome, a.http_status, a.message "
                "from publish.delivery_attempts a join publish.posting_ledger l using (target, journal_id) "
                "qualify row_number() over (partition by a.target, a.journal_id "
                "order by a.started_at desc, a.attempt desc) = 1 "
                "and a.outcome <> 'accepted' order by l.posting_date, l.facility_id limit 20"
            )
        ]
    ops = home.root / "ops.duckdb"
    out["alerts"] = []
    if ops.exists():
        with duckdb.connect(str(ops), read_only=True) as con:
            out["alerts"] = [
                dict(zip(("raised_at", "alert_type", "message"), r))
                for r in con.execute(
                    "select raised_at, alert_type, message from alerts order by raised_at desc limit 5"
                ).fetchall()
            ]
    return out


def _lock_data(home: Home) -> dict:
    """Who holds the warehouse write lock and since when (``careledger status``)."""
    from dataclasses import asdict
    from datetime import UTC, datetime

    from careledger.orchestration.locking import lock_status
    from careledger.orchestration.stale_runs import unfinished_runs

    status = lock_status(home.warehouse)
    holder = status.holder
    runs = []
    if (home.dagster_home / "dagster.yaml").exists():
        from careledger.orchestration.jobs import dagster_instance

        runs = [dict(zip(("run_id", "job", "status", "owner"), r)) for r in unfinished_runs(dagster_instance(home))]
    return {
        "held": status.held,
        "stale": status.stale,
        "holder": asdict(holder) if holder is not None else None,
        "since": datetime.fromtimestamp(holder.since, UTC).isoformat(timespec="seconds") if holder else None,
        "description": status.describe(),
        "unfinished_runs": runs,
    }


def _print_lock(lock: dict, console) -> None:
    console.print(f"warehouse lock: {lock['description']}")
    for r in lock["unfinished_runs"]:
        console.print(f"unfinished Dagster run {r['run_id']} ({r['job']}, {r['status']}): {r['owner']}")


def cmd_unlock(args: argparse.Namespace) -> int:
    """Free the lock record of a writer that died; refuse while it is alive."""
    from careledger.orchestration.locking import HolderAlive, unlock
    from careledger.orchestration.stale_runs import reap_dead_runs

    home = _home(args)
    try:
        message = unlock(home.warehouse)
    except HolderAlive as exc:
        raise CliFailure(str(exc), EXIT_BUSY) from None
    reaped = []
    if (home.dagster_home / "dagster.yaml").exists():
        from careledger.orchestration.jobs import dagster_instance

        reaped = [r.run_id for r in reap_dead_runs(dagster_instance(home), home.warehouse)]
    if _emit({"command": "unlock", "message": message, "failed_dead_runs": reaped}):
        return EXIT_OK
    console = _console()
    console.print(message)
    for run_id in reaped:
        console.print(f"marked failed (its process is gone) and freed its concurrency slots: Dagster run {run_id}")
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    home = _home(args)
    console = _console()
    lock = _lock_data(home)
    if not home.warehouse.exists():
        files = len(_landing_files(home.landing))
        if _emit({"warehouse": None, "landing": home.landing, "files_in_landing": files, "lock": lock}):
            return EXIT_OK
        _print_lock(lock, console)
        console.print(
            f"nothing has landed yet (no warehouse at {home.warehouse}); {files} file(s) in {home.landing}: "
            "run `careledger refresh` to land and build them, or `careledger demo`"
        )
        return EXIT_OK
    if bool(args.facility) != bool(args.date):
        raise CliFailure(
            "give --facility and --date together (why did facility X's journals post on day D?)", EXIT_USAGE
        )
    if args.facility:
        return _print_journal_trail(home, args.facility, args.date, console)
    data = {**_status_data(home), "lock": lock}
    if _emit(data):
        return EXIT_OK
    _print_lock(lock, console)
    from rich.table import Table

    def table(title: str, rows: list[dict], columns: tuple[str, ...]) -> None:
        t = Table(title=title, title_justify="left")
        for c in columns:
            t.add_column(c.replace("_", " "))
        for r in rows:
            t.add_row(
                *["" if r[c] is None else f"{r[c]:,.2f}" if hasattr(r[c], "quantize") else str(r[c]) for c in columns]
            )
        console.print(t)

    table(
        f"landed in {home.warehouse}",
        data["by_format"],
        ("format", "files", "read", "accepted", "quarantined", "last_loaded"),
    )
    table(
        "latest batches (ids for `careledger replay --batch`)",
        data["batches"],
        ("batch_id", "status", "format", "file_name", "accepted", "quarantined", "finished_at"),
    )
    if data["failed_batches"]:
        table("failed batches", data["failed_batches"], ("batch_id", "format", "file_name", "message"))
    else:
        console.print("failed batches: none")
    if data["files_not_landed"]:
        console.print(
            f"{len(data['files_not_landed'])} file(s) in {home.landing} not landed (unknown format, or not ingested "
            "yet; `careledger ingest FILE` says which):"
        )
        for f in data["files_not_landed"][:10]:
            console.print(f"  {f}")
    else:
        console.print("files not landed: none")
    if data["open_exceptions"]:
        table("open reconciliation exceptions", data["open_exceptions"], ("reason_code", "rows", "amount"))
    else:
        console.print("open reconciliation exceptions: none")
    if data["held_journals"]:
        table(
            "journals held back from posting (publish.held_journals)",
            data["held_journals"],
            ("target", "reason_code", "journals", "debit_total"),
        )
    else:
        console.print("held journals: none")
    for r in data["deliveries_not_accepted"]:
        console.print(
            f"[yellow]not posted[/yellow] {r['target']} {r['journal_id']} {r['facility_id']} {r['posting_date']}: "
            f"{r['outcome']} (HTTP {r['http_status']}) {r['message'] or ''}"
        )
    for a in data["alerts"]:
        console.print(f"[red]alert[/red] {a['raised_at']} {a['alert_type']}: {a['message']}")
    return EXIT_OK


def _journal_trail(home: Home, facility_id: str, day: date) -> dict:
    """Every journal of one facility and posting date, and per ERP target what became of it:
    posted (period, file), held back (reason and message), and its latest delivery attempt
    (outcome, HTTP status, the ERP's document id or its own rejection text); read-only."""
    import duckdb

    from careledger.publish.erp.targets import TARGETS

    with _read_only(home) as con:

        def q(sql: str, params: list) -> list[dict]:
            try:
                cur = con.execute(sql, params)
            except duckdb.CatalogException:  # not built, or nothing published or delivered yet
                return []
            cols = [d[0] for d in cur.description]
            return [dict(zip(cols, r)) for r in cur.fetchall()]

        journals = q(
            "select journal_id, journal_source, legal_entity_id, count(*) as line_count, "
            "sum(debit_amount) as debit_total from marts.mart_erp_journal_lines "
            "where facility_id = ? and posting_date = ? group by all order by journal_id",
            [facility_id, day],
        )
        posted = q(
            "select target, journal_id, period_id, accounting_date, file_name, posted_at, debit_total "
            "from publish.posting_ledger where facility_id = ? and posting_date = ?",
            [facility_id, day],
        )
        held = q(
            "select target, journal_label as journal_id, reason_code, message, debit_total, held_at "
            "from publish.held_journals where facility_id = ? and posting_date = ?",
            [facility_id, day],
        )
        attempts = q(
            "select a.target, a.journal_id, a.outcome, a.http_status, a.erp_document_id, a.message, a.finished_at "
            "from publish.delivery_attempts a join publish.posting_ledger l using (target, journal_id) "
            "where l.facility_id = ? and l.posting_date = ? "
            "qualify row_number() over (partition by a.target, a.journal_id "
            "order by a.started_at desc, a.attempt desc) = 1",
            [facility_id, day],
        )
    last = {(a["target"], a["journal_id"]): a for a in attempts}
    trail = []
    for target in TARGETS:
        for p in (p for p in posted if p["target"] == target):
            a = last.get((target, p["journal_id"]))
            trail.append({**p, "state": "posted", "delivery": a})
        for h in (h for h in held if h["target"] == target):
            trail.append({**h, "state": "held", "delivery": None})
    return {"facility_id": facility_id, "posting_date": day, "journals": journals, "trail": trail}


def _print_journal_trail(home: Home, facility_id: str, day: date, console) -> int:
    data = _journal_trail(home, facility_id, day)
    if _emit(data):
        return EXIT_OK
    if not data["journals"]:
        console.print(
            f"no journal for {facility_id} on {day} in marts.mart_erp_journal_lines: nothing posted that day, or "
            "its records could not be placed (see mart_reconciliation_exceptions and fct_data_quality_exceptions)"
        )
    for j in data["journals"]:
        console.print(
            f"journal {j['journal_id']} ({j['journal_source']}, {j['line_count']} lines, debits {j['debit_total']:,.2f})"
        )
    if not data["trail"]:
        console.print("not published to any ERP yet: run `careledger publish erp --target T` (or the daily job)")
    for t in data["trail"]:
        if t["state"] == "held":
            console.print(
                f"  held {t['target']} {t['journal_id']}: {t['reason_code']}: {t['message']}",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
            continue
        where = f"posted to {t['period_id']} ({t['accounting_date']}) in {t['file_name']}"
        a = t["delivery"]
        if a is None:
            said = "not delivered yet (`careledger deliver erp --target " + t["target"] + "`)"
        elif a["outcome"] == "accepted":
            said = f"accepted by the ERP (HTTP {a['http_status']}, document {a['erp_document_id'] or '-'})"
        else:
            said = f"{a['outcome']} (HTTP {a['http_status']}): {a['message'] or ''}"
        console.print(
            f"  {t['target']} {t['journal_id']}: {where}; {said}", markup=False, highlight=False, soft_wrap=True
        )
    return EXIT_OK


def cmd_replay(args: argparse.Namespace) -> int:
    from careledger.orchestration.replay import ReplayError, replay

    home = _home(args)
    try:
        result = replay(home, batch_id=args.batch, crosswalks=args.crosswalks)
    except ReplayError as exc:
        raise CliFailure(str(exc), EXIT_USAGE) from None
    if _emit({"command": "replay", **dataclasses.asdict(result)}):
        return 0
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


def cmd_fetch(args: argparse.Namespace) -> int:
    from careledger.ingest.fhir import bulk
    from careledger.orchestration.locking import warehouse_writer

    home = _home(args)
    console = _console()
    try:
        request = bulk.Request(args.base, args.group, bulk.parse_types(args.types), bulk.check_since(args.since))
        result = bulk.fetch_fhir(
            home.warehouse,
            config.landing_override() or home.landing,
            request,
            writer_lock=lambda: warehouse_writer(home.warehouse, "careledger fetch fhir"),
            echo=lambda line: console.print(line, markup=False, highlight=False),
        )
    except bulk.FetchError as exc:
        raise CliFailure(str(exc), EXIT_REMOTE if exc.remote else EXIT_USAGE) from None
    if not _emit(result.as_dict()):
        console.print(result.summary(), markup=False, highlight=False)
    return EXIT_OK


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

    p = sub.add_parser("fetch", help="fetch from an EHR's API and land it (FHIR Bulk Data $export)")
    fsub = p.add_subparsers(dest="what", required=True, metavar="WHAT")
    ff = fsub.add_parser(
        "fhir",
        help="FHIR Bulk Data $export: kick off (or resume), poll, download and land the NDJSON (docs/ingest.md)",
    )
    ff.add_argument("--base", required=True, help="the FHIR server's base URL (e.g. https://ehr.example.org/fhir/R4)")
    ff.add_argument("--group", help="export one Group (Group/ID/$export) instead of the whole system")
    ff.add_argument(
        "--since", help="_since (FHIR instant); default: the transactionTime of the last export landed from there"
    )
    ff.add_argument("--types", help="_type, comma-separated resource types (e.g. Patient,Encounter); default all")
    ff.set_defaults(func=cmd_fetch)

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
    pe.add_argument(
        "--resend",
        action="store_true",
        help="copy the files already posted for the window into --out, unchanged (the ledger is not touched)",
    )
    pe.set_defaults(func=cmd_publish)
    ps = psub.add_parser("serving", help="publish serving.duckdb + Parquet for BI tools and the dashboard")
    ps.add_argument("--wait", type=float, default=60.0, help="seconds to wait for another writer (default 60)")
    ps.set_defaults(func=cmd_publish)

    p = sub.add_parser("deliver", help="send published ERP journals over an API (exactly once per journal)")
    dsub = p.add_subparsers(dest="what", required=True, metavar="WHAT")
    de = dsub.add_parser(
        "erp", help="send the published journals over the ERP's API, each exactly once (docs/erp_posting.md)"
    )
    de.add_argument("--target", choices=erp_targets.DELIVERABLE, required=True, help=erp_targets.help_text())
    de.add_argument("--endpoint", required=True, help="the ERP's base or service URL (see docs/erp_posting.md)")
    de.add_argument("--dry-run", action="store_true", help="print what would be sent; send and record nothing")
    de.add_argument(
        "--resend-in-doubt",
        action="store_true",
        help="oracle: send again an upload whose answer was lost, once you checked it is not in the ERP",
    )
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
    p.add_argument(
        "--facility", help="with --date: why did (or didn't) this facility's journals post on that day, per ERP"
    )
    p.add_argument("--date", type=_parse_date, help="posting date YYYY-MM-DD, with --facility")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser(
        "unlock",
        help="free the warehouse lock and Dagster runs of a writer that died (refuses while it is alive)",
    )
    p.set_defaults(func=cmd_unlock)

    p = sub.add_parser("bench", help="benchmarks (figures go in docs/benchmarks.md)")
    from careledger.bench.orchestration import add_arguments as bench_args

    bench_args(p)
    p.set_defaults(func=cmd_bench)
    _add_json_flags(sub)
    return parser


#: Commands that serve until stopped or print their own report; --json does not apply.
_NO_JSON = {"listen", "dashboard", "ui", "bench", "synth", "demo"}


def _add_json_flags(sub: argparse._SubParsersAction) -> None:
    """``--json`` on every command with a summary (ingest has its own)."""
    for name, parser in sub.choices.items():
        if name in _NO_JSON:
            continue
        nested = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if nested:
            _add_json_flags(nested[0])
        elif not any("--json" in a.option_strings for a in parser._actions):
            parser.add_argument("--json", action="store_true", help="print only JSON on stdout (logs on stderr)")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    home = Home.from_env(args.home)
    if args.home:
        config.set_home(home.root)
    if args.verbose:
        config.set_verbose()
    _JSON["on"] = bool(getattr(args, "json", False))
    _setup_logging(args.verbose, home if args.command not in ("synth",) else None)
    # synth and bench print their own JSON (their --json is theirs, not _add_json_flags')
    own_json = args.command in _NO_JSON
    with _only_json_on_stdout() if _JSON["on"] and not own_json else contextlib.nullcontext():
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    from careledger.config import SecretUnreadable
    from careledger.orchestration.locking import WarehouseLocked

    try:
        return int(args.func(args) or 0)
    except CliFailure as exc:
        return _fail(str(exc), exc.code)
    except WarehouseLocked as exc:
        return _fail(str(exc), EXIT_BUSY)
    except SecretUnreadable as exc:
        return _fail(str(exc), EXIT_USAGE)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def _fail(message: str, code: int) -> int:
    """One sentence on stderr (and, with --json, an error object on stdout) and the exit code."""
    print(f"error: {message}", file=sys.stderr)
    if _JSON["on"]:
        _json_print(json.dumps({"error": message, "exit_code": code}))
    return code


if __name__ == "__main__":
    sys.exit(main())
