"""The kill campaign (#23, docs/reliability.md "Kill and concurrency campaign").

Each command runs as a user runs it (the ``careledger`` executable in a subprocess) with
``CARELEDGER_KILL_AT=stage:point`` (``careledger.config.kill_if_asked``), or is SIGKILLed by the
test at a random moment (refresh, whose dbt build has no named point). The test asserts that it
died by SIGKILL, reruns it without the variable, and asserts that the rerun exits 0 and that
its result equals a clean run's: raw table row counts and sums, each file landed once, the
journal files byte for byte, the extract's CSVs, the serving snapshot's tables.

The default profile (``--kill-campaign=seed``) kills each command at a fixed small set of
points; ``--kill-campaign=long`` kills it at every point ``--kill-tries`` times and refresh at
random moments. Every try appends a record (command, point, survived, rows lost) to
``test-artifacts/kill_campaign.jsonl``.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from careledger.ingest.hl7.transport import MllpDecoder, frame

pytestmark = pytest.mark.e2e

CARELEDGER = str(Path(sys.executable).parent / "careledger")
EXIT_NOT_BUILT = 5
EXIT_BUSY = 6

#: every named kill point of each command; SEED is the default profile's fixed subset
POINTS: dict[str, tuple[str, ...]] = {
    "ingest": ("ingest:before_commit", "ingest:between_files"),
    "publish erp": ("publish:after_pending", "publish:after_file", "publish:after_posted"),
    "extract": ("extract:mid_write", "extract:before_rename", "extract:between_renames"),
    "serving snapshot": ("serving:before_rename", "serving:after_rename", "serving:before_swap"),
    "mllp listener": ("mllp:after_receive", "mllp:before_ack", "mllp:before_landed_offset"),
}
SEED: dict[str, tuple[str, ...]] = {
    "ingest": ("ingest:before_commit", "ingest:between_files"),
    "publish erp": ("publish:after_file",),
    "extract": ("extract:between_renames",),
    "serving snapshot": ("serving:before_swap",),
    "mllp listener": ("mllp:before_ack",),
}
#: messages the MLLP sender sends per try
MLLP_MESSAGES = 40


# ---------------------------------------------------------------------------- helpers


def _env(home: Path | None = None, kill_at: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CARELEDGER_", "DAGSTER_"))}
    env["COLUMNS"] = "160"
    if kill_at:
        env["CARELEDGER_KILL_AT"] = kill_at
    if home is not None:
        env["CARELEDGER_HOME"] = str(home)
    return env


def cli(home: Path, *args: str, kill_at: str | None = None, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CARELEDGER, "--home", str(home), *args],
        capture_output=True,
        text=True,
        env=_env(home, kill_at),
        timeout=timeout,
    )


def ok(proc: subprocess.CompletedProcess, what: str) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, f"{what} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return proc


def killed(proc: subprocess.CompletedProcess, point: str) -> None:
    assert proc.returncode == -signal.SIGKILL, (
        f"expected a SIGKILL at {point}, got exit {proc.returncode}:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    )


_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "DOUBLE", "FLOAT", "DECIMAL", "UBIGINT")


def table_figures(db: Path, where: str) -> dict[str, tuple]:
    """Row count and the sum of every numeric column (lineage columns aside) of each base table
    matching ``where`` (on information_schema.tables), read-only."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            f"where table_type = 'BASE TABLE' and table_catalog = current_database() and ({where}) order by 1, 2"
        ).fetchall()
        out: dict[str, tuple] = {}
        for schema, table in tables:
            cols = [
                c
                for c, t in con.execute(
                    "select column_name, data_type from information_schema.columns "
                    "where table_schema = ? and table_name = ? and table_catalog = current_database() "
                    "order by ordinal_position",
                    [schema, table],
                ).fetchall()
                if not c.startswith("_") and t.split("(")[0].upper() in _NUMERIC
            ]
            sums = "".join(f', sum("{c}")' for c in cols)
            out[f"{schema}.{table}"] = tuple(con.execute(f'select count(*){sums} from "{schema}"."{table}"').fetchone())
        return out
    finally:
        con.close()


def raw_figures(warehouse: Path) -> dict[str, tuple]:
    """The raw tables' figures, and each landed file (by sha256) with how often it landed."""
    figures = table_figures(warehouse, "table_schema like 'raw\\_%' escape '\\' and table_schema <> 'raw_meta'")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        landed = con.execute(
            "select file_name, sha256, count(*), sum(rows_read), sum(rows_accepted) from raw_meta.batches "
            "where status <> 'failed' and status <> 'skipped' group by all order by all"
        ).fetchall()
        quarantined = con.execute("select count(*) from raw_meta.quarantine").fetchone()
    figures["raw_meta.batches (landed)"] = tuple(landed)
    figures["raw_meta.quarantine"] = quarantined
    return figures


def serving_figures(serving: Path) -> dict[str, tuple]:
    db = serving / "current" / "serving.duckdb"
    assert db.is_file(), f"no serving snapshot at {db}"
    # published_at and source freshness change with every publish; every other table must not
    figures = table_figures(db, "table_name not in ('snapshot_manifest', 'source_freshness')")
    manifest = json.loads((serving / "current" / "manifest.json").read_text())
    figures["manifest tables"] = tuple(sorted(manifest["tables"].items()))
    return figures


def files_sha(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def leftovers(folder: Path) -> list[str]:
    """Hidden temporary files, folders and links a kill may leave (``.x.tmp``, ``.tmp-*``, ``.x.old``)."""
    if not folder.exists():
        return []
    return sorted(
        str(p.relative_to(folder))
        for p in folder.rglob(".*")
        if p.name.endswith((".tmp", ".old")) or p.name.startswith(".tmp-")
    )


def rows_lost(clean: dict[str, tuple], rerun: dict[str, tuple]) -> int:
    """Rows in the clean run's tables that the rerun does not have (negative: extra rows)."""
    return sum(v[0] for k, v in clean.items() if v and isinstance(v[0], int)) - sum(
        v[0] for k, v in rerun.items() if v and isinstance(v[0], int)
    )


def record(artifacts: Path, profile: str, command: str, point: str, survived: bool, lost: int, **extra) -> None:
    line = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "profile": profile,
        "command": command,
        "point": point,
        "survived": survived,
        "rows_lost": lost,
        **extra,
    }
    with (artifacts / "kill_campaign.jsonl").open("a") as fh:
        fh.write(json.dumps(line) + "\n")


def copy_warehouse(src: Path, home: Path) -> Path:
    home.mkdir(parents=True)
    shutil.copy2(src, home / "warehouse.duckdb")
    return home / "warehouse.duckdb"


# ---------------------------------------------------------------------------- fixtures


@dataclass
class Built:
    """A built warehouse (the demo's) with no ERP posting yet, the same after the clean run's
    posting (what extract and the serving snapshot read), and the clean runs' results."""

    warehouse: Path
    posted: Path
    period: str
    journals: dict[str, str]
    extract: dict[str, str]
    serving: dict[str, tuple]


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    from careledger.simulator.simulator import synthesize

    out = tmp_path_factory.mktemp("kill_landing") / "landing"
    synthesize(out, encounters=40, seed=23, days=10, faults=0.02)
    return out


@pytest.fixture(scope="module")
def clean_ingest(landing, tmp_path_factory) -> dict[str, tuple]:
    home = tmp_path_factory.mktemp("clean_ingest") / "home"
    proc = ok(cli(home, "ingest", str(landing), "--json"), "clean ingest")
    assert json.loads(proc.stdout)["totals"]["files_failed"] == 0
    return raw_figures(home / "warehouse.duckdb")


@pytest.fixture(scope="module")
def built(demo_run, tmp_path_factory) -> Built:
    root = tmp_path_factory.mktemp("kill_built")
    template = root / "template.duckdb"
    shutil.copy2(demo_run.warehouse, template)
    wal = demo_run.warehouse.with_name(demo_run.warehouse.name + ".wal")
    if wal.exists():
        shutil.copy2(wal, template.with_name(template.name + ".wal"))
    with duckdb.connect(str(template)) as con:
        # the demo posted; the campaign posts afresh: empty the ledger and what hangs off it
        for (table,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'publish'"
        ).fetchall():
            con.execute(f'delete from publish."{table}"')
        con.execute("checkpoint")
        (period,) = con.execute(
            "select strftime(posting_date, '%Y-%m') from marts.mart_erp_journal_lines group by 1 "
            "order by count(*) desc limit 1"
        ).fetchone()
    clean = root / "clean"
    copy_warehouse(template, clean)
    ok(cli(clean, "publish", "erp", "--target", "json"), "clean publish erp")
    ok(cli(clean, "extract", "--period", period, "--format", "csv"), "clean extract")
    ok(cli(clean, "publish", "serving"), "clean serving snapshot")
    return Built(
        template,
        clean / "warehouse.duckdb",
        period,
        files_sha(clean / "exports" / "erp" / "json"),
        files_sha(clean / "exports" / "extracts"),
        serving_figures(clean / "serving"),
    )


def pytest_generate_tests(metafunc) -> None:
    if "kill_point" not in metafunc.fixturenames:
        return
    command = metafunc.function.__name__.removeprefix("test_kill_").replace("_", " ")
    command = {"serving": "serving snapshot", "mllp": "mllp listener"}.get(command, command)
    if metafunc.config.getoption("kill_campaign") == "long":
        tries = metafunc.config.getoption("kill_tries")
        params = [(p, t) for p in POINTS[command] for t in range(tries)]
        ids = [f"{p}-try{t}" for p, t in params]
    else:
        params = [(p, 0) for p in SEED[command]]
        ids = [p for p, _ in params]
    metafunc.parametrize("kill_point", params, ids=ids)


@pytest.fixture
def profile(request) -> str:
    return request.config.getoption("kill_campaign")


# ---------------------------------------------------------------------------- each command


def test_kill_ingest(kill_point, landing, clean_ingest, tmp_path, artifacts_dir, profile) -> None:
    point, _ = kill_point
    home = tmp_path / "home"
    killed(cli(home, "ingest", str(landing), kill_at=point), point)
    rerun = ok(cli(home, "ingest", str(landing), "--json"), "ingest rerun")
    assert json.loads(rerun.stdout)["totals"]["files_failed"] == 0
    figures = raw_figures(home / "warehouse.duckdb")
    survived = figures == clean_ingest
    record(artifacts_dir, profile, "ingest", point, survived, rows_lost(clean_ingest, figures))
    assert figures == clean_ingest  # every file landed exactly once, nothing lost or doubled


def test_kill_publish_erp(kill_point, built, tmp_path, artifacts_dir, profile) -> None:
    point, _ = kill_point
    home = tmp_path / "home"
    copy_warehouse(built.warehouse, home)
    killed(cli(home, "publish", "erp", "--target", "json", kill_at=point), point)
    ok(cli(home, "publish", "erp", "--target", "json"), "publish erp rerun")
    out = home / "exports" / "erp" / "json"
    files = files_sha(out)
    survived = files == built.journals and not leftovers(out)
    record(artifacts_dir, profile, "publish erp", point, survived, len(set(built.journals) - set(files)))
    assert not leftovers(out)
    assert files == built.journals  # the same journal files byte for byte: none twice, none missing


def test_kill_extract(kill_point, built, tmp_path, artifacts_dir, profile) -> None:
    point, _ = kill_point
    home = tmp_path / "home"
    copy_warehouse(built.posted, home)
    args = ("extract", "--period", built.period, "--format", "csv")
    if point == "extract:between_renames":
        ok(cli(home, *args), "first extract")  # between_renames needs an extract to replace
    killed(cli(home, *args, kill_at=point), point)
    ok(cli(home, *args), "extract rerun")
    out = home / "exports" / "extracts"
    files = files_sha(out)
    survived = files == built.extract and not leftovers(out)
    record(artifacts_dir, profile, "extract", point, survived, len(set(built.extract) - set(files)))
    assert not leftovers(out)
    assert files == built.extract


def test_kill_serving(kill_point, built, tmp_path, artifacts_dir, profile) -> None:
    point, _ = kill_point
    home = tmp_path / "home"
    copy_warehouse(built.posted, home)
    ok(cli(home, "publish", "serving"), "first serving snapshot")  # readers have a snapshot throughout
    before = os.readlink(home / "serving" / "current")
    killed(cli(home, "publish", "serving", kill_at=point), point)
    assert os.readlink(home / "serving" / "current") == before  # the kill left the old snapshot current
    assert serving_figures(home / "serving") == built.serving
    ok(cli(home, "publish", "serving"), "serving snapshot rerun")
    assert os.readlink(home / "serving" / "current") != before
    figures = serving_figures(home / "serving")
    stray = leftovers(home / "serving")
    survived = figures == built.serving and not stray
    record(artifacts_dir, profile, "serving snapshot", point, survived, rows_lost(built.serving, figures))
    assert not stray
    assert figures == built.serving


# ---------------------------------------------------------------------------- MLLP


def adt(ctrl: str) -> bytes:
    return "\r".join(
        [
            f"MSH|^~\\&|EPICADT|GH|CARELEDGER|WAREHOUSE|20260105083000||ADT^A01^ADT_A01|{ctrl}|P|2.5",
            "EVN|A01|20260105083000",
            f"PID|1||MRN{ctrl}^^^CL^MR||DOE^JANE||19800102|F",
            f"PV1|1|I|D-1^101^A^L-1||||1234567893^SMITH^JOHN|||MED||||7|||||V{ctrl}",
        ]
    ).encode()


def start_listener(home: Path, kill_at: str | None = None) -> tuple[subprocess.Popen, int]:
    cmd = [CARELEDGER, "--home", str(home), "listen", "--port", "0", "--batch-messages", "10"]
    proc = subprocess.Popen(
        [*cmd, "--batch-seconds", "0.3"], env=_env(home, kill_at), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    line = proc.stdout.readline().decode() if proc.stdout else ""
    assert line.startswith("listening on"), line + (proc.stderr.read().decode() if proc.stderr else "")
    return proc, int(line.rsplit(":", 1)[1])


def send_all(port: int, controls: list[str]) -> int:
    """Send each message and wait for its AA; returns how many were acknowledged before the
    listener went away."""
    decoder = MllpDecoder()
    acked = 0
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
            for ctrl in controls:
                sock.sendall(frame(adt(ctrl)))
                acks: list[bytes] = []
                while not acks:
                    data = sock.recv(65536)
                    if not data:
                        return acked
                    acks = decoder.feed(data)
                assert b"MSA|AA|" + ctrl.encode() in acks[0], acks[0]
                acked += 1
    except OSError:
        return acked
    return acked


def stop_listener(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 0, proc.stderr.read().decode()[-3000:] if proc.stderr else ""


def mllp_rows(warehouse: Path) -> list[tuple] | None:
    """(facility, control id, times landed) of every ADT message; None while the listener writes."""
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            return con.execute(
                "select sending_facility, message_control_id, count(*) from raw_ehr.adt_messages "
                "group by all order by all"
            ).fetchall()
    except (duckdb.IOException, duckdb.CatalogException):
        return None


def test_kill_mllp(kill_point, tmp_path, artifacts_dir, profile) -> None:
    point, _ = kill_point
    controls = [f"K{i:04d}" for i in range(MLLP_MESSAGES)]
    truth = [("GH", c, 1) for c in controls]
    home = tmp_path / "home"
    proc, port = start_listener(home, kill_at=point)
    acked = send_all(port, controls)
    assert proc.wait(60) == -signal.SIGKILL, f"the listener was not killed at {point} ({acked} acknowledged)"
    proc, port = start_listener(home)
    assert send_all(port, controls[acked:]) == len(controls) - acked  # the sender resends what was not acked
    deadline = time.monotonic() + 30
    while mllp_rows(home / "warehouse.duckdb") != truth and time.monotonic() < deadline:
        time.sleep(0.3)
    stop_listener(proc)
    rows = mllp_rows(home / "warehouse.duckdb")
    survived = rows == truth
    lost = len(truth) - len(rows or [])
    record(artifacts_dir, profile, "mllp listener", point, survived, lost, acked_before_kill=acked)
    assert rows == truth  # every message exactly once, the unacknowledged one included


# ---------------------------------------------------------------------------- refresh (dbt build)


def refresh_until(home: Path, landing: Path, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen(
        [CARELEDGER, "--home", str(home), "refresh", "--landing", str(landing)],
        env=_env(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        proc.wait(seconds)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)  # the careledger process only: its dbt must die with it
        proc.wait()
    return proc


def _no_child_left(home: Path) -> None:
    """No dbt started by the killed refresh is still running (careledger-dbt dies with its parent)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        out = subprocess.run(["pgrep", "-f", f"dbt.*{home}"], capture_output=True, text=True).stdout.split()
        if not out:
            return
        time.sleep(0.5)
    raise AssertionError(f"processes of the killed refresh still run: {out}")


@pytest.fixture(scope="module")
def clean_refresh(landing, tmp_path_factory) -> tuple[dict, dict, float]:
    home = tmp_path_factory.mktemp("clean_refresh") / "home"
    started = time.perf_counter()
    proc = ok(cli(home, "refresh", "--landing", str(landing), "--json"), "clean refresh --json")
    seconds = time.perf_counter() - started
    document = json.loads(proc.stdout)  # stdout is only JSON: dbt's and Dagster's lines are on stderr
    assert document["command"] == "refresh"
    return raw_figures(home / "warehouse.duckdb"), serving_figures(home / "serving"), seconds


def _refresh_tries(config) -> list[int]:
    if config.getoption("kill_campaign") == "long":
        return list(range(config.getoption("kill_tries")))
    return [0]


@pytest.mark.slow
@pytest.mark.parametrize("attempt", [0, 1, 2])
def test_kill_refresh_at_a_random_moment(
    attempt, landing, clean_refresh, tmp_path, artifacts_dir, profile, request
) -> None:
    if attempt not in _refresh_tries(request.config):
        pytest.skip("--kill-campaign=long runs more random moments")
    raw_clean, serving_clean, seconds = clean_refresh
    seed = request.config.getoption("kill_seed")
    # each try its own moment: with --kill-seed the moments are fixed, and differ by try
    rng = random.Random(None if seed is None else seed * 1000 + attempt)
    moment = round(rng.uniform(3, seconds * 0.9), 1)
    home = tmp_path / "home"
    proc = refresh_until(home, landing, moment)
    if proc.returncode != -signal.SIGKILL:  # it finished before the moment: nothing to settle
        pytest.skip(f"refresh finished in under {moment}s")
    _no_child_left(home)
    ok(cli(home, "refresh", "--landing", str(landing)), f"refresh rerun after a kill at {moment}s")
    raw = raw_figures(home / "warehouse.duckdb")
    serving = serving_figures(home / "serving")
    survived = raw == raw_clean and serving == serving_clean
    record(artifacts_dir, profile, "refresh", f"{moment}s", survived, rows_lost(raw_clean, raw))
    assert raw == raw_clean
    assert serving == serving_clean


# ---------------------------------------------------------------------------- concurrency


def test_two_ingests_at_once_land_each_file_once(landing, clean_ingest, tmp_path) -> None:
    home = tmp_path / "home"
    procs = [
        subprocess.Popen(
            [CARELEDGER, "--home", str(home), "ingest", str(landing), "--json", "--wait", wait],
            env=_env(home),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for wait in ("120", "0")
    ]
    results = [(p.wait(300), *p.communicate()) for p in procs]
    for code, stdout, stderr in results:
        assert "Traceback" not in stderr, stderr[-3000:]
        assert code in (0, EXIT_BUSY), (code, stderr[-3000:])
        document = json.loads(stdout)
        if code == EXIT_BUSY:  # one sentence saying the warehouse is busy, and what to do
            errors = [line for line in stderr.splitlines() if line.startswith("error:")]
            assert len(errors) == 1 and "again" in errors[0], stderr[-2000:]
            assert document["exit_code"] == EXIT_BUSY
    assert results[0][0] == 0  # the one that waits lands everything
    assert raw_figures(home / "warehouse.duckdb") == clean_ingest


def test_serving_readers_never_see_a_missing_or_half_built_snapshot(built, tmp_path) -> None:
    import threading

    from careledger.publish.serving import publish_serving_snapshot

    home = tmp_path / "home"
    copy_warehouse(built.posted, home)
    serving = home / "serving"
    publish_serving_snapshot(home / "warehouse.duckdb", serving)
    expected = json.loads((serving / "current" / "manifest.json").read_text())["tables"]
    stop = threading.Event()
    reads: list[int] = []
    errors: list[str] = []

    def reader() -> None:
        while not stop.is_set():
            try:
                with duckdb.connect(str(serving / "serving.duckdb"), read_only=True) as con:
                    counts = dict(con.execute("select table_name, row_count from snapshot_manifest").fetchall())
                    for table, n in counts.items():
                        assert con.execute(f'select count(*) from "{table}"').fetchone()[0] == n, table
                if counts != expected:
                    errors.append(f"a snapshot with other tables: {sorted(set(counts) ^ set(expected))}")
                reads.append(1)
            except Exception as exc:  # any failure to read is what the test looks for
                errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        for _ in range(3):
            publish_serving_snapshot(home / "warehouse.duckdb", serving)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors[:5]
    assert len(reads) > 3


def _started(proc: subprocess.Popen, what: Callable[[], bool], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not what() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)


@pytest.mark.slow
def test_refresh_during_ingest_and_publish_during_refresh(landing, clean_refresh, tmp_path) -> None:
    """An ingest holds the warehouse: a refresh started meanwhile waits for it or says the
    warehouse is busy in one sentence; a publish started during the refresh does the same; the
    end state is the clean refresh's."""
    raw_clean, serving_clean, _ = clean_refresh
    home = tmp_path / "home"
    ingest = subprocess.Popen(
        [CARELEDGER, "--home", str(home), "ingest", str(landing)],
        env=_env(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    _started(ingest, lambda: (home / "warehouse.duckdb").exists())
    refresh = subprocess.Popen(
        [CARELEDGER, "--home", str(home), "refresh", "--landing", str(landing)],
        env=_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _started(refresh, lambda: ingest.poll() is not None)
    time.sleep(10)  # the refresh is landing or building by now
    publish = cli(home, "publish", "erp", "--target", "json")
    assert "Traceback" not in publish.stderr, publish.stderr[-3000:]
    # busy, or (between the refresh's steps, before dbt built the marts) "no marts yet": one sentence
    assert publish.returncode in (0, EXIT_BUSY, EXIT_NOT_BUILT), publish.stderr[-3000:]
    if publish.returncode:
        assert len([x for x in publish.stderr.splitlines() if x.startswith("error:")]) == 1
    ingest_err = ingest.communicate(timeout=600)[1]
    refresh_out, refresh_err = refresh.communicate(timeout=900)
    for name, code, err in (("ingest", ingest.returncode, ingest_err), ("refresh", refresh.returncode, refresh_err)):
        assert "Traceback" not in err, f"{name}: {err[-3000:]}"
        assert code in (0, EXIT_BUSY), f"{name} exited {code}: {err[-3000:]}"
    if refresh.returncode == EXIT_BUSY:
        ok(cli(home, "refresh", "--landing", str(landing)), "refresh after the busy one")
    assert raw_figures(home / "warehouse.duckdb") == raw_clean
    assert serving_figures(home / "serving") == serving_clean
