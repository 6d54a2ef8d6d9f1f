"""The FHIR Bulk Data export as a Dagster asset: ``careledger fetch fhir`` on a schedule.

``fhir_bulk_export`` runs one export against the server named by ``CARELEDGER_FHIR_BASE``
(``CARELEDGER_FHIR_GROUP`` and ``CARELEDGER_FHIR_TYPES`` narrow it; the SMART Backend Services
credentials are the same variables the command reads) and lands its files through ingest,
resuming an export an earlier run left polling and asking ``_since`` the last landed
transactionTime (careledger.ingest.fhir.bulk). It is upstream of the FHIR raw asset, so the job
``fhir_bulk_fetch`` runs export -> raw -> the dbt models downstream -> serving snapshot in
that order. A server that refuses or fails fails the step with the command's one sentence.
"""

from dagster import AssetExecutionContext, AssetKey, Failure, MaterializeResult, MetadataValue, asset

from careledger import config
from careledger.ingest.fhir import bulk
from careledger.orchestration.locking import warehouse_writer
from careledger.orchestration.resources import CareledgerResource

FHIR_EXPORT_KEY = AssetKey(["raw_ehr", "fhir_bulk_export"])
NOT_CONFIGURED = (
    "CARELEDGER_FHIR_BASE is not set: name the FHIR server's base URL (and its SMART credentials, "
    "CARELEDGER_FHIR_CLIENT_ID / _KEY_ID / _PRIVATE_KEY) to run the scheduled Bulk Data export"
)


def configured_request() -> bulk.Request | None:
    """The export the settings ask for, or None when no server is named."""
    base, group, types = config.fhir_export_settings()
    if not base:
        return None
    return bulk.Request(base, group, bulk.parse_types(types))


@asset(
    key=FHIR_EXPORT_KEY,
    group_name="raw_ehr",
    description="FHIR Bulk Data $export from the EHR's API (CARELEDGER_FHIR_BASE), landed through ingest",
    kinds={"fhir", "duckdb"},
    pool="duckdb_writer",
)
def fhir_bulk_export(context: AssetExecutionContext, careledger: CareledgerResource) -> MaterializeResult:
    request = configured_request()
    if request is None:
        raise Failure(description=NOT_CONFIGURED, allow_retries=False)
    warehouse = careledger.warehouse
    try:
        result = bulk.fetch_fhir(
            warehouse,
            careledger.landing,
            request,
            writer_lock=lambda: warehouse_writer(warehouse, "dagster fhir_bulk_export"),
            echo=context.log.info,
        )
    except bulk.FetchError as exc:
        raise Failure(description=str(exc), allow_retries=exc.remote) from None
    context.log.info(result.summary())
    return MaterializeResult(
        metadata={
            **result.totals,
            "export_id": result.export_id,
            "transaction_time": result.transaction_time,
            "resumed": result.resumed,
            "since": MetadataValue.text(result.since or "(everything)"),
        }
    )
