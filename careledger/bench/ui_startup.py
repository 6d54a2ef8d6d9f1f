"""Where the start-up time of ``careledger ui`` goes (figures in docs/benchmarks.md).

``python -m careledger.bench.ui_startup [--port P] [--stale-manifest]`` measures, on this machine:

- ``import_definitions_s``: a fresh interpreter importing ``careledger.orchestration.definitions``
  (what the code server and the daemon each do before the UI can show the assets);
- ``dbt_parse_s``: ``dbt parse``, which loading the definitions runs when the manifest is
  missing or older than the project files (a fresh clone, or after editing a model);
- ``webserver_s``: ``careledger ui`` started until the webserver answers ``/server_info``;
- ``location_loaded_s``: until the Dagster GraphQL API reports the code location LOADED (the
  moment the UI shows the asset graph);
- ``stop_s``: SIGTERM to ``careledger ui`` until every process it started is gone.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

CARELEDGER = str(Path(sys.executable).parent / "careledger")
LOCATION_QUERY = (
    '{"query": "{ workspaceOrError { __typename ... on Workspace { locationEntries { name loadStatus } } } }"}'
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (from /proc), children first found recursively."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(entry.name))
    out: set[int] = set()
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            if child not in out:
                out.add(child)
                todo.append(child)
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for(url: str, timeout: float, body: bytes | None = None, loaded: bool = False) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        try:
            req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=5) as resp:
                text = resp.read().decode()
            if not loaded or '"loadStatus": "LOADED"' in text.replace('":"', '": "'):
                return time.perf_counter() - started
        except OSError:
            pass
        time.sleep(0.25)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f}s")


def start_ui(home: Path, port: int) -> subprocess.Popen:
    # --home wins over the environment's home; DAGSTER_HOME is derived from it
    return subprocess.Popen(
        [CARELEDGER, "--home", str(home), "ui", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop_ui(proc: subprocess.Popen, timeout: float = 60) -> tuple[float, set[int]]:
    """SIGTERM ``careledger ui``; seconds until it and every process it started are gone, and
    the ones still alive (empty when it stopped them all)."""
    children = descendants(proc.pid)
    started = time.perf_counter()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=timeout)
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline and any(alive(p) for p in children):
        time.sleep(0.1)
    return time.perf_counter() - started, {p for p in children if alive(p)}


def measure(home: Path, port: int, stale_manifest: bool) -> dict:
    figures: dict[str, float | int] = {}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import careledger.orchestration.definitions"], check=True)
    figures["import_definitions_s"] = round(time.perf_counter() - t0, 1)
    from careledger.config import DBT_PROFILES_DIR, DBT_PROJECT_DIR, dbt_executable

    t0 = time.perf_counter()
    subprocess.run(
        [dbt_executable(), "parse", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROFILES_DIR)],
        cwd=str(DBT_PROJECT_DIR),
        check=True,
        capture_output=True,
    )
    figures["dbt_parse_s"] = round(time.perf_counter() - t0, 1)
    if stale_manifest:  # as after editing a model: loading the definitions parses again
        (DBT_PROJECT_DIR / "dbt_project.yml").touch()
    t0 = time.perf_counter()
    proc = start_ui(home, port)
    try:
        wait_for(f"http://127.0.0.1:{port}/server_info", 600)
        figures["webserver_s"] = round(time.perf_counter() - t0, 1)
        wait_for(f"http://127.0.0.1:{port}/graphql", 600, LOCATION_QUERY.encode(), loaded=True)
        figures["location_loaded_s"] = round(time.perf_counter() - t0, 1)
        figures["processes"] = len(descendants(proc.pid))
    finally:
        stop_s, left = stop_ui(proc)
        for pid in left:  # what SIGTERM did not stop (the measurement says how many): killed here
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    figures["stop_s"] = round(stop_s, 1)
    figures["processes_left_after_sigterm"] = len(left)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m careledger.bench.ui_startup", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port for the UI (default: a free one)")
    parser.add_argument("--stale-manifest", action="store_true", help="touch dbt_project.yml first (as after an edit)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        figures = measure(Path(tmp) / "home", args.port or free_port(), args.stale_manifest)
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
