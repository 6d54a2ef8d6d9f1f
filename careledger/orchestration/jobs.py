"""Run the Dagster jobs in-process: what ``careledger refresh``, ``backfill``, ``demo`` and
``replay`` share, so none of them imports the command line module."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from careledger import config
from careledger.config import Home


def open_home(override: Path | str | None = None) -> Home:
    """The CARELEDGER_HOME folder (created if needed), exported for dbt and Dagster."""
    home = Home.from_env(override).ensure()
    home.export_env()
    return home


def write_dagster_yaml(home: Home) -> None:
    """One writer at a time: every asset that writes the warehouse is in the pool ``duckdb_writer``."""
    cfg = home.dagster_home / "dagster.yaml"
    text = (
        "# written by careledger: one writer to the DuckDB warehouse at a time\n"
        "concurrency:\n  pools:\n    default_limit: 1\n  runs:\n    max_concurrent_runs: 1\n"
        "telemetry:\n  enabled: false\n"
    )
    home.dagster_home.mkdir(parents=True, exist_ok=True)
    if not cfg.exists() or cfg.read_text() != text:
        cfg.write_text(text)


def dagster_instance(home: Home):
    from dagster import DagsterInstance

    write_dagster_yaml(home)
    os.environ["DAGSTER_HOME"] = str(home.dagster_home)
    return DagsterInstance.get()


def run_job(
    home: Home,
    job_name: str,
    *,
    landing: Path | None = None,
    tags: dict | None = None,
    partition_key: str | None = None,
    asset_selection: list | None = None,
    run_config: dict | None = None,
):
    """Execute a job from the Dagster definitions in this process (same graph as the UI)."""
    if landing is not None:
        config.set_landing(landing)
    from careledger.orchestration.definitions import defs
    from careledger.orchestration.stale_runs import reap_dead_runs, run_tags

    job = defs.resolve_job_def(job_name)
    instance = dagster_instance(home)
    reap_dead_runs(instance, home.warehouse)  # a killed run must not keep the writer slot
    # the compact progress logger prints one line per step; without a logger in the run config
    # Dagster falls back to its system logger, which prints every engine event at DEBUG
    # (the event log, what the UI shows, keeps them all either way)
    run_config = {**(run_config or {}), "loggers": {"console": {}}}
    result = job.execute_in_process(
        run_config=run_config,
        instance=instance,
        tags={**run_tags(), **(tags or {})},
        partition_key=partition_key,
        asset_selection=asset_selection,
        raise_on_error=False,
    )
    if not result.success:
        raise SystemExit(f"job {job_name} failed:\n{failure_detail(result)}")
    if asset_selection is None and _skipped(result, SERVING_STEP):
        # a failing invariant made dbt skip a public mart, so Dagster skipped the snapshot that
        # depends on every public mart; publish it on its own: it leaves the held-back marts
        # out (Home.build_status) and publishes the rest (docs/data_contracts.md)
        from dagster import AssetKey

        follow_up = job.execute_in_process(
            run_config=run_config,
            instance=instance,
            tags=tags or {},
            asset_selection=[AssetKey(["publish", "serving_snapshot"])],
            raise_on_error=False,
        )
        if not follow_up.success:
            raise SystemExit(f"job {job_name}: the serving snapshot failed after the dbt build held marts back")
        result.careledger_follow_ups = (follow_up,)
    return result


def failure_detail(result) -> str:
    """One line per failed step: what the step's code raised, not Dagster's wrapper ("Error
    occurred while executing op ..."), which carries it as its cause."""
    failures = [e for e in result.all_events if e.is_failure]
    steps = [e for e in failures if e.step_key is not None] or failures
    lines = []
    for event in steps:
        error = getattr(event.event_specific_data, "error", None) if event.event_specific_data else None
        if error is None:
            lines.append(f"  {event.step_key}: {event.message}"[:2000])
            continue
        while error.cause is not None and (error.cls_name or "").startswith("Dagster"):
            error = error.cause
        lines.append(f"  {event.step_key}: {error.message.strip()}"[:2000])
    return "\n".join(lines)


#: the step of the serving snapshot asset (key publish/serving_snapshot)
SERVING_STEP = "publish__serving_snapshot"


def _skipped(result, step_key: str) -> bool:
    return any(e.event_type_value == "STEP_SKIPPED" and e.step_key == step_key for e in result.all_events)


def date_range_tags(date_from: date, date_to: date) -> dict[str, str]:
    """The tags that make one run cover a range of daily partitions."""
    return {
        "dagster/asset_partition_range_start": date_from.isoformat(),
        "dagster/asset_partition_range_end": date_to.isoformat(),
    }


def backfill(home: Home, date_from: date, date_to: date):
    """The daily finance job (ERP postings) for every date in the range, in one run."""
    return run_job(home, "daily_finance", tags=date_range_tags(date_from, date_to))


def materialization_meta(result) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for run in (result, *getattr(result, "careledger_follow_ups", ())):
        for ev in run.get_asset_materialization_events():
            mat = ev.event_specific_data.materialization
            out["/".join(mat.asset_key.path)] = {k: v.value for k, v in mat.metadata.items()}
    return out
