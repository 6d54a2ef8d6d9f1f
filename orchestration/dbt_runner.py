"""Run dbt in-process against the careledger project (used by the CLI, tests and benchmarks)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from orchestration.paths import DBT_PROFILES_DIR, DBT_PROJECT_DIR, Home

log = logging.getLogger(__name__)


class DbtError(RuntimeError):
    """dbt failed; the message lists the failing nodes."""


def run_dbt(args: list[str], home: Path, *, raise_on_failure: bool = True):
    """Run ``dbt <args>`` with the project, profiles and CARELEDGER_HOME set.

    Returns the ``dbtRunnerResult``. dbt writes its logs under ``home/logs/dbt``.
    """
    from dbt.cli.main import dbtRunner

    home_obj = Home.from_env(home).ensure()
    home_obj.export_env()
    os.environ["DBT_LOG_PATH"] = str(home_obj.logs / "dbt")
    full = [
        *args,
        "--project-dir", str(DBT_PROJECT_DIR),
        "--profiles-dir", str(DBT_PROFILES_DIR),
    ]
    log.info("dbt %s", " ".join(args))
    result = dbtRunner().invoke(full)
    if raise_on_failure and not result.success:
        failures = []
        res = result.result
        for r in getattr(res, "results", None) or []:
            status = str(getattr(r, "status", ""))
            if status.lower() in {"error", "fail", "runtimestatus.error", "teststatus.fail"} or status.endswith(("error", "fail")):
                failures.append(f"{r.node.unique_id}: {status}: {(r.message or '')[:300]}")
        detail = "\n  ".join(failures) if failures else str(result.exception or "see dbt logs")
        raise DbtError(f"dbt {' '.join(args)} failed:\n  {detail}")
    return result
