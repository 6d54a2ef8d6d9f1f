"""A child that writes the warehouse never outlives the careledger process that started it, and
the lock is held by the process that does the work (careledger.orchestration.child_processes).
These tests pin the two mechanisms on small processes and on careledger-dbt itself."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from careledger.config import dbt_executable
from careledger.orchestration import locking
from careledger.orchestration.child_processes import EXIT_PARENT_GONE

# a parent that starts a child which asks to die with it (as careledger-dbt does) and sleeps
_PARENT = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c",
    "import time; from careledger.orchestration.child_processes import die_with_parent; "
    "die_with_parent(); print('ready', flush=True); time.sleep(120)"], stdout=subprocess.PIPE, text=True)
assert child.stdout.readline().strip() == "ready"
print(child.pid, flush=True)
time.sleep(120)
"""

# a writer that holds the lock and names a worker that does NOT ask to die with it (a platform
# without PR_SET_PDEATHSIG): the lock record must still keep the next writer out
_HOLDER_WITH_WORKER = """
import subprocess, time
from pathlib import Path
from careledger.orchestration.locking import register_worker, warehouse_writer
with warehouse_writer(Path({warehouse!r}), "refresh"):
    worker = subprocess.Popen(["sleep", "120"])
    register_worker(worker.pid, "dbt build")
    print(worker.pid, flush=True)
    time.sleep(120)
"""


def _gone(pid: int, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not locking.pid_alive(pid):
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_child_dies_with_its_killed_parent(sig: int) -> None:
    parent = subprocess.Popen([sys.executable, "-c", _PARENT], stdout=subprocess.PIPE, text=True)
    child_pid = int(parent.stdout.readline())
    try:
        assert locking.pid_alive(child_pid)
        os.kill(parent.pid, sig)
        parent.wait(timeout=30)
        assert _gone(child_pid), f"the child {child_pid} outlived its parent"
    finally:
        if locking.pid_alive(child_pid):
            os.kill(child_pid, signal.SIGKILL)
        parent.kill()


def test_careledger_runs_dbt_through_careledger_dbt() -> None:
    assert Path(dbt_executable()).name == "careledger-dbt"
    proc = subprocess.run([dbt_executable(), "--version"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "installed" in proc.stdout, proc.stdout + proc.stderr


def test_careledger_dbt_does_not_start_when_its_parent_died_before_it() -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    env = {**os.environ, "CARELEDGER_PARENT_PID": str(dead.pid)}
    proc = subprocess.run([dbt_executable(), "build"], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == EXIT_PARENT_GONE
    assert proc.stderr.strip().count("\n") == 0 and "has died; not starting" in proc.stderr


def test_a_dead_holders_running_worker_keeps_the_warehouse_locked(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(_HOLDER_WITH_WORKER.format(warehouse=str(warehouse)))],
        stdout=subprocess.PIPE,
        text=True,
    )
    worker = int(holder.stdout.readline())
    try:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=30)
        assert locking.pid_alive(worker)  # no PR_SET_PDEATHSIG here: the orphan still runs
        status = locking.lock_status(warehouse)
        assert status.held and f"dbt build pid {worker}" in status.describe()
        with pytest.raises(locking.WarehouseLocked, match=f"dbt build pid {worker}, still running for the dead"):
            with locking.warehouse_writer(warehouse, "ingest", wait_seconds=1):
                pass
        with pytest.raises(locking.HolderAlive):
            locking.unlock(warehouse)
        os.kill(worker, signal.SIGKILL)
        assert _gone(worker)
        with locking.warehouse_writer(warehouse, "ingest", wait_seconds=5):
            assert locking.read_holder(warehouse).purpose == "ingest"
        assert locking.read_audit(warehouse)[-1]["event"] == "freed_dead_holder"
    finally:
        if locking.pid_alive(worker):
            os.kill(worker, signal.SIGKILL)
