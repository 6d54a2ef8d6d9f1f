"""``careledger ui``: the Dagster webserver and daemon (``dagster dev``) on the careledger
definitions, stopped together.

``dagster dev`` starts a webserver and a daemon as its children. Run as a plain child of the
CLI, a SIGTERM to ``careledger ui`` killed only the CLI and left both serving. Here ``dagster
dev`` gets a session (process group) of its own; SIGTERM, SIGINT or SIGHUP to the CLI is passed
to the whole group, which gets ``STOP_GRACE_SECONDS`` to shut down before SIGKILL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

#: Seconds the webserver and daemon get to stop after SIGTERM before they are killed.
STOP_GRACE_SECONDS = 10.0


def dagster_dev_command(host: str, port: int) -> list[str]:
    dagster = Path(sys.executable).parent / "dagster"
    return [str(dagster), "dev", "-m", "careledger.orchestration.definitions", "-h", host, "-p", str(port)]


def _stop_group(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """Signal every process of ``proc``'s group, then kill what is left after the grace time."""
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the webserver or daemon that outlived dagster dev
    except ProcessLookupError:
        pass
    proc.wait()


def run_ui(host: str, port: int, *, env: dict[str, str], cwd: Path) -> int:
    """Run ``dagster dev`` until it exits or this process is told to stop; return its exit code
    (0 when stopped by a signal)."""
    proc = subprocess.Popen(dagster_dev_command(host, port), env=env, cwd=str(cwd), start_new_session=True)
    stopping = {"signal": None}

    def on_signal(signum, _frame) -> None:
        stopping["signal"] = signum
        raise KeyboardInterrupt

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        return proc.wait()
    except KeyboardInterrupt:
        _stop_group(proc)
        return 0
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if proc.poll() is None:
            _stop_group(proc)
