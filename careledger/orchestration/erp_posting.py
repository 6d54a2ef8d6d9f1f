"""Post ERP journal files: the one function ``careledger publish erp``, ``careledger backfill``
(through the Dagster ERP assets) and the Dagster assets themselves call.

It holds the warehouse write lock, runs the publisher (plan -> pre-validation -> files ->
posting ledger) and records the last posted business date per target for the SLA sensor.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

from careledger.config import Home
from careledger.orchestration.locking import warehouse_writer
from careledger.publish.erp.publisher import PublishResult, publish_erp


def posting_status_path(home: Path) -> Path:
    return home / "exports" / "posting_status.json"


def record_posting_status(home: Path, target: str, date_to: date) -> None:
    """Remember the last posted business date per target (read by the SLA sensor without
    touching the warehouse, which may be busy)."""
    path = posting_status_path(home)
    status = json.loads(path.read_text()) if path.exists() else {}
    prior = status.get(target, {}).get("last_posted_date")
    if prior is None or prior < date_to.isoformat():
        status[target] = {
            "last_posted_date": date_to.isoformat(),
            "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(status, indent=2, sort_keys=True))


def post_erp(home: Home, target: str, date_from: date, date_to: date, *, out_dir: Path | None = None) -> PublishResult:
    """Write ``target``'s journal files for the posting dates ``date_from``..``date_to`` into
    ``out_dir`` (default ``$CARELEDGER_HOME/exports/erp``), exactly once per journal."""
    with warehouse_writer(home.warehouse, f"publish erp {target}"):
        result = publish_erp(home.warehouse, target, out_dir or home.erp_exports, date_from=date_from, date_to=date_to)
    record_posting_status(home.root, target, date_to)
    return result
