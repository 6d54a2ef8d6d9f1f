"""Dagster jobs on tiny simulated data: a three-date backfill in one run, replay-safe postings."""

from __future__ import annotations

from datetime import timedelta

import duckdb
from dagster import AssetKey, DagsterInstance


def test_backfill_of_three_dates_is_one_run(demo_run, tmp_path, monkeypatch):
    from careledger.config import Home
    from careledger.orchestration.jobs import run_job

    monkeypatch.setenv("CARELEDGER_HOME", str(demo_run.home))
    monkeypatch.setenv("DAGSTER_HOME", str(demo_run.home / "dagster"))
    home = Home.from_env()
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        (lo,) = con.execute("select min(posting_date) from marts.mart_erp_journal_lines").fetchone()
    start, end = lo, lo + timedelta(days=2)
    instance = DagsterInstance.get()
    runs_before = len(instance.get_runs())
    result = run_job(
        home,
        "daily_finance",
        tags={
            "dagster/asset_partition_range_start": start.isoformat(),
            "dagster/asset_partition_range_end": end.isoformat(),
        },
        asset_selection=[AssetKey(["publish", "erp_journals_json"])],
    )
    assert result.success
    assert len(DagsterInstance.get().get_runs()) == runs_before + 1
    mats = result.get_asset_materialization_events()
    partitions = {e.partition for e in mats}
    assert partitions == {(start + timedelta(days=i)).isoformat() for i in range(3)}


def test_replay_a_batch_rebuilds_its_downstream_models_from_raw(demo_run, monkeypatch):
    """Replay of an ADT batch: the encounter models downstream are rebuilt (full refresh) from raw,
    and what they hold is unchanged, because raw is the record."""
    from careledger.config import Home
    from careledger.orchestration.replay import downstream_dbt_keys, replay

    monkeypatch.setenv("CARELEDGER_HOME", str(demo_run.home))
    monkeypatch.setenv("DAGSTER_HOME", str(demo_run.home / "dagster"))
    home = Home.from_env()
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        (batch_id,) = con.execute(
            "select batch_id from raw_meta.batches where format = 'hl7' and status = 'landed' order by batch_id limit 1"
        ).fetchone()
        before = con.execute("select count(*), count(distinct encounter_id) from core.fct_encounters").fetchone()
    keys = {k.to_user_string() for k in downstream_dbt_keys(["raw_ehr.adt_messages"])}
    assert "core/fct_encounters" in keys
    assert not any(k.startswith("publish/") for k in keys)
    result = replay(home, batch_id=batch_id)
    assert result.raw_tables[0] == "raw_ehr.adt_messages"
    assert result.assets_rebuilt == len(downstream_dbt_keys(result.raw_tables))
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        after = con.execute("select count(*), count(distinct encounter_id) from core.fct_encounters").fetchone()
    assert after == before


def test_replay_of_an_unknown_batch_is_a_clear_error(demo_run, monkeypatch):
    import pytest

    from careledger.config import Home
    from careledger.orchestration.replay import ReplayError, replay

    monkeypatch.setenv("CARELEDGER_HOME", str(demo_run.home))
    with pytest.raises(ReplayError, match="no batch 'b_nope'"):
        replay(Home.from_env(), batch_id="b_nope")


def test_new_adt_file_is_landed_by_the_adt_job(demo_run, monkeypatch):
    """What the ADT sensor starts: the adt_refresh job lands the new file and rebuilds the
    encounter models downstream (the duration is printed for the benchmarks page, not asserted)."""
    import time

    from careledger.config import Home
    from careledger.orchestration.jobs import run_job

    monkeypatch.setenv("CARELEDGER_HOME", str(demo_run.home))
    monkeypatch.setenv("DAGSTER_HOME", str(demo_run.home / "dagster"))
    home = Home.from_env()
    drop = home.landing / "ehr" / "adt"
    src = sorted(drop.glob("*.hl7"))[0]
    # a new file from the interface engine (a re-sent day: new bytes, repeated control ids)
    new = drop / "adt_99990101.hl7"
    new.write_bytes(src.read_bytes() + b"\r")
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        (before,) = con.execute("select count(*) from raw_meta.batches where format = 'hl7'").fetchone()
    t0 = time.perf_counter()
    result = run_job(home, "adt_refresh")
    print(f"adt_refresh took {time.perf_counter() - t0:.1f}s")
    assert result.success
    mats = {"/".join(e.asset_key.path) for e in result.get_asset_materialization_events()}
    assert "core/fct_encounters" in mats and "raw_ehr/adt_messages" in mats
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        (after,) = con.execute("select count(*) from raw_meta.batches where format = 'hl7'").fetchone()
    assert after == before + 1
