"""Serving snapshot: contents, contracts, Parquet layout, PHI guard and the atomic swap under
readers. Runs on the session's ``built_warehouse`` (simulator -> ingest -> dbt build)."""

from __future__ import annotations

import os
import shutil
import threading
import time
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from careledger.dashboard.queries import MissingMarts, Snapshot
from careledger.publish.contracts import public_mart_names, public_marts
from careledger.publish.serving import (
    SnapshotError,
    current_snapshot_path,
    open_serving,
    publish_serving_snapshot,
    read_manifest,
)
from careledger.publish.serving_model import CONFORMED_DIMENSIONS, SNAPSHOT_CONTRACT_VERSION, model_docs

PUBLIC_MARTS = public_mart_names()
#: dbt contract type names as DuckDB's ``describe`` spells them.
TYPE_ALIASES = {"INT": "INTEGER", "STRING": "VARCHAR", "TEXT": "VARCHAR"}


@pytest.fixture()
def warehouse(built_warehouse, tmp_path: Path) -> Path:
    """A private, writable copy of the session's built warehouse."""
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(built_warehouse.warehouse, path)
    return path


def _duckdb_type(contract_type: str) -> str:
    t = contract_type.upper().replace(" ", "")
    return TYPE_ALIASES.get(t, t)


def _total_payment(con: duckdb.DuckDBPyConnection, table: str) -> Decimal:
    return con.execute(f"select sum(payment_amount) from {table}").fetchone()[0]


def test_snapshot_holds_every_public_mart_with_same_rows_and_types(warehouse: Path, tmp_path: Path) -> None:
    serving = tmp_path / "serving"
    result = publish_serving_snapshot(warehouse, serving)

    assert set(PUBLIC_MARTS) <= set(result.tables)
    assert result.missing_marts == ()
    assert result.path == serving / "current" / "serving.duckdb"
    assert result.bytes > 0 and result.rows == sum(result.tables.values())
    wh = duckdb.connect(str(warehouse), read_only=True)
    snap = open_serving(serving)
    try:
        for mart in PUBLIC_MARTS:
            assert (
                snap.execute(f"select count(*) from {mart}").fetchone()[0]
                == wh.execute(f"select count(*) from marts.{mart}").fetchone()[0]
                == result.tables[mart]
            )
        # money stays DECIMAL(18,2) and sums to the cent
        assert _total_payment(snap, "mart_daily_reimbursement") == _total_payment(wh, "marts.mart_daily_reimbursement")
        dtype = snap.execute(
            "select data_type from information_schema.columns where table_name = "
            "'mart_daily_reimbursement' and column_name = 'payment_amount'"
        ).fetchone()[0]
        assert dtype == "DECIMAL(18,2)"
        manifest = {r[0]: r[1] for r in snap.execute("select table_name, row_count from snapshot_manifest").fetchall()}
        assert manifest == result.tables
    finally:
        wh.close()
        snap.close()
    assert read_manifest(serving)["version"] == result.version
    # only the public marts, the conformed dimensions and the publisher's own tables
    assert set(result.tables) == {
        *PUBLIC_MARTS,
        *CONFORMED_DIMENSIONS,
        "source_freshness",
        "held_journals",
        "metrics",
        "snapshot_constraints",
    }
    # stable paths for BI tools follow the current version
    assert (serving / "serving.duckdb").resolve() == current_snapshot_path(serving)
    assert (serving / "parquet").resolve() == result.version_dir / "parquet"


def test_snapshot_columns_and_types_equal_each_public_marts_contract(warehouse: Path, tmp_path: Path) -> None:
    """What BI tools, the dashboard and the extract read is exactly what the dbt contracts
    declare: same columns, same order, same types (contracts from the dbt yml, which
    tests/unit/dbt/test_contracts.py checks against the compiled manifest)."""
    serving = tmp_path / "serving"
    publish_serving_snapshot(warehouse, serving)
    snap = open_serving(serving)
    try:
        for mart, contract in public_marts().items():
            assert contract.enforced, f"{mart} is public but its contract is not enforced"
            got = [(r[0], r[1]) for r in snap.execute(f"describe {mart}").fetchall()]
            want = [(c, _duckdb_type(t)) for c, t in contract.columns]
            assert got == want, mart
    finally:
        snap.close()


def test_parquet_files_match_tables_and_partition_large_ones_by_period(warehouse: Path, tmp_path: Path) -> None:
    serving = tmp_path / "serving"
    result = publish_serving_snapshot(warehouse, serving, partition_min_rows=300)
    journal_rows = result.tables["mart_erp_journal_lines"]
    assert journal_rows >= 300 and result.tables["mart_daily_reimbursement"] >= 300
    assert result.parquet_layout["mart_erp_journal_lines"] == "period_id"
    assert result.parquet_layout["mart_daily_reimbursement"] == "period"  # from remit_date
    assert result.parquet_layout["mart_revenue_cycle_kpis"] == "single"
    parts = sorted(p.name for p in (serving / "parquet" / "mart_erp_journal_lines").iterdir())
    assert parts and all(p.startswith("period_id=") for p in parts)
    con = duckdb.connect()
    for table, rows in result.tables.items():
        glob = serving / "parquet" / table / "**" / "*.parquet"
        got = con.execute(f"select count(*) from read_parquet('{glob}', hive_partitioning = true)").fetchone()[0]
        assert got == rows, table
    pay = con.execute(
        "select sum(payment_amount) from read_parquet("
        f"'{serving}/parquet/mart_daily_reimbursement/**/*.parquet', hive_partitioning = true)"
    ).fetchone()[0]
    snap = open_serving(serving)
    assert pay == _total_payment(snap, "mart_daily_reimbursement")
    snap.close()


def test_freshness_is_aggregate_only(warehouse: Path, tmp_path: Path) -> None:
    serving = tmp_path / "serving"
    publish_serving_snapshot(warehouse, serving)
    snap = open_serving(serving)
    cols = [r[0] for r in snap.execute("describe source_freshness").fetchall()]
    rows = snap.execute("select count(*), count(distinct (source_system, format)) from source_freshness").fetchone()
    wh = duckdb.connect(str(warehouse), read_only=True)
    fmt, last = wh.execute(
        "select format, max(finished_at) from raw_meta.batches where status = 'landed' "
        "and source_system = 'billing' group by format order by format limit 1"
    ).fetchone()
    got = snap.execute("select last_loaded_at from source_freshness where format = ?", [fmt]).fetchone()[0]
    snap.close()
    wh.close()
    assert rows[0] == rows[1]  # one row per source_system x format
    assert not {"source_file", "file_name", "sha256", "batch_id", "raw_text"} & set(cols)
    assert got == last


def test_reader_keeps_old_snapshot_during_refresh_and_sees_new_on_reopen(warehouse: Path, tmp_path: Path) -> None:
    serving = tmp_path / "serving"
    publish_serving_snapshot(warehouse, serving)
    old_reader = open_serving(serving)
    before = _total_payment(old_reader, "mart_daily_reimbursement")

    con = duckdb.connect(str(warehouse))
    con.execute("update marts.mart_daily_reimbursement set payment_amount = payment_amount + 1")
    rows = con.execute("select count(*) from marts.mart_daily_reimbursement").fetchone()[0]
    con.close()

    publish_serving_snapshot(warehouse, serving)
    # the old reader still reads the old snapshot, consistently
    assert _total_payment(old_reader, "mart_daily_reimbursement") == before
    new_reader = open_serving(serving)
    assert _total_payment(new_reader, "mart_daily_reimbursement") == before + rows
    new_reader.close()

    # two more refreshes prune the first version from disk; the open reader keeps working
    publish_serving_snapshot(warehouse, serving)
    publish_serving_snapshot(warehouse, serving)
    assert len([p for p in (serving / "versions").iterdir()]) == 2
    assert _total_payment(old_reader, "mart_daily_reimbursement") == before
    assert old_reader.execute("select count(*) from mart_erp_journal_lines").fetchone()[0] > 0
    old_reader.close()


def test_concurrent_readers_never_see_a_missing_or_partial_snapshot(warehouse: Path, tmp_path: Path) -> None:
    serving = tmp_path / "serving"
    first = publish_serving_snapshot(warehouse, serving)
    expected_rows = first.tables["mart_service_line_margin_monthly"]
    errors: list[BaseException] = []
    reads = 0
    stop = threading.Event()

    def reader() -> None:
        nonlocal reads
        while not stop.is_set():
            try:
                con = open_serving(serving)
                n = con.execute("select count(*) from mart_service_line_margin_monthly").fetchone()[0]
                tables = con.execute("select count(*) from snapshot_manifest").fetchone()[0]
                con.close()
                assert n == expected_rows and tables == len(first.tables)
                reads += 1
                time.sleep(0.005)  # let the publisher run; readers still overlap each swap
            except BaseException as exc:
                errors.append(exc)
                return

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        for _ in range(3):
            publish_serving_snapshot(warehouse, serving)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors[0]
    assert reads > 0


def test_phi_column_blocks_publish_and_keeps_current(warehouse: Path, tmp_path: Path) -> None:
    serving = tmp_path / "serving"
    good = publish_serving_snapshot(warehouse, serving)
    con = duckdb.connect(str(warehouse))
    con.execute("alter table marts.mart_daily_reimbursement add column patient_mrn varchar default 'MRN00000001'")
    con.close()
    with pytest.raises(SnapshotError, match="patient_mrn"):
        publish_serving_snapshot(warehouse, serving)
    assert current_snapshot_path(serving).parent == good.version_dir
    assert [p.name for p in (serving / "versions").iterdir()] == [good.version]


def test_missing_warehouse_is_an_actionable_error(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match="build it first"):
        publish_serving_snapshot(tmp_path / "nope.duckdb", tmp_path / "serving")
    assert not (tmp_path / "serving" / "current").exists()


def test_missing_marts_are_reported_not_fatal(warehouse: Path, tmp_path: Path) -> None:
    con = duckdb.connect(str(warehouse))
    con.execute("drop table marts.mart_reconciliation_exceptions")
    con.close()
    result = publish_serving_snapshot(warehouse, tmp_path / "serving")
    assert result.missing_marts == ("mart_reconciliation_exceptions",)
    assert "mart_reconciliation_exceptions" not in result.tables
    # the dashboard does not fall back: it says in one sentence what is missing
    with pytest.raises(MissingMarts, match=r"has no mart_reconciliation_exceptions: rebuild the marts") as err:
        Snapshot(tmp_path / "serving").require_marts()
    assert "\n" not in str(err.value)


def test_current_link_is_relative_so_the_folder_can_move(warehouse: Path, tmp_path: Path) -> None:
    serving = tmp_path / "serving"
    publish_serving_snapshot(warehouse, serving)
    assert not os.readlink(serving / "current").startswith("/")
    moved = tmp_path / "moved"
    serving.rename(moved)
    con = open_serving(moved)
    assert con.execute("select count(*) from mart_daily_reimbursement").fetchone()[0] > 0
    con.close()


def test_warehouse_locked_by_a_writer_is_an_actionable_error(warehouse: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time\n"
            f"con = duckdb.connect({str(warehouse)!r})\n"
            "print('locked', flush=True)\n"
            "sys.stdin.read()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(SnapshotError, match="writer lock"):
            publish_serving_snapshot(warehouse, tmp_path / "serving")
        assert not (tmp_path / "serving" / "current").exists()
        assert not [p for p in (tmp_path / "serving" / "versions").iterdir()]
    finally:
        holder.communicate("")


def test_marts_a_failing_invariant_held_back_are_left_out_and_named(warehouse: Path, tmp_path: Path) -> None:
    """A build status with a failing invariant on one public mart and a skipped dependent:
    both are left out, every other mart is published, and the data-quality table says why."""
    from careledger.publish.build_status import BuildStatus, FailedTest, from_artifacts

    manifest = {
        "nodes": {
            "test.careledger.unique_mart_ar_aging_key.1": {
                "name": "unique_mart_ar_aging_key",
                "attached_node": "model.careledger.mart_ar_aging",
            },
            "model.careledger.mart_ar_aging": {"name": "mart_ar_aging"},
            "model.careledger.mart_ar_rollforward": {"name": "mart_ar_rollforward"},
        },
        "parent_map": {"test.careledger.unique_mart_ar_aging_key.1": ["model.careledger.mart_ar_aging"]},
    }
    run_results = {
        "results": [
            {"unique_id": "model.careledger.mart_ar_aging", "status": "success"},
            {
                "unique_id": "test.careledger.unique_mart_ar_aging_key.1",
                "status": "fail",
                "failures": 2,
                "message": "Got 2 results",
            },
            {"unique_id": "model.careledger.mart_ar_rollforward", "status": "skipped"},
        ]
    }
    status = from_artifacts(run_results, manifest)
    assert status.failed_tests == (FailedTest("unique_mart_ar_aging_key", ("mart_ar_aging",), 2, "Got 2 results"),)
    assert status.blocked_models == ("mart_ar_rollforward",)
    status.write(tmp_path / "status.json")
    assert BuildStatus.read(tmp_path / "status.json") == status

    result = publish_serving_snapshot(warehouse, tmp_path / "serving", build_status=status)
    assert set(result.held_back_marts) == {"mart_ar_aging", "mart_ar_rollforward"}
    assert set(PUBLIC_MARTS) - set(result.tables) == {"mart_ar_aging", "mart_ar_rollforward"}
    assert read_manifest(tmp_path / "serving")["held_back_marts"] == result.held_back_marts
    with open_serving(tmp_path / "serving") as snap:
        rows = snap.execute(
            "select severity, status, source, failing_row_count from mart_data_quality_status where check_name = ?",
            ["unique_mart_ar_aging_key"],
        ).fetchall()
    assert rows == [("error", "fail", "mart_ar_aging", 2)]


def test_snapshot_describes_itself(warehouse: Path, tmp_path: Path) -> None:
    """Comments from the dbt docs, primary and foreign keys, the conformed dimensions without
    PHI columns, the dbt metrics as a table and views, Parquet metadata with the contract."""
    serving = tmp_path / "serving"
    result = publish_serving_snapshot(warehouse, serving)
    docs = model_docs()
    snap = open_serving(serving)
    try:
        comments = dict(snap.execute("select table_name, comment from duckdb_tables()").fetchall())
        for table in [*PUBLIC_MARTS, *CONFORMED_DIMENSIONS]:
            assert comments[table] == docs[table].description, table
        col = snap.execute(
            "select comment from duckdb_columns() where table_name = 'mart_erp_journal_lines' "
            "and column_name = 'account_id'"
        ).fetchone()[0]
        assert col == docs["mart_erp_journal_lines"].columns["account_id"]
        keys = {
            (t, tuple(c))
            for t, c in snap.execute(
                "select table_name, constraint_column_names from duckdb_constraints() "
                "where constraint_type = 'PRIMARY KEY'"
            ).fetchall()
        }
        assert ("mart_erp_journal_lines", ("journal_id", "line_number")) in keys
        assert ("dim_gl_account", ("account_id",)) in keys
        fks = {
            (t, tuple(c), r)
            for t, c, r in snap.execute(
                "select table_name, constraint_column_names, referenced_table from duckdb_constraints() "
                "where constraint_type = 'FOREIGN KEY'"
            ).fetchall()
        }
        assert ("mart_erp_journal_lines", ("account_id",), "dim_gl_account") in fks
        assert ("mart_daily_reimbursement", ("remit_date",), "dim_date") in fks
        # every relationship is either declared or says why not
        assert (
            snap.execute("select count(*) from snapshot_constraints where not is_declared and note = ''").fetchone()[0]
            == 0
        )
        # dimensions keep only non-PHI columns (the facility's city is on the deny-list)
        facility_cols = [r[0] for r in snap.execute("describe dim_facility").fetchall()]
        assert "facility_name" in facility_cols and "city" not in facility_cols
        # metrics: the dbt definition and a view that computes it
        expr, view = snap.execute(
            "select expression, view_name from metrics where metric_name = 'gross_charges'"
        ).fetchone()
        assert expr == "sum(gross_charge_amount)"
        by_view = snap.execute(f"select sum(gross_charges) from {view}").fetchone()[0]
        assert (
            by_view
            == snap.execute("select sum(gross_charge_amount) from mart_service_line_margin_monthly").fetchone()[0]
        )
        ratio = snap.execute("select metric_type, expression from metrics where metric_name = 'margin_pct'").fetchone()
        assert ratio[0] == "ratio" and "/ nullif(" in ratio[1]
        assert snap.execute("select distinct contract_version from snapshot_manifest").fetchall() == [
            (SNAPSHOT_CONTRACT_VERSION,)
        ]
    finally:
        snap.close()
    con = duckdb.connect()
    meta = dict(
        con.execute(
            "select decode(key), decode(value) from parquet_kv_metadata("
            f"'{serving}/parquet/mart_erp_journal_lines/**/*.parquet')"
        ).fetchall()
    )
    assert meta["careledger_contract_version"] == SNAPSHOT_CONTRACT_VERSION
    assert meta["careledger_table"] == "mart_erp_journal_lines"
    assert meta["careledger_description"] == docs["mart_erp_journal_lines"].description[:2000]
    assert result.version in read_manifest(serving)["version"]


def test_only_public_models_are_published(warehouse: Path, tmp_path: Path) -> None:
    """An analyst's leftover mart_ table (its model deleted, never public) stays out."""
    con = duckdb.connect(str(warehouse))
    con.execute("create table marts.mart_analyst_scratch as select 1 as x")
    con.close()
    result = publish_serving_snapshot(warehouse, tmp_path / "serving")
    assert "mart_analyst_scratch" not in result.tables


def test_a_duplicate_key_in_a_mart_stops_the_snapshot(warehouse: Path, tmp_path: Path) -> None:
    serving = tmp_path / "serving"
    good = publish_serving_snapshot(warehouse, serving)
    con = duckdb.connect(str(warehouse))
    con.execute(
        "create or replace table marts.mart_revenue_cycle_kpis as select * from marts.mart_revenue_cycle_kpis "
        "union all (select * from marts.mart_revenue_cycle_kpis limit 1)"
    )
    con.close()
    with pytest.raises(
        SnapshotError, match=r"mart_revenue_cycle_kpis has 1 duplicate key\(s\) on \(period_id, facility_id\)"
    ):
        publish_serving_snapshot(warehouse, serving)
    assert current_snapshot_path(serving).parent == good.version_dir


def test_no_public_mart_is_an_error_not_an_empty_snapshot(tmp_path: Path) -> None:
    from careledger.publish.serving import NoMartsError

    warehouse = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(warehouse)).close()
    with pytest.raises(NoMartsError, match="nothing to publish"):
        publish_serving_snapshot(warehouse, tmp_path / "serving")
    assert not (tmp_path / "serving" / "current").exists()
