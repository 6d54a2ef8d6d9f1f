"""The Dagster code location loads and has the graph docs/architecture.md describes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dagster import AssetKey

REPO = Path(__file__).resolve().parents[3]


def test_dagster_definitions_validate():
    dagster = str(Path(sys.executable).parent / "dagster")
    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "CARELEDGER_HOME")}
    result = subprocess.run(
        [dagster, "definitions", "validate", "-m", "careledger.orchestration.definitions"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_asset_graph_has_every_stage():
    from careledger.orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    for raw in (
        "raw_ehr/fhir_resources",
        "raw_ehr/adt_messages",
        "raw_billing/claim_lines",
        "raw_billing/remit_claims",
        "raw_billing/denial_events",
        "raw_erp/gl_actuals",
    ):
        assert raw in keys
    assert "marts/mart_erp_journal_lines" in keys
    for target in ("oracle", "d365", "netsuite", "json"):
        assert f"publish/erp_journals_{target}" in keys
    assert "publish/serving_snapshot" in keys
    # dbt sources resolve to the raw assets (lineage is one graph, not two)
    stg = [k for k in graph.get_all_asset_keys() if k.path[0] == "staging"]
    assert stg, "no staging models"
    upstream = set().union(*(graph.get(k).parent_keys for k in stg))
    assert any(k.path[0].startswith("raw_") for k in upstream)
    assert AssetKey(["raw_billing", "remit_claims"]) in graph.get_all_asset_keys()


def test_dbt_tests_are_asset_checks():
    from careledger.orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    checks = graph.asset_check_keys
    assert any(c.asset_key.path[0] == "core" for c in checks)
    assert any(c.name.startswith("quarantine_share_") for c in checks)


def test_jobs_and_automation():
    from careledger.orchestration.definitions import defs

    for job in ("refresh", "adt_refresh", "billing_hourly", "daily_finance", "month_close"):
        assert defs.resolve_job_def(job) is not None
    assert {s.name for s in defs.schedules} >= {
        "billing_hourly_schedule",
        "daily_finance_schedule",
        "month_close_schedule",
        "nightly_refresh_schedule",
    }
    assert {s.name for s in defs.sensors} >= {"adt_drop_sensor", "posting_sla_sensor"}
