"""Session fixtures of the e2e tests: the demo, run once through the real CLI into a temporary
CARELEDGER_HOME; a read-only copy of the session's ``built_warehouse`` per module; the
simulator's ground-truth CSVs."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
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


@pytest.fixture(scope="module")
def built_con(built_warehouse, tmp_path_factory):
    """A read-only connection to a copy of the session's ``built_warehouse`` (and its WAL), so a
    module's queries never hold the file other modules copy or write."""
    target = tmp_path_factory.mktemp("built_copy") / "warehouse.duckdb"
    shutil.copy2(built_warehouse.warehouse, target)
    wal = built_warehouse.warehouse.with_name(built_warehouse.warehouse.name + ".wal")
    if wal.exists():
        shutil.copy2(wal, target.with_name(target.name + ".wal"))
    with duckdb.connect(str(target), read_only=True) as connection:
        yield connection


@pytest.fixture(scope="session")
def ground_truth_rows(built_warehouse) -> Callable[[str], list[dict[str, str]]]:
    """``ground_truth_rows("x.csv")``: the rows of the simulator's ``ground_truth/x.csv`` (never empty)."""

    def read(name: str) -> list[dict[str, str]]:
        path: Path = built_warehouse.ground_truth_dir / name
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        assert rows, f"ground truth {name} is empty"
        return rows

    return read
