"""The dbt project as Dagster assets; dbt tests become asset checks."""

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, AssetKey, Config
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets

from careledger.config import DBT_PROFILES_DIR, DBT_PROJECT_DIR, dbt_executable
from careledger.orchestration.dbt_manifest import ensure_manifest
from careledger.orchestration.locking import register_worker, warehouse_writer
from careledger.orchestration.resources import CareledgerResource
from careledger.publish.build_status import BuildStatus, from_artifacts

log = logging.getLogger(__name__)

dbt_project = DbtProject(
    project_dir=DBT_PROJECT_DIR,
    profiles_dir=DBT_PROFILES_DIR,
    target_path=Path("target"),
)


class CareledgerDbtTranslator(DagsterDbtTranslator):
    """Asset keys follow the layers: sources are ``[raw schema, table]``, models ``[layer, name]``."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        rtype = dbt_resource_props["resource_type"]
        if rtype == "source":
            return AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])
        fqn = dbt_resource_props.get("fqn", [])
        if rtype == "seed":
            return AssetKey(["reference", dbt_resource_props["name"]])
        if rtype == "snapshot":
            return AssetKey(["snapshots", dbt_resource_props["name"]])
        layer = fqn[1] if len(fqn) > 2 else "models"
        return AssetKey([layer, dbt_resource_props["name"]])

    def get_asset_check_spec(self, asset_spec, manifest, unique_id, project):
        """dbt tests as asset checks, never blocking: a failing error-severity test must hold
        back only what depends on it, and dbt's build already skips those nodes. A blocking
        check would fail the whole dbt step and so skip every publish step after it."""
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        return spec._replace(blocking=False) if spec is not None else None

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        rtype = dbt_resource_props["resource_type"]
        if rtype == "seed":
            return "reference"
        if rtype == "snapshot":
            return "snapshots"
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "dbt"


class DbtBuildConfig(Config):
    """``full_refresh`` rebuilds incremental models from raw (used by replay)."""

    full_refresh: bool = False


translator = CareledgerDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


@dbt_assets(
    manifest=ensure_manifest(),
    project=dbt_project,
    dagster_dbt_translator=translator,
    pool="duckdb_writer",
)
def careledger_dbt_assets(
    context: AssetExecutionContext, config: DbtBuildConfig, dbt: DbtCliResource, careledger: CareledgerResource
):
    home = careledger.home_paths
    home.export_env()
    args = ["build", *(["--full-refresh"] if config.full_refresh else [])]
    with warehouse_writer(careledger.warehouse, "dbt build"):
        # run to the end even when a test fails: dbt skips what depends on the failure, the
        # rest is materialized and published (docs/data_contracts.md, never-stop policy)
        # careledger-dbt dies with this process (child_processes); the lock record names it
        invocation = dbt.cli(args, context=context, raise_on_error=False)
        register_worker(invocation.process.pid, "dbt build")
        yield from invocation.stream()
    status = _build_status(invocation)
    if status is None:
        # no run results: dbt could not parse or compile the project; nothing was built
        raise invocation.get_error() or RuntimeError("dbt build failed before it ran any node")
    status.write(home.build_status)
    if not status.is_clean:
        context.log.warning(
            "dbt build held back %d model(s) behind failing invariants:\n%s",
            len(status.blocked_models),
            status.summary(),
        )


def _build_status(invocation) -> BuildStatus | None:
    try:
        run_results = invocation.get_artifact("run_results.json")
        manifest = invocation.get_artifact("manifest.json")
    except (FileNotFoundError, ValueError):
        return None
    return from_artifacts(run_results, manifest)


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=dbt_project, profiles_dir=str(DBT_PROFILES_DIR), dbt_executable=dbt_executable())
