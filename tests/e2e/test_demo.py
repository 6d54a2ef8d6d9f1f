"""`careledger demo` end to end: landing files -> DuckDB -> dbt -> Dagster -> balanced ERP journals
whose amounts equal the amounts in the input files."""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import duckdb


def _clp_totals(landing: Path) -> dict[str, Decimal]:
    """Sum CLP04 (paid) and CLP03 (charge) straight from the 835 text, delimiters from ISA."""
    paid = Decimal("0")
    charge = Decimal("0")
    for f in sorted((landing / "billing" / "remits").glob("*")):
        text = f.read_text(encoding="utf-8-sig").lstrip()
        element, terminator = text[3], text[105]
        for seg in text.split(terminator):
            parts = seg.strip().split(element)
            if parts[0] == "CLP":
                charge += Decimal(parts[3])
                paid += Decimal(parts[4])
    return {"paid": paid, "charge": charge}


def test_demo_prints_summary(demo_run):
    out = demo_run.stdout
    assert "demo finished in" in out
    assert "warehouse" in out and "serving snapshot" in out
    assert "raw (landed)" in out


def test_every_erp_target_wrote_balanced_files(demo_run):
    erp = demo_run.home / "exports" / "erp"
    for target in ("oracle", "d365", "netsuite", "json"):
        files = [p for p in (erp / target).rglob("*") if p.is_file()]
        assert files, f"no {target} files"
    # generic JSON: every journal balances to the cent
    journals = 0
    for f in (erp / "json").rglob("*.json"):
        doc = json.loads(f.read_text())
        for j in doc["journals"]:
            debit = sum(Decimal(line["debit_amount"]) for line in j["lines"])
            credit = sum(Decimal(line["credit_amount"]) for line in j["lines"])
            assert debit == credit, f"{f.name} journal {j.get('journal_id')} out of balance"
            journals += 1
    assert journals > 0


def test_journal_amounts_equal_the_input_files(demo_run):
    """Cash posted (Dr 1010) = payments in the 835 files, to the cent; the journal lines balance."""
    input_totals = _clp_totals(demo_run.landing)
    with duckdb.connect(str(demo_run.warehouse), read_only=True) as con:
        cash, debit, credit = con.execute(
            "select sum(case when account_id = '1010' then debit_amount - credit_amount else 0 end), "
            "sum(debit_amount), sum(credit_amount) from marts.mart_erp_journal_lines "
            "where journal_source = 'daily_reimbursement' and facility_id <> 'UNMAPPED'"
        ).fetchone()
        unmapped_paid = con.execute(
            "select coalesce(sum(payment_amount), 0) from marts.mart_daily_reimbursement where facility_id = 'UNMAPPED'"
        ).fetchone()[0]
        by_journal = con.execute(
            "select journal_id, sum(debit_amount) - sum(credit_amount) from marts.mart_erp_journal_lines "
            "group by 1 having sum(debit_amount) <> sum(credit_amount)"
        ).fetchall()
    assert by_journal == []
    assert debit == credit
    assert Decimal(cash) + Decimal(unmapped_paid) == input_totals["paid"]


def test_demo_is_safe_to_run_twice(demo_run):
    """Re-running ingest on the same landing folder skips every file (same sha256)."""
    from careledger.ingest.run import ingest_paths

    report = ingest_paths(demo_run.warehouse, [demo_run.landing])
    statuses = defaultdict(int)
    for f in report.files:
        statuses[f.status] += 1
    assert statuses["skipped"] == len(report.files)
