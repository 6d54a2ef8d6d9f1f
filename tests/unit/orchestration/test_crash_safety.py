"""A writer killed with SIGKILL never blocks the next one: its warehouse lock and its Dagster
concurrency slot are freed (with a log line and an audit entry), and its run is marked failed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from careledger import cli
from careledger.config import Home
from careledger.orchestration import locking
from careledger.orchestration.jobs import dagster_instance
from careledger.orchestration.stale_runs import reap_dead_runs

_VICTIM_RUN = """
import time
from dagster import job, op
from careledger.config import Home
from careledger.orchestration.jobs import dagster_instance
from careledger.orchestration.stale_runs import run_tags
home = Home.from_env({home!r}).ensure()
@op(pool="duckdb_writer")
def hold():
    print("claimed", flush=True)
    time.sleep(120)
@job
def victim():
    hold()
victim.execute_in_process(instance=dagster_instance(home), tags=run_tags())
"""

_HOLDER = """
import time
from pathlib import Path
from careledger.orchestration.locking import warehouse_writer
with warehouse_writer(Path({warehouse!r}), "publish erp netsuite"):
    print("held", flush=True)
    time.sleep(120)
"""


def _start(code: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], stdout=subprocess.PIPE, text=True)
    return proc


def _kill(proc: subprocess.Popen) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def _second_run_finishes(instance, seconds: float) -> bool:
    from dagster import job, op

    @op(pool="duckdb_writer")
    def quick():
        return 1

    @job
    def next_run():
        quick()

    done = threading.Event()
    thread = threading.Thread(target=lambda: (next_run.execute_in_process(instance=instance), done.set()), daemon=True)
    thread.start()
    return done.wait(seconds)


def test_a_run_killed_holding_the_writer_slot_is_failed_and_its_slot_freed(tmp_path: Path) -> None:
    home = Home.from_env(tmp_path / "home").ensure()
    victim = _start(_VICTIM_RUN.format(home=str(home.root)))
    try:
        assert victim.stdout.readline().strip() == "claimed"
    finally:
        _kill(victim)
    instance = dagster_instance(home)
    storage = instance.event_log_storage
    # the reproduction: the dead run keeps its slot and the next run waits for it
    claimed = storage.get_concurrency_info("duckdb_writer").claimed_slots
    assert [s.run_id for s in claimed] and instance.get_run_by_id(claimed[0].run_id).status.value == "STARTED"
    dead_run = claimed[0].run_id
    assert not _second_run_finishes(instance, 4)
    # the fix: the next careledger run reaps it first
    reaped = reap_dead_runs(instance, home.warehouse)
    assert [r.run_id for r in reaped] == [dead_run]
    assert instance.get_run_by_id(dead_run).status.value == "FAILURE"
    info = storage.get_concurrency_info("duckdb_writer")
    assert all(s.run_id != dead_run for s in info.claimed_slots)
    assert all(p.run_id != dead_run for p in info.pending_steps)
    audit = [e for e in locking.read_audit(home.warehouse, last=20) if e["event"] == "failed_dead_run"]
    assert audit and dead_run in audit[0]["message"]


def test_a_live_run_is_left_alone(tmp_path: Path) -> None:
    home = Home.from_env(tmp_path / "home").ensure()
    victim = _start(_VICTIM_RUN.format(home=str(home.root)))
    try:
        assert victim.stdout.readline().strip() == "claimed"
        instance = dagster_instance(home)
        assert reap_dead_runs(instance, home.warehouse) == []
        claimed = instance.event_log_storage.get_concurrency_info("duckdb_writer").claimed_slots
        assert len(claimed) == 1 and instance.get_run_by_id(claimed[0].run_id).status.value == "STARTED"
    finally:
        _kill(victim)


def test_a_writer_killed_holding_the_lock_is_freed_with_an_audit_entry(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    holder = _start(_HOLDER.format(warehouse=str(warehouse)))
    try:
        assert holder.stdout.readline().strip() == "held"
        status = locking.lock_status(warehouse)
        assert status.held and status.holder.pid == holder.pid
        assert "publish erp netsuite" in status.describe() and "since" in status.describe()
        with pytest.raises(locking.HolderAlive):
            locking.unlock(warehouse)
    finally:
        _kill(holder)
    status = locking.lock_status(warehouse)
    assert not status.held and status.stale and status.holder.pid == holder.pid
    with locking.warehouse_writer(warehouse, "next run", wait_seconds=2):
        assert locking.read_holder(warehouse).purpose == "next run"
    assert locking.read_holder(warehouse) is None  # a clean release leaves no record
    (entry,) = [e for e in locking.read_audit(warehouse) if e["event"] == "freed_dead_holder"]
    assert entry["holder"]["pid"] == holder.pid and "died" in entry["message"]


def test_unlock_removes_a_dead_holders_record(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    holder = _start(_HOLDER.format(warehouse=str(warehouse)))
    assert holder.stdout.readline().strip() == "held"
    _kill(holder)
    assert f"pid {holder.pid}" in locking.unlock(warehouse)
    assert locking.read_holder(warehouse) is None
    assert locking.unlock(warehouse).endswith("nothing to do")
    assert [e["event"] for e in locking.read_audit(warehouse)] == ["unlocked_by_operator"]


def test_a_reused_pid_is_not_the_holder() -> None:
    me = os.getpid()
    assert locking.pid_alive(me, locking.process_start(me))
    assert not locking.pid_alive(me, "1")  # same PID, another start time: another process


def _cli(home: Path, *argv: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CARELEDGER_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "careledger.cli", "--home", str(home), *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_status_and_unlock_on_the_command_line(tmp_path: Path) -> None:
    home = Home.from_env(tmp_path / "home").ensure()
    holder = _start(_HOLDER.format(warehouse=str(home.warehouse)))
    try:
        assert holder.stdout.readline().strip() == "held"
        status = _cli(home.root, "status", "--json")
        assert status.returncode == cli.EXIT_OK, status.stderr
        lock = json.loads(status.stdout)["lock"]
        assert lock["held"] is True and lock["holder"]["pid"] == holder.pid and lock["since"]
        refused = _cli(home.root, "unlock")
        assert refused.returncode == cli.EXIT_BUSY
        assert "alive" in refused.stderr and "Traceback" not in refused.stderr
    finally:
        _kill(holder)
    freed = _cli(home.root, "unlock")
    assert freed.returncode == cli.EXIT_OK, freed.stderr
    assert f"pid {holder.pid}" in freed.stdout
