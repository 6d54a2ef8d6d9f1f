"""One writer at a time; SLA alerts fire when the posting is late."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import date, datetime
from datetime import time as dtime

import duckdb
import pytest

from careledger.orchestration.alerts import Alert, TableAndLogNotifier, daily_posting_sla
from careledger.orchestration.locking import WarehouseLocked, warehouse_writer


def test_second_writer_waits_then_says_who_holds_the_warehouse(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import time
            from pathlib import Path
            from careledger.orchestration.locking import warehouse_writer
            with warehouse_writer(Path({str(warehouse)!r}), "test holder"):
                print("held", flush=True)
                time.sleep(30)
        """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(WarehouseLocked) as exc:
            with warehouse_writer(warehouse, "second writer", wait_seconds=1):
                pass
        assert "test holder" in str(exc.value)
        assert f"pid {holder.pid}" in str(exc.value)
    finally:
        holder.kill()
        holder.wait()
    # once the holder is gone, the lock is free again
    with warehouse_writer(warehouse, "after", wait_seconds=5):
        pass


def test_lock_is_reentrant_in_one_process(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    with warehouse_writer(warehouse, "outer", wait_seconds=1):
        with warehouse_writer(warehouse, "inner", wait_seconds=1):
            pass


@pytest.mark.parametrize(
    "last_posted, now, late",
    [
        (None, datetime(2026, 3, 2, 8, 0), True),  # never posted, past 07:00
        (date(2026, 3, 1), datetime(2026, 3, 2, 8, 0), False),  # D-1 posted
        (date(2026, 2, 28), datetime(2026, 3, 2, 8, 0), True),  # D-2 only
        (date(2026, 2, 28), datetime(2026, 3, 2, 6, 59), False),  # not yet due
    ],
)
def test_daily_posting_sla(last_posted, now, late):
    status = daily_posting_sla(last_posted, now, dtime(7, 0))
    assert status.is_late is late
    assert status.business_date == date(2026, 3, 1)


def test_default_notifier_writes_alert_row(tmp_path):
    ops = tmp_path / "ops.duckdb"
    TableAndLogNotifier(ops).notify(Alert("posting_sla", "daily_finance 2026-03-01", "late"))
    with duckdb.connect(str(ops)) as con:
        assert con.execute("select alert_type, subject from alerts").fetchall() == [
            ("posting_sla", "daily_finance 2026-03-01")
        ]
