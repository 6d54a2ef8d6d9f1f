"""ERP posting on the simulated health system (``built_warehouse``): every file balances,
journal totals = mart_daily_reimbursement = the simulator's ground truth to the cent, no
PHI in any exported file, and re-runs post nothing new.

Runs on a copy of the session's warehouse: the posting ledger it writes stays private."""

from __future__ import annotations

import csv
import json
import re
import shutil
import sys
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from careledger.publish.erp import TARGETS, PublishResult, publish_erp

# the file readers shared with the unit tests (tests/ has no packages)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "publish"))
from test_erp_support import assert_balanced, net_by_account

pytestmark = pytest.mark.e2e

CENT = Decimal("0.01")
# measure of mart_daily_reimbursement -> the accounts whose net debits in the daily journals carry
# it: the contractual adjustment is the reserve released (1290) plus the true-up (4950)
MEASURE_ACCOUNTS = {
    "payment_amount": ("1010",),
    "contractual_adjustment_amount": ("1290", "4950"),
    "denial_amount": ("4910",),
    "patient_responsibility_amount": ("1210",),
}
PHI_COLUMN_WORDS = (
    "patient",
    "mrn",
    "member",
    "birth",
    "dob",
    "ssn",
    "phone",
    "address",
    "subscriber",
    "given_name",
    "family_name",
)


@dataclass
class Posted:
    warehouse: Path
    out: Path
    results: dict[str, PublishResult]

    def files(self, target: str | None = None) -> list[Path]:
        folder = self.out / target if target else self.out
        return sorted(p for p in folder.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def posted(built_warehouse, tmp_path_factory) -> Posted:
    root = tmp_path_factory.mktemp("erp_posting")
    warehouse = root / "warehouse.duckdb"
    shutil.copy2(built_warehouse.warehouse, warehouse)
    out = root / "exports"
    results = {t: publish_erp(warehouse, t, out) for t in TARGETS}
    return Posted(warehouse, out, results)


def D(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT)


def test_every_target_wrote_balanced_files(posted: Posted) -> None:
    for target in TARGETS:
        result = posted.results[target]
        assert result.files, f"{target}: nothing exported"
        assert result.debit_total == result.credit_total > 0
        assert result.new_ledger_rows == result.journals
        assert_balanced(posted.files(target))


POSTABLE_LINES = """
    select l.* from marts.mart_erp_journal_lines l
    where l.legal_entity_id <> 'UNMAPPED' and l.facility_id <> 'UNMAPPED'
      and not exists (
          select 1 from marts.mart_erp_journal_lines u
          where u.account_id = 'UNMAPPED' and u.legal_entity_id = l.legal_entity_id
            and u.facility_id = l.facility_id and u.posting_date = l.posting_date
            and u.journal_source = l.journal_source)
"""


def test_all_targets_carry_the_same_money_as_the_mart(posted: Posted) -> None:
    """Every target carries exactly the mart's journals, except those held back on an
    UNMAPPED legal entity / facility / account (which no ERP could import)."""
    with duckdb.connect(str(posted.warehouse), read_only=True) as con:
        mart = {
            a: D(v)
            for a, v in con.execute(
                f"select account_id, sum(debit_amount - credit_amount) from ({POSTABLE_LINES}) group by 1"
            ).fetchall()
            if v != 0
        }
        (journals,) = con.execute(
            f"select count(distinct (legal_entity_id, facility_id, posting_date, journal_source)) from ({POSTABLE_LINES})"
        ).fetchone()
        (all_journals,) = con.execute(
            "select count(distinct (legal_entity_id, facility_id, posting_date, journal_source)) "
            "from marts.mart_erp_journal_lines"
        ).fetchone()
    for target in TARGETS:
        result = posted.results[target]
        assert result.journals == journals and result.held_journals == all_journals - journals, target
        assert net_by_account(posted.files(target)) == mart, target


def _journal_measures(posted: Posted) -> dict[tuple[str, str], dict[str, Decimal]]:
    """(posting date, facility) -> measure -> amount, read back from the generic JSON file(s)."""
    totals: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    account_measure = {a: k for k, accounts in MEASURE_ACCOUNTS.items() for a in accounts}
    for path in posted.files("json"):
        for j in json.loads(path.read_text())["journals"]:
            if j["journal_source"] != "daily_reimbursement":
                continue
            for ln in j["lines"]:
                measure = account_measure.get(ln["segments"]["account"])
                if measure:
                    totals[(j["posting_date"], j["facility_id"])][measure] += D(ln["debit_amount"]) - D(
                        ln["credit_amount"]
                    )
    return totals


def test_journal_totals_equal_daily_reimbursement_mart(posted: Posted) -> None:
    with duckdb.connect(str(posted.warehouse), read_only=True) as con:
        rows = con.execute(
            f"""
            select cast(remit_date as varchar), facility_id, {", ".join(f"sum({m})" for m in MEASURE_ACCOUNTS)}
            from marts.mart_daily_reimbursement where facility_id <> 'UNMAPPED' group by 1, 2
            """
        ).fetchall()
    mart = {(r[0], r[1]): dict(zip(MEASURE_ACCOUNTS, map(D, r[2:]))) for r in rows}
    journals = _journal_measures(posted)
    assert set(journals) <= set(mart)
    for key, measures in mart.items():
        got = journals.get(key, {})
        for m, amount in measures.items():
            assert got.get(m, Decimal("0.00")) == amount, f"{key} {m}: journals {got.get(m)} != mart {amount}"


def test_journal_totals_equal_ground_truth(posted: Posted, built_warehouse) -> None:
    """Per journal (legal entity x facility x posting date x source), the exported debit total
    equals the simulator's ``ground_truth/journal_totals.csv`` to the cent, both ways."""
    gt_path = built_warehouse.ground_truth_dir / "journal_totals.csv"
    with gt_path.open(newline="", encoding="utf-8") as fh:
        truth = {
            (r["legal_entity_id"], r["facility_id"], r["posting_date"], r["journal_source"]): D(r["debit_total"])
            for r in csv.DictReader(fh)
        }
    assert truth, f"{gt_path} is empty"
    exported: dict[tuple[str, str, str, str], Decimal] = defaultdict(Decimal)
    for path in posted.files("json"):
        for j in json.loads(path.read_text())["journals"]:
            assert j["posting_type"] == "original"
            exported[(j["legal_entity_id"], j["facility_id"], j["posting_date"], j["journal_source"])] += D(
                j["debit_total"]
            )
    missing = sorted(set(truth) - set(exported))[:5]
    extra = sorted(set(exported) - set(truth))[:5]
    assert not missing and not extra, f"journals only in ground truth {missing}; only exported {extra}"
    diffs = {k: (exported[k], v) for k, v in truth.items() if exported[k] != v}
    assert not diffs, f"{len(diffs)} journals differ (exported, truth): {dict(list(diffs.items())[:5])}"
    assert sum(exported.values()) == sum(truth.values())


def _phi_values(landing: Path) -> tuple[set[str], set[str], set[str]]:
    """(exact identifiers, names, birth dates) of every simulated patient."""
    identifiers: set[str] = set()
    names: set[str] = set()
    dobs: set[str] = set()
    for line in (landing / "ehr" / "fhir" / "Patient.ndjson").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            patient = json.loads(line)
        except json.JSONDecodeError:  # a fault the simulator injected: take what is readable
            identifiers.update(re.findall(r'"value":\s*"([^"]+)"', line))
            names.update(n for n in re.findall(r'"(?:family|given)":\s*\[?"([^"]+)"', line) if len(n) > 1)
            dobs.update(re.findall(r'"birthDate":\s*"([^"]+)"', line))
            continue
        for ident in patient.get("identifier", []):
            if ident.get("value"):
                identifiers.add(ident["value"])
        for name in patient.get("name", []):
            # whole names only: a middle initial ("A") is not identifying and matches "A/R"
            names.update(n for n in [name.get("family"), *name.get("given", [])] if n and len(n.rstrip(".")) > 1)
        if patient.get("birthDate"):
            dobs.add(patient["birthDate"])
    for path in sorted((landing / "billing" / "claims").glob("*.csv")):
        with path.open(newline="", encoding="utf-8-sig") as fh:
            for row in csv.DictReader(fh):
                for col in ("patient_control_number", "patient_mrn", "member_id"):
                    if row.get(col):
                        identifiers.add(row[col])
    return identifiers, names, dobs


def test_no_phi_in_any_exported_file(posted: Posted, built_warehouse) -> None:
    identifiers, names, dobs = _phi_values(built_warehouse.landing)
    assert identifiers and names and dobs, "the simulator's patients were not found"
    with duckdb.connect(str(posted.warehouse), read_only=True) as con:
        posting_dates = {
            str(d)
            for (d,) in con.execute(
                "select distinct posting_date from publish.posting_ledger union select distinct accounting_date from publish.posting_ledger"
            ).fetchall()
        }
    name_re = re.compile(r"\b(" + "|".join(sorted(map(re.escape, names), key=len, reverse=True)) + r")\b")
    files = posted.files()
    assert len(files) >= len(TARGETS)
    for path in files:
        if path.suffix == ".zip":  # the Oracle upload: its GlInterface.csv
            with zipfile.ZipFile(path) as zf:
                text = zf.read("GlInterface.csv").decode("utf-8")
        else:
            text = path.read_text(encoding="utf-8")
        # no PHI column: headers (CSV) and keys (JSON)
        if path.suffix == ".json":
            keys = set(re.findall(r'"([A-Za-z_]+)":', text))
        else:
            keys = set(text.splitlines()[0].split(",")) if path.parent.name == "d365" else set()
        bad_keys = {k for k in keys if any(w in k.lower() for w in PHI_COLUMN_WORDS)}
        assert not bad_keys, f"{path.name}: PHI-like columns {bad_keys}"
        leaked_ids = {ident for ident in identifiers if ident in text}
        assert not leaked_ids, f"{path.name}: patient identifiers {sorted(leaked_ids)[:5]}"
        match = name_re.search(text)
        assert match is None, (
            f"{path.name}: patient name {match.group(0)!r} near {text[max(0, match.start() - 40) : match.end() + 40]!r}"
        )
        found_dates = set(re.findall(r"\d{4}[-/]\d{2}[-/]\d{2}", text))
        leaked_dobs = {
            d for d in found_dates if d.replace("/", "-") in dobs and d.replace("/", "-") not in posting_dates
        }
        assert not leaked_dobs, f"{path.name}: birth dates {sorted(leaked_dobs)[:5]}"


def test_rerun_posts_nothing_new(posted: Posted) -> None:
    before = {p: p.read_bytes() for p in posted.files()}
    with duckdb.connect(str(posted.warehouse), read_only=True) as con:
        (ledger_before,) = con.execute("select count(*) from publish.posting_ledger").fetchone()
    for target in TARGETS:
        again = publish_erp(posted.warehouse, target, posted.out)
        assert again.files == [] and again.new_ledger_rows == 0, target
    assert {p: p.read_bytes() for p in posted.files()} == before
    with duckdb.connect(str(posted.warehouse), read_only=True) as con:
        (ledger_after,) = con.execute("select count(*) from publish.posting_ledger").fetchone()
    assert ledger_after == ledger_before


def _ledger_net(con: duckdb.DuckDBPyConnection, target: str) -> dict[tuple[str, str, str], Decimal]:
    """Net debit per legal entity x account x posted period of everything the ledger exported
    to ``target`` (originals, reversals and replacements: the GL the ERP holds)."""
    rows = con.execute(
        """
        select j.legal_entity_id, l.account_id, j.period_id, sum(l.debit_amount - l.credit_amount)
        from publish.posting_ledger as j
        inner join publish.posting_ledger_lines as l on l.target = j.target and l.journal_id = j.journal_id
        where j.target = ?
        group by all
        """,
        [target],
    ).fetchall()
    return {(le, a, p): D(v) for le, a, p, v in rows}


def test_gl_balances_equal_ground_truth(posted: Posted, built_warehouse) -> None:
    """Per legal entity x GL account x posted period, the GL built from the posted journals equals
    the simulator's ``ground_truth/gl_balances.csv`` to the cent: the contractual reserve (1290,
    4900), its release and true-up (4950), PLB interest (4810), payer, unbilled (DNFB) and patient A/R, cash, bad
    debt and charity (docs/accounting_policy.md), with closed periods' journals in the next open one."""
    with (built_warehouse.ground_truth_dir / "gl_balances.csv").open(newline="", encoding="utf-8") as fh:
        truth = {
            (r["legal_entity_id"], r["account_id"], r["period_id"]): D(r["net_debit_amount"])
            for r in csv.DictReader(fh)
        }
    assert {a for _, a, _ in truth} >= {"1010", "1200", "1210", "1250", "1290", "4810", "4900", "4910", "4950"}
    accounts = {a for _, a, _ in truth}
    for target in TARGETS:
        with duckdb.connect(str(posted.warehouse), read_only=True) as con:
            gl = {k: v for k, v in _ledger_net(con, target).items() if k[1] in accounts and v != 0}
        diffs = {
            k: (gl.get(k), truth.get(k)) for k in set(gl) | set(truth) if gl.get(k, CENT * 0) != truth.get(k, CENT * 0)
        }
        assert not diffs, f"{target}: {len(diffs)} balances differ (GL, truth): {dict(sorted(diffs.items())[:6])}"


def test_late_835_of_a_closed_period_posts_its_true_up_in_the_next_open_period(posted: Posted) -> None:
    """An 835 dated in a closed period (every month but the last two is closed in the simulated
    ERP) posts on the first day of the next open period, its reserve release and true-up with it."""
    with duckdb.connect(str(posted.warehouse), read_only=True) as con:
        periods = con.execute(
            "select period_id, period_start_date, status from core.dim_accounting_period order by period_start_date"
        ).fetchall()
        first_open = next(p for p in periods if p[2] == "open")
        closed = {p[0] for p in periods if p[2] == "closed"}
        rows = con.execute(
            """
            select j.journal_id, j.source_period_id, j.period_id, j.accounting_date,
                   sum(l.debit_amount - l.credit_amount) filter (where l.account_id = '4950'),
                   count(*) filter (where l.account_id = '1290')
            from publish.posting_ledger as j
            inner join publish.posting_ledger_lines as l on l.target = j.target and l.journal_id = j.journal_id
            where j.target = 'json' and j.journal_source = 'daily_reimbursement'
            group by all
            """
        ).fetchall()
    late = [r for r in rows if r[1] in closed]
    assert late, "expected 835s dated in closed periods"
    for journal_id, _src, period_id, accounting_date, _true_up, _releases in late:
        assert (period_id, accounting_date) == (first_open[0], first_open[1]), journal_id
    assert any(r[4] for r in late) and any(r[5] for r in late), "late 835s carry true-ups and releases"


def test_three_refreshes_without_source_change_post_nothing_new(posted: Posted) -> None:
    """Rebuilding the journal models from unchanged sources and publishing again, twice more,
    exports nothing and adds no ledger row (the journals' content hashes are stable)."""
    from careledger.orchestration.dbt_runner import run_dbt

    with duckdb.connect(str(posted.warehouse), read_only=True) as con:
        (ledger_before,) = con.execute("select count(*) from publish.posting_ledger").fetchone()
    models = "fct_contractual_reserve_events fct_provider_adjustments fct_patient_transactions mart_erp_journal_lines"
    for _ in range(2):
        run_dbt(["run", "--select", *models.split()], home=posted.warehouse.parent)
        for target in ("json", "oracle"):
            again = publish_erp(posted.warehouse, target, posted.out)
            assert again.files == [] and again.new_ledger_rows == 0, target
    with duckdb.connect(str(posted.warehouse), read_only=True) as con:
        (ledger_after,) = con.execute("select count(*) from publish.posting_ledger").fetchone()
    assert ledger_after == ledger_before


def test_ar_rollforward_ties_to_the_posted_gl_and_ground_truth(posted: Posted, built_warehouse) -> None:
    """mart_ar_rollforward: the roll-forward identity holds on every row; every mapped
    facility's ending balance equals the posted GL balance of its A/R accounts (roles payer_ar,
    unbilled_ar, contractual_reserve, patient_ar) cumulative through the period, to the cent; per legal entity
    the ending balances equal the simulator's ground truth; only money on an unknown facility
    (held journals) is a break, and each break is an AR_ROLLFORWARD_BREAK exception row."""
    with duckdb.connect(str(posted.warehouse), read_only=True) as con:
        rows = con.execute(
            """
            select legal_entity_id, facility_id, period_id, beginning_balance_amount, gross_charge_amount,
                   payment_amount, contractual_adjustment_amount, denial_amount, write_off_amount,
                   plb_recoupment_amount, reserve_change_amount, ending_balance_amount, gl_balance_amount, is_tied
            from marts.mart_ar_rollforward order by facility_id, period_id
            """
        ).fetchall()
        ledger = con.execute(
            """
            select j.facility_id, j.period_id, sum(l.debit_amount - l.credit_amount)
            from publish.posting_ledger as j
            inner join publish.posting_ledger_lines as l on l.target = j.target and l.journal_id = j.journal_id
            inner join core.dim_gl_account as a on a.account_id = l.account_id
            where j.target = 'json'
                and a.account_role in ('payer_ar', 'unbilled_ar', 'contractual_reserve', 'patient_ar')
            group by all
            """
        ).fetchall()
        breaks = con.execute(
            "select source_id, amount from marts.mart_reconciliation_exceptions where reason_code = 'AR_ROLLFORWARD_BREAK'"
        ).fetchall()
    assert rows
    movement: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for fac, period, amount in ledger:
        movement[(fac, period)] += D(amount)
    cumulative: dict[str, Decimal] = defaultdict(Decimal)
    by_le_last: dict[str, Decimal] = defaultdict(Decimal)
    last_period = max(r[2] for r in rows)
    for le, fac, period, begin, gross, pay, con_adj, den, wo, plb, reserve, end, gl, tied in rows:
        assert begin + gross - pay - con_adj - den - wo - plb - reserve == end, (fac, period)
        cumulative[fac] += movement.get((fac, period), Decimal("0.00"))
        if fac != "UNMAPPED":
            assert tied and end == gl == cumulative[fac], (fac, period, end, gl, cumulative[fac])
        if period == last_period:
            by_le_last[le] += end
    assert {s for s, _ in breaks} == {f"{r[1]}:{r[2]}" for r in rows if not r[13]}
    assert all(r[1] == "UNMAPPED" for r in rows if not r[13])
    truth: dict[str, Decimal] = defaultdict(Decimal)
    with (built_warehouse.ground_truth_dir / "gl_balances.csv").open(newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            if r["account_id"] in ("1200", "1250", "1290", "1210"):
                truth[r["legal_entity_id"]] += D(r["net_debit_amount"])
    assert {le: v for le, v in by_le_last.items() if le != "UNMAPPED"} == {le: v for le, v in truth.items() if v}
