"""Benchmark the dbt build at scale: replicate a simulated, ingested raw warehouse N times
with every business key re-keyed per replica (encounters, patients, claims, patient control
numbers, 835 batches, denial events), then time `dbt parse` and `dbt build`.

    .venv/bin/python tests/unit/dbt/scale_bench.py --raw /tmp/sim/raw_only.duckdb --copies 50 --home /tmp/bench100k

The raw warehouse comes from `synthesize(landing, encounters=2000)` + `ingest_paths`; 50
copies of 2,000 encounters = 100k encounters, 500 copies = 1M. ERP tables (masters, GL,
payroll, supply) are kept once: they do not grow with encounter volume in one period.
Figures go to docs/benchmarks.md (## dbt).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import time
from pathlib import Path

import duckdb

log = logging.getLogger(__name__)

# table -> {column: SQL expression over the column `{c}` and the replica number `r`}
SUFFIX = "{c} || '_' || r"
REKEY: dict[str, dict[str, str]] = {
    "raw_ehr.fhir_resources": {"resource_id": SUFFIX},
    "raw_ehr.adt_messages": {
        "visit_number": SUFFIX,
        "patient_mrn": SUFFIX,
        "prior_mrn": SUFFIX,
        "message_control_id": SUFFIX,
    },
    "raw_ehr.adt_diagnoses": {"visit_number": SUFFIX, "message_control_id": SUFFIX},
    "raw_ehr.adt_procedures": {"visit_number": SUFFIX, "message_control_id": SUFFIX},
    "raw_ehr.adt_insurance": {"visit_number": SUFFIX, "message_control_id": SUFFIX},
    "raw_billing.claim_lines": {
        "claim_id": SUFFIX,
        "original_claim_id": SUFFIX,
        "patient_control_number": SUFFIX,
        "encounter_id": SUFFIX,
        "patient_mrn": SUFFIX,
    },
    "raw_billing.denial_events": {"event_id": SUFFIX, "claim_id": SUFFIX},
    "raw_billing.remit_payments": {"trace_number": SUFFIX},
    "raw_billing.remit_claims": {
        "patient_control_number": SUFFIX,
        "payer_claim_control_number": SUFFIX,
        "trace_number": SUFFIX,
    },
    "raw_billing.remit_service_lines": {
        "line_item_control_number": "split_part({c}, '-', 1) || '_' || r || '-' || split_part({c}, '-', 2)",
        "trace_number": SUFFIX,
    },
    "raw_billing.remit_adjustments": {"trace_number": SUFFIX},
    "raw_billing.remit_remarks": {"trace_number": SUFFIX},
    "raw_billing.remit_provider_adjustments": {"trace_number": SUFFIX},
}


def replicate(raw: Path, out: Path, copies: int) -> dict[str, int]:
    """Write ``out`` = ``raw`` with the encounter-driven tables replicated ``copies`` times."""
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(raw, out)
    con = duckdb.connect(str(out))
    counts: dict[str, int] = {}
    try:
        for table, rekey in REKEY.items():
            cols = [
                r[0]
                for r in con.execute(
                    "select column_name from information_schema.columns where table_schema || '.' || table_name = ? "
                    "order by ordinal_position",
                    [table],
                ).fetchall()
            ]
            select = []
            for c in cols:
                if c in rekey:
                    select.append(f"case when {c} is null then null else {rekey[c].format(c=c)} end")
                elif c == "_batch_id":
                    select.append("_batch_id || '_' || r")
                else:
                    select.append(c)
            con.execute(f"create temp table _copy as select * from {table}")
            con.execute(f"insert into {table} select {', '.join(select)} from _copy, range(1, {copies}) as t(r)")
            con.execute("drop table _copy")
            counts[table] = con.execute(f"select count(*) from {table}").fetchone()[0]
    finally:
        con.close()
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--raw", type=Path, required=True, help="ingested raw warehouse (no dbt models needed)")
    parser.add_argument("--copies", type=int, required=True)
    parser.add_argument("--home", type=Path, required=True, help="CARELEDGER_HOME to build in (replaced)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from careledger.orchestration.dbt_runner import run_dbt

    shutil.rmtree(args.home, ignore_errors=True)
    started = time.perf_counter()
    counts = replicate(args.raw, args.home / "warehouse.duckdb", args.copies)
    print(f"replicated x{args.copies} in {time.perf_counter() - started:.1f}s: {counts}")
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    target = ["--target-path", str(args.home / "target")]
    for label, cmd in [("parse (full)", ["parse", "--no-partial-parse"]), ("build", ["build"])]:
        t = time.perf_counter()
        run_dbt([*cmd, *target], home=args.home)
        print(f"dbt {label}: {time.perf_counter() - t:.1f}s")
    con = duckdb.connect(str(args.home / "warehouse.duckdb"))
    try:
        enc = con.execute("select count(*) from core.fct_encounters").fetchone()[0]
        lines = con.execute("select count(*) from core.fct_claim_lines").fetchone()[0]
    finally:
        con.close()
    print(f"fct_encounters={enc} fct_claim_lines={lines}")


if __name__ == "__main__":
    main()
