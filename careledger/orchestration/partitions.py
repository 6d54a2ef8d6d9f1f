"""Date partitions for the daily finance job and the month-close job.

The partitions start where the data does: the earliest posting date of the warehouse's journal
lines (``CARELEDGER_PARTITION_START`` overrides it). Before, a fixed 2025-01-01 showed
"701 partitions, 11% filled" for a quarter of data.
"""

from __future__ import annotations

from dagster import BackfillPolicy, DailyPartitionsDefinition, MonthlyPartitionsDefinition

from careledger import config
from careledger.config import Home

#: Where the last start read from the data is remembered, so that a warehouse a writer holds
#: (or a home with none yet) gives the same partitions as the last time it could be read.
START_FILE = "partition_start"


def _earliest_posting_date(home: Home) -> str | None:
    import duckdb

    if not home.warehouse.is_file():
        return None
    try:
        with duckdb.connect(str(home.warehouse), read_only=True) as con:
            row = con.execute("select min(posting_date) from marts.mart_erp_journal_lines").fetchone()
    except duckdb.Error:  # a writer holds the file, or the marts are not built yet
        return None
    return row[0].isoformat() if row and row[0] else None


#: The start when nothing has landed yet. The definitions read their start once, when a process
#: imports them; a process that then lands and builds (``careledger demo``, a test session, a
#: ``refresh`` followed by the daily job) posts dates from its data, which an early floor covers
#: and "this month" did not (daily_finance refused 2026-01-02 against a 2026-12-01 start). The
#: next process starts where the data does.
NOTHING_LANDED_START = "2000-01-01"


def partition_start(home: Home | None = None) -> str:
    """The first day of the daily partitions: the override, else the earliest posting date in
    the warehouse (remembered under the Dagster home), else the last one remembered, else
    ``NOTHING_LANDED_START``."""
    override = config.partition_start()
    if override:
        return override
    home = home or Home.from_env()
    remembered = home.dagster_home / START_FILE
    earliest = _earliest_posting_date(home)
    last = remembered.read_text().strip() if remembered.exists() else ""
    if earliest:
        if last != earliest:
            remembered.parent.mkdir(parents=True, exist_ok=True)
            remembered.write_text(earliest + "\n")
        return earliest
    return last or NOTHING_LANDED_START


# read when the Dagster definitions are built (the partitions are part of the asset graph)
PARTITION_START = partition_start()

daily_partitions = DailyPartitionsDefinition(start_date=PARTITION_START, end_offset=1)
monthly_partitions = MonthlyPartitionsDefinition(start_date=PARTITION_START[:8] + "01", end_offset=1)

# A range of dates backfills in one run: the ERP publisher takes a date range natively.
single_run_backfill = BackfillPolicy.single_run()
