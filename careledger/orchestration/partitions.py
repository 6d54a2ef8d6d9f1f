"""Date partitions for the daily finance job and the month-close job."""

from __future__ import annotations

import os

from dagster import BackfillPolicy, DailyPartitionsDefinition, MonthlyPartitionsDefinition

PARTITION_START = os.environ.get("CARELEDGER_PARTITION_START", "2025-01-01")

daily_partitions = DailyPartitionsDefinition(start_date=PARTITION_START, end_offset=1)
monthly_partitions = MonthlyPartitionsDefinition(start_date=PARTITION_START[:8] + "01", end_offset=1)

# A range of dates backfills in one run: the ERP publisher takes a date range natively.
single_run_backfill = BackfillPolicy.single_run()
