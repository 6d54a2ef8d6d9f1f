"""Dagster jobs on tiny simulated data: a three-date backfill in one run, replay-safe postings."""

from __future__ import annotations

import os
from datetime import timedelta

import duckdb
from dagster import AssetKey, DagsterInstance


def test_backfill_of_three_dates_is_one_run(demo_run, tmp_path, monkeypatch):
    from orchestration.cli import run_job
    from orchestration.paths import Home

    monkeypatch.setenv("CARELEDGER_HOME", str(demo_run.home))
    monkeypatch.setenv("DAGSTER_HOME", str(demo_run.home / "dagster"))
    home = Home.from_env()
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        (lo,) = con.execute("select min(posting_date) from marts.mart_erp_journal_lines").fetchone()
    start, end = lo, lo + timedelta(days=2)
    instance = DagsterInstance.get()
    runs_before = len(instance.get_runs())
    result = run_job(home, "daily_finance", tags={
        "dagster/asset_partition_range_start": start.isoformat(),
        "dagster/asset_partition_range_end": end.isoformat(),
    }, asset_selection=[AssetKey(["publish", "erp_journals_json"])])
    assert result.success
    assert len(DagsterInstance.get().get_runs()) == runs_before + 1
    mats = result.get_asset_materialization_events()
    partitions = {e.partition for e in mats}
    assert partitions == {(start + timedelta(days=i)).isoformat() for i in range(3)}
