"""Asset checks beyond dbt's tests: quarantine growth on raw sources, reconciliation breaks."""

import duckdb
from dagster import AssetCheckResult, AssetCheckSeverity, AssetKey, asset_check

from careledger import config
from careledger.orchestration.assets.raw import RAW_FAMILIES, raw_key
from careledger.orchestration.resources import CareledgerResource


def quarantine_share(con: duckdb.DuckDBPyConnection, sources: tuple[str, ...]) -> tuple[int, int]:
    """(records read, records quarantined) over the newest landed batches of these files' folders."""
    like = " or ".join("source_file like ?" for _ in sources)
    row = con.execute(
        f"select coalesce(sum(rows_read), 0), coalesce(sum(rows_quarantined), 0) from raw_meta.batches "
        f"where status = 'landed' and ({like})",
        [f"%/{s}%" for s in sources],
    ).fetchone()
    return int(row[0]), int(row[1])


def _quarantine_check(family):
    @asset_check(
        asset=raw_key(family.tables[0]),
        name=f"quarantine_share_{family.name}",
        description=f"Warns when more than {config.quarantine_warn_share():.0%} of {family.name} records are quarantined "
        "(CARELEDGER_QUARANTINE_WARN_SHARE).",
    )
    def _check(careledger: CareledgerResource) -> AssetCheckResult:
        with duckdb.connect(str(careledger.warehouse)) as con:
            read, quarantined = quarantine_share(con, family.subpaths)
        share = quarantined / read if read else 0.0
        return AssetCheckResult(
            passed=share <= config.quarantine_warn_share(),
            severity=AssetCheckSeverity.WARN,
            metadata={"records_read": read, "records_quarantined": quarantined, "quarantine_share": round(share, 4)},
            description="see raw_meta.quarantine for the records and reasons",
        )

    return _check


@asset_check(
    asset=AssetKey(["marts", "mart_reconciliation_exceptions"]),
    name="reconciliation_breaks",
    description="Warns while reconciliation exceptions are open, with counts by reason.",
)
def reconciliation_breaks(careledger: CareledgerResource) -> AssetCheckResult:
    with duckdb.connect(str(careledger.warehouse)) as con:
        rows = con.execute(
            "select reason_code, count(*) from marts.mart_reconciliation_exceptions group by 1 order by 1"
        ).fetchall()
    by_reason = {r[0]: int(r[1]) for r in rows}
    return AssetCheckResult(
        passed=not by_reason,
        severity=AssetCheckSeverity.WARN,
        metadata={"open_exceptions": sum(by_reason.values()), **{f"reason_{k}": v for k, v in by_reason.items()}},
    )


checks = [_quarantine_check(f) for f in RAW_FAMILIES] + [reconciliation_breaks]
