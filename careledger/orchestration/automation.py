"""Jobs, schedules and sensors on the clocks healthcare finance runs on."""

import hashlib
import json
from datetime import UTC, date, datetime
from pathlib import Path

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SensorEvaluationContext,
    SkipReason,
    build_schedule_from_partitioned_job,
    define_asset_job,
    schedule,
    sensor,
)

from careledger.config import Home, posting_deadline
from careledger.orchestration.alerts import Alert, daily_posting_sla, notifier_for
from careledger.orchestration.assets.dbt import careledger_dbt_assets
from careledger.orchestration.assets.fhir_fetch import NOT_CONFIGURED, configured_request, fhir_bulk_export
from careledger.orchestration.assets.publish import erp_assets, finance_extract, serving_snapshot
from careledger.orchestration.assets.raw import raw_assets
from careledger.orchestration.erp_posting import posting_status_path

_raw = {a.node_def.name: a for a in raw_assets}
_dbt = AssetSelection.assets(careledger_dbt_assets)

# Everything that is not partitioned: land all sources, dbt build, serving snapshot.
refresh_job = define_asset_job(
    "refresh",
    selection=AssetSelection.assets(*raw_assets) | _dbt | AssetSelection.assets(serving_snapshot),
    description="Land every source, build the dbt project (tests as checks), publish the serving snapshot.",
)

# ADT: near real time. Land the new messages and refresh the encounter models downstream.
adt_job = define_asset_job(
    "adt_refresh",
    selection=AssetSelection.assets(_raw["raw_adt"])
    | (AssetSelection.assets(_raw["raw_adt"]).downstream() & AssetSelection.groups("staging", "intermediate", "core")),
    description="Land new ADT files and refresh the encounter models downstream.",
)

# Billing: hourly. Claims, remittance and denials, then everything downstream.
_billing = AssetSelection.assets(_raw["raw_claims"], _raw["raw_remittance"], _raw["raw_denials"])
billing_hourly_job = define_asset_job(
    "billing_hourly",
    selection=_billing | (_billing.downstream() & (_dbt | AssetSelection.assets(serving_snapshot))),
    description="Hourly: claims, remittance and denial events, the models downstream and the serving snapshot.",
)

# ERP postings: daily partitions; a range of dates backfills in one run.
daily_finance_job = define_asset_job(
    "daily_finance",
    selection=AssetSelection.assets(*erp_assets),
    description="Post the day's balanced journals to every ERP target (exactly-once through the posting ledger).",
)

month_close_job = define_asset_job(
    "month_close",
    selection=AssetSelection.assets(finance_extract),
    description="Month-end: the reconciled finance extract for the closed month.",
)

# FHIR Bulk Data: nightly. Export from the EHR's API, land, refresh the models downstream.
_fhir_raw = AssetSelection.assets(_raw["raw_fhir"])
fhir_bulk_job = define_asset_job(
    "fhir_bulk_fetch",
    selection=AssetSelection.assets(fhir_bulk_export)
    | _fhir_raw
    | (_fhir_raw.downstream() & (_dbt | AssetSelection.assets(serving_snapshot))),
    description="Bulk Data $export from the FHIR server (CARELEDGER_FHIR_BASE), land it, refresh the models downstream.",
)

jobs = [refresh_job, adt_job, billing_hourly_job, daily_finance_job, month_close_job, fhir_bulk_job]

billing_hourly_schedule = ScheduleDefinition(
    name="billing_hourly_schedule",
    job=billing_hourly_job,
    cron_schedule="5 * * * *",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.STOPPED,
)
nightly_refresh_schedule = ScheduleDefinition(
    name="nightly_refresh_schedule",
    job=refresh_job,
    cron_schedule="0 4 * * *",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.STOPPED,
)
daily_finance_schedule = build_schedule_from_partitioned_job(
    daily_finance_job,
    name="daily_finance_schedule",
    hour_of_day=5,
    minute_of_hour=30,
    default_status=DefaultScheduleStatus.STOPPED,
)
month_close_schedule = build_schedule_from_partitioned_job(
    month_close_job,
    name="month_close_schedule",
    day_of_month=3,
    hour_of_day=6,
    default_status=DefaultScheduleStatus.STOPPED,
)


@schedule(
    name="fhir_bulk_nightly_schedule",
    job=fhir_bulk_job,
    cron_schedule="30 2 * * *",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.STOPPED,
)
def fhir_bulk_nightly_schedule(context: ScheduleEvaluationContext):
    """Nightly, before the 04:00 refresh: an export asking _since the last one, if a server is named."""
    if configured_request() is None:
        return SkipReason(NOT_CONFIGURED)
    return RunRequest(run_key=None, tags={"careledger/trigger": "fhir_bulk_nightly"})


schedules = [
    billing_hourly_schedule,
    nightly_refresh_schedule,
    daily_finance_schedule,
    month_close_schedule,
    fhir_bulk_nightly_schedule,
]


def adt_folder(home: Home) -> Path:
    return home.landing / "ehr" / "adt"


def scan_drop_folder(folder: Path) -> dict[str, str]:
    """file name -> 'size:mtime_ns' for every file in the drop folder."""
    if not folder.exists():
        return {}
    return {f.name: f"{f.stat().st_size}:{f.stat().st_mtime_ns}" for f in sorted(folder.iterdir()) if f.is_file()}


@sensor(
    job=adt_job,
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.STOPPED,
    description="Watches the ADT drop folder; new or changed files start an ADT refresh within a minute.",
)
def adt_drop_sensor(context: SensorEvaluationContext):
    seen = json.loads(context.cursor) if context.cursor else {}
    current = scan_drop_folder(adt_folder(Home.from_env()))
    new = {name: sig for name, sig in current.items() if seen.get(name) != sig}
    if not new:
        return SkipReason(f"no new ADT files ({len(current)} seen)")
    run_key = hashlib.sha256(json.dumps(new, sort_keys=True).encode()).hexdigest()[:16]
    context.update_cursor(json.dumps(current, sort_keys=True))
    return RunRequest(run_key=run_key, tags={"careledger/new_adt_files": ",".join(sorted(new))[:1000]})


def last_posted_date(home: Home) -> date | None:
    path = posting_status_path(home.root)
    if not path.exists():
        return None
    status = json.loads(path.read_text())
    dates = [v["last_posted_date"] for v in status.values() if v.get("last_posted_date")]
    # the posting is complete when every target has posted
    return date.fromisoformat(min(dates)) if dates else None


@sensor(
    minimum_interval_seconds=300,
    default_status=DefaultSensorStatus.STOPPED,
    description="Raises an SLA alert when the daily ERP posting has not completed by CARELEDGER_POSTING_DEADLINE.",
)
def posting_sla_sensor(context: SensorEvaluationContext):
    home = Home.from_env()
    now = datetime.now(UTC).replace(tzinfo=None)
    status = daily_posting_sla(last_posted_date(home), now, posting_deadline())
    if not status.is_late:
        return SkipReason(status.message)
    if context.cursor == status.business_date.isoformat():
        return SkipReason(f"already alerted: {status.message}")
    notifier_for(home.root).notify(Alert("posting_sla", f"daily_finance {status.business_date}", status.message))
    context.update_cursor(status.business_date.isoformat())
    return SkipReason(f"ALERT raised: {status.message}")


sensors = [adt_drop_sensor, posting_sla_sensor]
