"""Fixtures for the dbt project tests: a compiled manifest (no data needed) and a
warehouse built from the hand-made raw fixture (tests/unit/dbt/raw_fixture.py)."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from dbt_raw_fixture import load_minimal_raw

os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")

# What the fixture build selects: the conformed layer and the two posting marts (other
# marts are tested by their owners); tests only when all their parents are selected.
CONFORMED_SELECTION = [
    "--select",
    "resource_type:seed",
    "path:models/staging",
    "path:models/intermediate",
    "path:models/core",
    "path:snapshots",
    "mart_daily_reimbursement",
    "mart_erp_journal_lines",
    "--indirect-selection",
    "cautious",
]


@dataclass
class FixtureWarehouse:
    home: Path
    warehouse: Path
    target: Path

    def copy_to(self, dest: Path) -> FixtureWarehouse:
        """A copy of this warehouse in ``dest`` (checkpointed first: dbt may still hold it open).
        A method, not a helper function, so tests need not import a conftest module by name."""
        dest.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(self.warehouse))
        try:
            con.execute("checkpoint")
        finally:
            con.close()
        shutil.copy2(self.warehouse, dest / "warehouse.duckdb")
        return FixtureWarehouse(dest, dest / "warehouse.duckdb", dest / "target")

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        con = duckdb.connect(str(self.warehouse))
        try:
            return con.execute(sql, params or []).fetchall()
        finally:
            con.close()


def _restore_home(previous: str | None) -> None:
    if previous is None:
        os.environ.pop("CARELEDGER_HOME", None)
    else:
        os.environ["CARELEDGER_HOME"] = previous


@pytest.fixture(scope="session")
def compiled_manifest(tmp_path_factory) -> dict:
    """manifest.json of `dbt compile` over every model (an empty warehouse is enough)."""
    from careledger.orchestration.dbt_runner import run_dbt

    home = tmp_path_factory.mktemp("dbt_compile")
    target = home / "target"
    previous = os.environ.get("CARELEDGER_HOME")
    try:
        run_dbt(["compile", "--select", "resource_type:model", "--target-path", str(target)], home=home)
    finally:
        _restore_home(previous)
    return json.loads((target / "manifest.json").read_text())


@pytest.fixture(scope="session")
def fixture_warehouse(tmp_path_factory) -> FixtureWarehouse:
    """Hand-made raw rows -> dbt build of the conformed layer and posting marts."""
    from careledger.orchestration.dbt_runner import run_dbt

    home = tmp_path_factory.mktemp("dbt_fixture")
    warehouse = home / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse))
    try:
        load_minimal_raw(con)
    finally:
        con.close()
    target = home / "target"
    previous = os.environ.get("CARELEDGER_HOME")
    try:
        run_dbt(["build", *CONFORMED_SELECTION, "--target-path", str(target)], home=home)
    finally:
        _restore_home(previous)
    return FixtureWarehouse(home, warehouse, target)
