"""The ground truth is internally consistent and agrees with the files, to the cent."""

from __future__ import annotations

import re
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from synth_helpers import duplicate_files, fault_keys, load_truth, parse_835, read_csv

D0 = Decimal("0")


def _landed_clps(root: Path, truth: dict) -> list:
    skip = duplicate_files(truth)
    bad = fault_keys(truth, "x12_se_count_mismatch")
    out = []
    for f in sorted((root / "billing/remits").glob("*.835")):
        rel = f.relative_to(root).as_posix()
        if rel in skip:
            continue
        for st in parse_835(f):
            if (rel, st.index) in bad:
                continue
            out.extend((st.payment_date, c) for c in st.claims)
    return out


@pytest.mark.parametrize("which", ["clean_dir", "faulted_dir"])
def test_835_payments_match_ground_truth_to_the_cent(which: str, request: pytest.FixtureRequest) -> None:
    root: Path = request.getfixturevalue(which)
    truth = load_truth(root)
    clps = _landed_clps(root, truth)
    daily = read_csv(root / "ground_truth/daily_reimbursement.csv")
    assert Decimal(truth["totals"]["payment_amount"]) == sum((c.paid for _, c in clps), start=D0)
    assert Decimal(truth["totals"]["charge_amount_remitted"]) == sum((c.charge for _, c in clps), start=D0)
    assert truth["totals"]["remit_claims"] == len(clps) == sum(int(r["claim_count"]) for r in daily)
    by_day = defaultdict(Decimal)
    for day, c in clps:
        by_day[f"{day[:4]}-{day[4:6]}-{day[6:]}"] += c.paid
    gt_day = defaultdict(Decimal)
    for r in daily:
        gt_day[r["remit_date"]] += Decimal(r["payment_amount"])
    assert dict(by_day) == dict(gt_day)
    assert any(c.status == "22" for _, c in clps) and any(c.status == "4" for _, c in clps)


def test_daily_reimbursement_rows_balance(faulted_dir: Path) -> None:
    rows = read_csv(faulted_dir / "ground_truth/daily_reimbursement.csv")
    assert rows and list(rows[0]) == [
        "remit_date",
        "facility_id",
        "payer_class",
        "service_line_code",
        "claim_count",
        "charge_amount",
        "payment_amount",
        "contractual_adjustment_amount",
        "patient_responsibility_amount",
        "denial_amount",
    ]
    for r in rows:
        parts = sum(
            Decimal(r[k])
            for k in (
                "payment_amount",
                "contractual_adjustment_amount",
                "patient_responsibility_amount",
                "denial_amount",
            )
        )
        assert Decimal(r["charge_amount"]) == parts
    assert {r["facility_id"] for r in rows} >= {"UNMAPPED"}  # drifted billing facility codes


def test_denials_match_835_cas(faulted_dir: Path) -> None:
    truth = load_truth(faulted_dir)
    carc = {
        (r["group_code"], r["carc_code"]): r["category"]
        for r in read_csv(Path(__file__).resolve().parents[3] / "seeds/carc_categories.csv")
    }
    amounts = defaultdict(Decimal)
    for _, c in _landed_clps(faulted_dir, truth):
        if c.status == "22":
            continue
        cas = list(c.claim_cas) + [a for s in c.svcs for a in s["cas"]]
        for g, code, amt in cas:
            cat = carc.get((g, code), "other")
            if g != "PR" and cat not in ("contractual", "patient_responsibility"):
                amounts[(cat, code, g)] += amt
    gt = {
        (r["denial_category"], r["carc_code"], r["group_code"]): Decimal(r["denied_amount"])
        for r in read_csv(faulted_dir / "ground_truth/denials_by_category.csv")
    }
    assert gt == dict(amounts)
    assert Decimal(truth["totals"]["denied_amount_initial"]) == sum(gt.values(), start=D0)


def test_denial_rates_by_payer_are_plausible(tmp_path_factory: pytest.TempPathFactory) -> None:
    from careledger.simulator.simulator import synthesize

    root = synthesize(tmp_path_factory.mktemp("rates") / "r", encounters=4000, seed=3, days=100).out_dir
    adjudicated, denied = defaultdict(int), defaultdict(int)
    for f in (root / "billing/remits").glob("*.835"):
        payer = f.name.split("_")[0]
        for st in parse_835(f):
            for c in st.claims:
                if c.status == "22":
                    continue
                adjudicated[payer] += 1
                cas = list(c.claim_cas) + [a for s in c.svcs for a in s["cas"]]
                if any(g != "PR" and not (g == "CO" and code == "45") for g, code, _ in cas):
                    denied[payer] += 1
    rates = {p: denied[p] / adjudicated[p] for p in adjudicated if adjudicated[p] > 150}
    assert len(rates) >= 5
    assert all(0.02 <= r <= 0.22 for r in rates.values()), rates
    assert max(rates.values()) - min(rates.values()) > 0.03


def test_charges_and_direct_costs_tie_out(faulted_dir: Path) -> None:
    truth = load_truth(faulted_dir)
    charges = read_csv(faulted_dir / "ground_truth/charges_daily.csv")
    assert sum(Decimal(r["charge_amount"]) for r in charges) == Decimal(truth["totals"]["gross_charge_amount"])
    assert sum(int(r["claim_count"]) for r in charges) == truth["totals"]["claims_counted"]
    # direct costs = GL expense per cost center and period; payroll and supply files tie to the GL
    gl_pay, gl_sup, sub_pay, sub_sup = (
        defaultdict(Decimal),
        defaultdict(Decimal),
        defaultdict(Decimal),
        defaultdict(Decimal),
    )
    journals = defaultdict(Decimal)
    for f in (faulted_dir / "erp").glob("gl_actuals_*.csv"):
        for r in read_csv(f):
            d, c = Decimal(r["debit_amount"]), Decimal(r["credit_amount"])
            journals[r["journal_id"]] += d - c
            key = (r["period_id"], r["cost_center_id"])
            if r["account_id"].startswith("6"):
                gl_pay[key] += d - c
            if r["account_id"].startswith("7"):
                gl_sup[key] += d - c
    assert journals and all(v == 0 for v in journals.values())
    for f in (faulted_dir / "erp").glob("payroll_*.csv"):
        for r in read_csv(f):
            sub_pay[(r["pay_period_end_date"][:7], r["cost_center_id"])] += Decimal(r["cost_amount"])
    for f in (faulted_dir / "erp").glob("supply_spend_*.csv"):
        for r in read_csv(f):
            sub_sup[(r["invoice_date"][:7], r["cost_center_id"])] += Decimal(r["amount"])
    assert dict(gl_pay) == dict(sub_pay)
    assert dict(gl_sup) == dict(sub_sup)
    costs = read_csv(faulted_dir / "ground_truth/direct_costs.csv")
    assert {
        (r["period_id"], r["cost_center_id"]): Decimal(r["payroll_cost_amount"])
        for r in costs
        if Decimal(r["payroll_cost_amount"])
    } == dict(gl_pay)
    periods = read_csv(faulted_dir / "erp/accounting_periods.csv")
    assert [p["status"] for p in periods] == ["closed"] * (len(periods) - 2) + ["open", "open"]
    assert {p["period_id"] for p in periods} >= set(sub_pay_key[0] for sub_pay_key in sub_pay)


def test_journal_totals_follow_posting_rules(faulted_dir: Path) -> None:
    journals = read_csv(faulted_dir / "ground_truth/journal_totals.csv")
    assert {j["journal_source"] for j in journals} == {
        "daily_reimbursement",
        "month_end_accrual",
        "remittance_plb",
        "patient_transactions",
    }
    assert all(j["facility_id"] != "UNMAPPED" for j in journals)
    # every daily journal carries at least the payments, denials and patient responsibility
    # of its facility-day (the reserve release and true-up lines come on top)
    daily = read_csv(faulted_dir / "ground_truth/daily_reimbursement.csv")
    net = defaultdict(Decimal)
    for r in daily:
        if r["facility_id"] == "UNMAPPED":
            continue
        for m in ("payment_amount", "patient_responsibility_amount", "denial_amount"):
            net[(r["facility_id"], r["remit_date"], r["service_line_code"], m)] += Decimal(r[m])
    floor = defaultdict(Decimal)
    for (fac, day, _sl, _m), v in net.items():
        floor[(fac, day)] += abs(v)
    got = {
        (j["facility_id"], j["posting_date"]): Decimal(j["debit_total"])
        for j in journals
        if j["journal_source"] == "daily_reimbursement"
    }
    assert all(got.get(k, Decimal(0)) >= v for k, v in floor.items())


def test_gl_balances_follow_the_accounting_policy(faulted_dir: Path) -> None:
    """Reserve booked (4900) + its release (1290 back) + true-up (4950) = the actual contractual
    adjustments; denials post to 4910; bad debt and charity to 4920 and 4930 (docs/accounting_policy.md)."""
    gl = defaultdict(Decimal)
    for r in read_csv(faulted_dir / "ground_truth/gl_balances.csv"):
        gl[r["account_id"]] += Decimal(r["net_debit_amount"])
    daily = [
        r for r in read_csv(faulted_dir / "ground_truth/daily_reimbursement.csv") if r["facility_id"] != "UNMAPPED"
    ]
    contractual = sum((Decimal(r["contractual_adjustment_amount"]) for r in daily), Decimal(0))
    assert gl["4900"] > 0 and gl["1290"] < 0
    assert gl["4900"] + gl["1290"] + gl["4950"] == contractual
    assert gl["4910"] == sum((Decimal(r["denial_amount"]) for r in daily), Decimal(0))
    assert gl["4810"] < 0  # PLB interest paid by payers is income
    assert gl["4920"] > 0 and gl["4930"] > 0


def test_encounter_and_claim_semantics(clean_dir: Path) -> None:
    import json

    encounters = [json.loads(l) for l in (clean_dir / "ehr/fhir/Encounter.ndjson").read_text().splitlines()]
    final = {}
    for e in encounters:
        if int(e["meta"]["versionId"]) >= int(final.get(e["id"], {"meta": {"versionId": "0"}})["meta"]["versionId"]):
            final[e["id"]] = e
    statuses = {e["status"] for e in final.values()}
    assert {"finished", "cancelled"} <= statuses
    claims = defaultdict(set)
    for f in (clean_dir / "billing/claims").glob("*.csv"):
        for r in read_csv(f):
            claims[r["encounter_id"]].add((r["claim_id"], r["claim_frequency_code"]))
            if r["claim_type"] == "I" and final[r["encounter_id"]]["class"]["code"] == "IMP":
                assert r["drg_code"] and r["bill_type"].startswith("011")
    for enc_id, versions in claims.items():
        assert final[enc_id]["status"] == "finished"
        assert sum(1 for _, freq in versions if freq == "1") == 1
    locs = {
        json.loads(l)["id"]: json.loads(l) for l in (clean_dir / "ehr/fhir/Location.ndjson").read_text().splitlines()
    }
    orgs = {json.loads(l)["id"] for l in (clean_dir / "ehr/fhir/Organization.ndjson").read_text().splitlines()}
    for e in final.values():
        assert e["location"][0]["location"]["reference"].split("/")[1] in locs
        assert e["serviceProvider"]["reference"].split("/")[1] in orgs
        if e["class"]["code"] == "IMP":
            days = (e.get("period", {}).get("end") or "")[:10]
            if days:
                from datetime import date

                los = (date.fromisoformat(days) - date.fromisoformat(e["period"]["start"][:10])).days
                assert 2 <= los <= 6


def test_payee_crosswalk_rows_equal_ground_truth_payees(faulted_dir: Path) -> None:
    """erp/crosswalks.csv carries one payee npi and one payee tin row per facility, mapping to the
    facility of ground_truth/payees.csv; and every 835 payee (N1*PE NPI, REF*TJ) is one of them."""
    payees = read_csv(faulted_dir / "ground_truth" / "payees.csv")
    assert payees
    rows = [r for r in read_csv(faulted_dir / "erp" / "crosswalks.csv") if r["entity"] == "payee"]
    got = {(r["source_system"], r["source_code"]): r["target_code"] for r in rows}
    assert len(got) == len(rows)
    want = {("npi", p["payee_npi"]): p["facility_id"] for p in payees} | {
        ("tin", p["payee_tax_id"]): p["facility_id"] for p in payees
    }
    assert got == want
    named = set()
    for path in sorted((faulted_dir / "billing" / "remits").glob("*.835")):
        text = path.read_text(encoding="utf-8")
        named.update(("npi", npi) for npi in re.findall(r"N1\*PE\*[^*~]*\*XX\*([^*~]+)", text))
        named.update(("tin", tin) for tin in re.findall(r"REF\*TJ\*([^*~]+)", text))
    assert named and named <= set(got)
