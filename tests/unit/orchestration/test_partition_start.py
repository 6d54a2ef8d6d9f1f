"""The Dagster partitions start where the data does, not at a fixed 2025-01-01."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from careledger.config import Home
from careledger.orchestration.partitions import NOTHING_LANDED_START, START_FILE, partition_start


def _home(tmp_path: Path, first: str | None) -> Home:
    home = Home.from_env(tmp_path / "home").ensure()
    if first is not None:
        with duckdb.connect(str(home.warehouse)) as con:
            con.execute("create schema marts; create table marts.mart_erp_journal_lines (posting_date date)")
            con.execute("insert into marts.mart_erp_journal_lines values (?::date), ('2026-03-31')", [first])
    return home


def test_start_is_the_earliest_posting_date(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CARELEDGER_PARTITION_START", raising=False)
    home = _home(tmp_path, "2026-01-04")
    assert partition_start(home) == "2026-01-04"
    assert (home.dagster_home / START_FILE).read_text().strip() == "2026-01-04"


def test_a_busy_or_missing_warehouse_keeps_the_last_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CARELEDGER_PARTITION_START", raising=False)
    home = _home(tmp_path, "2026-01-04")
    partition_start(home)
    with duckdb.connect(str(home.warehouse)) as writer:  # a writer holds it (and lands older data)
        writer.execute("insert into marts.mart_erp_journal_lines values ('2025-12-01')")
        assert partition_start(home) == "2026-01-04"
    assert partition_start(home) == "2025-12-01"
    home.warehouse.unlink()
    assert partition_start(home) == "2025-12-01"


def test_nothing_landed_starts_early_and_the_variable_overrides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process that imported the definitions before anything landed still posts the dates
    its own run lands (the demo's, a test session's): the floor is early, not this month."""
    monkeypatch.delenv("CARELEDGER_PARTITION_START", raising=False)
    home = _home(tmp_path, None)
    assert partition_start(home) == NOTHING_LANDED_START == "2000-01-01"
    assert not (home.dagster_home / START_FILE).exists()  # nothing read, nothing remembered
    monkeypatch.setenv("CARELEDGER_PARTITION_START", "2024-07-01")
    assert partition_start(home) == "2024-07-01"


def test_the_definitions_partitions_follow_the_warehouse(tmp_path: Path) -> None:
    home = _home(tmp_path, "2026-02-02")
    code = (
        "from careledger.orchestration.partitions import daily_partitions, monthly_partitions; "
        "print(daily_partitions.start.date(), monthly_partitions.start.date())"
    )
    env = {"CARELEDGER_HOME": str(home.root), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    assert out.split() == ["2026-02-02", "2026-02-01"]


def test_the_manifest_path_is_the_dbt_projects() -> None:
    from careledger.orchestration.assets.dbt import dbt_project
    from careledger.orchestration.dbt_manifest import MANIFEST_PATH

    assert Path(dbt_project.manifest_path).resolve() == MANIFEST_PATH.resolve()
