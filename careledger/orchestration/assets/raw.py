"""Raw-layer assets: one per source family, each landing its landing sub-folder."""

from dataclasses import dataclass

from dagster import AssetExecutionContext, AssetKey, AssetSpec, MaterializeResult, multi_asset

from careledger.ingest import formats
from careledger.ingest.hl7.router import TABLES as HL7_TABLES
from careledger.ingest.run import ingest_paths
from careledger.orchestration.assets.fhir_fetch import FHIR_EXPORT_KEY
from careledger.orchestration.locking import warehouse_writer
from careledger.orchestration.resources import CareledgerResource


@dataclass(frozen=True)
class RawFamily:
    name: str
    description: str
    tables: tuple[str, ...]
    group: str

    @property
    def subpaths(self) -> tuple[str, ...]:
        """The landing sub-folders of the family's formats (careledger.ingest.formats)."""
        return formats.folders(self.name)


RAW_FAMILIES: tuple[RawFamily, ...] = (
    RawFamily("fhir", "FHIR R4 bulk NDJSON and Bundles from the EHR", ("raw_ehr.fhir_resources",), "raw_ehr"),
    RawFamily(
        "adt",
        "HL7 v2 messages (ADT, DFT charges, BAR accounts) from the EHR interface engine and the MLLP listener",
        HL7_TABLES,
        "raw_ehr",
    ),
    RawFamily(
        "claims",
        "Claim lines and payer master from the billing platform",
        ("raw_billing.claim_lines", "raw_billing.payers"),
        "raw_billing",
    ),
    RawFamily(
        "remittance",
        "X12 835 remittance advice",
        (
            "raw_billing.remit_payments",
            "raw_billing.remit_claims",
            "raw_billing.remit_service_lines",
            "raw_billing.remit_adjustments",
            "raw_billing.remit_remarks",
            "raw_billing.remit_provider_adjustments",
        ),
        "raw_billing",
    ),
    RawFamily("denials", "Denial work-queue events", ("raw_billing.denial_events",), "raw_billing"),
    RawFamily(
        "patient_transactions",
        "Patient payments, bad debt and charity adjustments from the billing platform",
        ("raw_billing.patient_transactions",),
        "raw_billing",
    ),
    RawFamily("bank", "BAI2 prior-day bank deposits", ("raw_bank.bai2_transactions",), "raw_bank"),
    RawFamily(
        "erp",
        "ERP master data, GL actuals, payroll and supply spend",
        (
            "raw_erp.legal_entities",
            "raw_erp.facilities",
            "raw_erp.cost_centers",
            "raw_erp.chart_of_accounts",
            "raw_erp.suppliers",
            "raw_erp.accounting_periods",
            "raw_erp.gl_actuals",
            "raw_erp.payroll",
            "raw_erp.supply_spend",
            "raw_erp.crosswalks",
        ),
        "raw_erp",
    ),
)


def raw_key(table: str) -> AssetKey:
    return AssetKey(table.split("."))


def land_family(family: RawFamily, careledger: CareledgerResource, log=None) -> dict:
    """Land every file of one family; returns the metadata shown in the Dagster UI."""
    paths = [careledger.landing / sub for sub in family.subpaths]
    paths = [p for p in paths if p.exists()]
    if not paths:
        return {"files": 0, "records_accepted": 0, "records_quarantined": 0, "note": "no files in landing"}
    with warehouse_writer(careledger.warehouse, f"ingest {family.name}"):
        report = ingest_paths(careledger.warehouse, paths)
    totals = report.totals
    if log:
        for f in report.files:
            log.info(
                f"{f.status:11s} {f.format or '-':22s} read={f.records_read} accepted={f.records_accepted} "
                f"quarantined={f.records_quarantined} {f.path}"
            )
    return {**totals, "seconds": round(report.seconds, 2)}


def _make_raw_asset(family: RawFamily):
    @multi_asset(
        name=f"raw_{family.name}",
        specs=[
            AssetSpec(
                raw_key(t),
                group_name=family.group,
                description=f"{family.description}: {t}",
                kinds={"duckdb"},
                # the scheduled Bulk Data export lands into the FHIR family's table first
                deps=[FHIR_EXPORT_KEY] if family.name == "fhir" else [],
            )
            for t in family.tables
        ],
        pool="duckdb_writer",
    )
    def _asset(context: AssetExecutionContext, careledger: CareledgerResource):
        meta = land_family(family, careledger, context.log)
        for t in family.tables:
            yield MaterializeResult(asset_key=raw_key(t), metadata=meta)

    return _asset


raw_assets = [_make_raw_asset(f) for f in RAW_FAMILIES]
