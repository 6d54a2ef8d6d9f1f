"""Publish assets: ERP journal files per target (daily partitions), the BI serving snapshot and
the monthly finance extract. Thin: each calls a plain function in ``publish/``."""

from datetime import date, timedelta

from dagster import AssetCheckResult, AssetCheckSpec, AssetExecutionContext, AssetKey, MaterializeResult, asset

from careledger.orchestration.locking import warehouse_writer
from careledger.orchestration.partitions import daily_partitions, monthly_partitions, single_run_backfill
from careledger.orchestration.resources import CareledgerResource
from careledger.publish.contracts import public_mart_names
from careledger.publish.erp.targets import REGISTRY as ERP_TARGETS

JOURNAL_LINES = AssetKey(["marts", "mart_erp_journal_lines"])


def _erp_asset(target: str):
    @asset(
        name=f"erp_journals_{target}",
        key_prefix=["publish"],
        group_name="publish",
        deps=[JOURNAL_LINES],
        partitions_def=daily_partitions,
        backfill_policy=single_run_backfill,
        pool="duckdb_writer",
        kinds={ERP_TARGETS[target].file_kind},
        description=f"Balanced, PHI-free journal file(s) for the {target} ERP import "
        f"({ERP_TARGETS[target].description}), one per posting date range; "
        "a posting ledger makes re-runs exactly-once.",
    )
    def _erp(context: AssetExecutionContext, careledger: CareledgerResource) -> MaterializeResult:
        from careledger.orchestration.erp_posting import post_erp

        window = context.partition_time_window
        date_from = window.start.date()
        date_to = (window.end - timedelta(days=1)).date()
        result = post_erp(careledger.home_paths, target, date_from, date_to)
        return MaterializeResult(metadata=_result_metadata(result, date_from, date_to))

    return _erp


def _result_metadata(result, date_from: date, date_to: date) -> dict:
    meta = {"date_from": date_from.isoformat(), "date_to": date_to.isoformat()}
    for name in ("journals", "lines", "new_ledger_rows", "reversals"):
        if hasattr(result, name):
            meta[name] = int(getattr(result, name))
    for name in ("debit_total", "credit_total"):
        if hasattr(result, name):
            meta[name] = float(getattr(result, name))
    if hasattr(result, "files"):
        meta["files"] = "\n".join(str(f) for f in result.files) or "(nothing new to post)"
        meta["file_count"] = len(result.files)
    return meta


erp_assets = [_erp_asset(t) for t in ERP_TARGETS]


@asset(
    key_prefix=["publish"],
    group_name="publish",
    deps=[AssetKey(["marts", m]) for m in public_mart_names()],
    pool="duckdb_writer",
    kinds={"duckdb", "parquet"},
    description="serving.duckdb + Parquet copies of the public marts, swapped in atomically for BI and the dashboard.",
)
def serving_snapshot(context: AssetExecutionContext, careledger: CareledgerResource) -> MaterializeResult:
    from careledger.publish.build_status import BuildStatus
    from careledger.publish.serving import publish_serving_snapshot

    home = careledger.home_paths
    with warehouse_writer(home.warehouse, "serving snapshot"):
        result = publish_serving_snapshot(
            home.warehouse, home.serving, build_status=BuildStatus.read(home.build_status)
        )
    meta = {
        "path": str(result.path),
        "version": result.version,
        "tables": len(result.tables),
        "rows": result.rows,
        "bytes": result.bytes,
        "missing_marts": ", ".join(result.missing_marts) or "none",
        "held_back_marts": "\n".join(f"{m}: {why}" for m, why in result.held_back_marts.items()) or "none",
        "rows_by_table": "\n".join(f"{t}: {n:,}" for t, n in sorted(result.tables.items())),
    }
    return MaterializeResult(metadata=meta)


@asset(
    key_prefix=["publish"],
    group_name="publish",
    deps=[serving_snapshot],
    partitions_def=monthly_partitions,
    check_specs=[
        AssetCheckSpec(
            "ties_to_journals",
            asset=AssetKey(["publish", "finance_extract"]),
            description="Every extract sheet total ties to the posted journal totals to the cent.",
        )
    ],
    kinds={"xlsx"},
    description="Reconciled month-end finance extract (P&L by service line, reimbursement, denials, tie-outs).",
)
def finance_extract(context: AssetExecutionContext, careledger: CareledgerResource) -> MaterializeResult:
    from careledger.publish.extracts import default_source, write_extract

    home = careledger.home_paths
    period = context.partition_key[:7]
    result = write_extract(default_source(home), period, "xlsx", home.extracts)
    breaks = [t for t in result.tieouts if not t.tied]
    meta = {
        "period": period,
        "files": "\n".join(str(p) for p in result.paths),
        "sheets": ", ".join(f"{k}={v}" for k, v in result.sheets.items()),
        "tieouts": len(result.tieouts),
        "all_tied": result.all_tied,
    }
    return MaterializeResult(
        metadata=meta,
        check_results=[
            AssetCheckResult(
                check_name="ties_to_journals",
                passed=result.all_tied,
                metadata={"breaks": "\n".join(f"{t.check}: difference {t.difference}" for t in breaks) or "none"},
            )
        ],
    )


publish_assets = [*erp_assets, serving_snapshot, finance_extract]
