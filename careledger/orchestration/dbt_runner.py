"""Run dbt against the careledger project (used by the CLI, tests and benchmarks).

dbt runs in a child process: dbt-duckdb keeps its DuckDB handle open for the life of the
process that ran it, which would keep the warehouse attached (and its WAL unmerged) in the
caller. A child process closes and checkpoints the warehouse when it exits.
"""

from __future__ import annotations

import logging
import subprocess
from dataclasses import dataclass
from pathlib import Path

from careledger.config import DBT_PROFILES_DIR, DBT_PROJECT_DIR, Home, dbt_executable
from careledger.orchestration.locking import register_worker

log = logging.getLogger(__name__)


class DbtError(RuntimeError):
    """dbt failed; the message lists the failing nodes."""


@dataclass
class DbtResult:
    args: list[str]
    success: bool
    output: str


def run_dbt(args: list[str], home: Path, *, raise_on_failure: bool = True) -> DbtResult:
    """Run ``dbt <args>`` with the project, profiles and CARELEDGER_HOME set; dbt's log goes to
    ``home/logs/dbt``."""
    home_obj = Home.from_env(home).ensure()
    env = {
        **home_obj.child_env(),
        "DBT_LOG_PATH": str(home_obj.logs / "dbt"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    cmd = [dbt_executable(), *args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROFILES_DIR)]
    log.info("dbt %s", " ".join(args))
    # careledger-dbt dies with this process (child_processes); a lock this process holds names it
    proc = subprocess.Popen(
        cmd, env=env, cwd=str(DBT_PROJECT_DIR), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    register_worker(proc.pid, f"dbt {args[0] if args else ''}".strip())
    stdout, stderr = proc.communicate()
    output = stdout + stderr
    result = DbtResult(list(args), proc.returncode == 0, output)
    if raise_on_failure and not result.success:
        lines = output.splitlines()
        failures = [
            ln
            for ln in lines
            if any(w in ln for w in ("ERROR", "FAIL ", "Failure in", "Error in", "Compilation Error"))
        ]
        detail = "\n  ".join((failures or lines)[-40:])
        raise DbtError(f"dbt {' '.join(args)} failed:\n  {detail}")
    return result
