"""Date partitions for the daily finance job and the month-close job."""

from __future__ import annotations

from dagster import BackfillPolicy, DailyPartitionsDefinition, MonthlyPartitionsDefinition

from careledger import config

# read when the Dagster definitions are built (the partitions are part of the asset graph)
PARTITION_START = config.partition_start()

daily_partitions = DailyPartitionsDefinition(start_date=PARTITION_START, end_offset=1)
monthly_partitions = MonthlyPartitionsDefinition(start_date=PARTITION_START[:8] + "01", end_offset=1)

# A range of dates backfills in one run: the ERP publisher takes a date range natively.
single_run_backfill = BackfillPolicy.single_run()
