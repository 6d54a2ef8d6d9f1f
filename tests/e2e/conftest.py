"""The demo, run once per session through the real CLI into a temporary CARELEDGER_HOME."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

CARELEDGER = str(Path(sys.executable).parent / "careledger")
DEMO_ENCOUNTERS = 400
DEMO_DAYS = 60


@dataclass
class DemoRun:
    home: Path
    stdout: str
    seconds: float

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def landing(self) -> Path:
        return self.home / "landing"


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> DemoRun:
    home = tmp_path_factory.mktemp("demo") / "home"
    env = {k: v for k, v in os.environ.items() if k not in ("CARELEDGER_HOME", "DAGSTER_HOME", "CARELEDGER_LANDING")}
    env["COLUMNS"] = "160"
    t0 = time.perf_counter()
    result = subprocess.run(
        [CARELEDGER, "--home", str(home), "demo", "--encounters", str(DEMO_ENCOUNTERS), "--days", str(DEMO_DAYS)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, f"demo failed:\n{result.stdout[-5000:]}\n{result.stderr[-5000:]}"
    return DemoRun(home, result.stdout, time.perf_counter() - t0)
