"""The A/R ground truth (ar_subledger, ar_aging, dnfb, expected_reimbursement) agrees with the
simulator's other ground-truth files, which are computed by separate code: at every period end
the subledger's gross A/R = charges up to it - what the 835s moved up to it (placed facilities)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from tests.unit.synthetic.synth_helpers import read_csv

BUCKETS = ("0_30", "31_60", "61_90", "91_120", "121_180", "over_180", "unbilled")


def _d(v: str) -> Decimal:
    return Decimal(v) if v else Decimal("0")


@pytest.fixture(scope="module")
def truth(faulted_dir: Path) -> dict[str, list[dict[str, str]]]:
    names = ("ar_subledger", "ar_aging", "dnfb", "expected_reimbursement", "charges_daily", "daily_reimbursement")
    return {n: read_csv(faulted_dir / "ground_truth" / f"{n}.csv") for n in names}


def test_gross_ar_at_each_period_end_equals_charges_less_remitted(truth) -> None:
    ledger: dict[str, Decimal] = defaultdict(Decimal)
    for r in truth["ar_subledger"]:
        ledger[r["period_end_date"]] += _d(r["gross_balance_amount"])
    assert len(ledger) >= 2, "the faulted run should span several period ends"
    for period_end, gross in ledger.items():
        charged = sum(
            _d(r["charge_amount"])
            for r in truth["charges_daily"]
            if r["facility_id"] != "UNMAPPED" and r["statement_to_date"] <= period_end
        )
        moved = sum(
            _d(r["payment_amount"])
            + _d(r["contractual_adjustment_amount"])
            + _d(r["denial_amount"])
            + _d(r["patient_responsibility_amount"])
            for r in truth["daily_reimbursement"]
            if r["facility_id"] != "UNMAPPED" and r["remit_date"] <= period_end
        )
        assert gross == charged - moved, period_end


def test_rows_balance_and_ages_are_consistent(truth) -> None:
    rows = truth["ar_subledger"]
    assert any(r["is_billed"] == "false" for r in rows) and any(_d(r["gross_balance_amount"]) < 0 for r in rows)
    for r in rows:
        gross, reserve, net = (
            _d(r[c]) for c in ("gross_balance_amount", "reserve_balance_amount", "net_balance_amount")
        )
        assert net == gross - reserve and (gross != 0 or reserve != 0), r
        assert r["discharge_date"] <= r["period_end_date"] and r["facility_id"] != "UNMAPPED"
        billed = r["bill_date"] <= r["period_end_date"]
        assert (r["is_billed"] == "true") == billed and (r["days_outstanding_from_bill"] != "") == billed, r


def test_expected_reimbursement_per_claim_adds_up_to_charges_daily(truth) -> None:
    per_claim = truth["expected_reimbursement"]
    for col in ("charge_amount", "expected_reimbursement_amount"):
        assert sum(_d(r[col]) for r in per_claim) == sum(_d(r[col]) for r in truth["charges_daily"])
    assert all(
        _d(r["contractual_reserve_amount"]) == _d(r["charge_amount"]) - _d(r["expected_reimbursement_amount"])
        for r in per_claim
    )


def test_aging_and_dnfb_add_up_to_the_subledger(truth) -> None:
    gross: dict[str, Decimal] = defaultdict(Decimal)
    unbilled: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for r in truth["ar_subledger"]:
        gross[r["period_id"]] += _d(r["gross_balance_amount"])
        if r["is_billed"] == "false":
            unbilled[(r["period_id"], r["facility_id"])] += _d(r["gross_balance_amount"])
    for basis in ("discharge", "bill"):
        aged: dict[str, Decimal] = defaultdict(Decimal)
        for r in truth["ar_aging"]:
            if r["aging_basis"] == basis:
                buckets = sum(_d(r[f"ar_{b}_amount"]) for b in BUCKETS)
                assert buckets == _d(r["gross_balance_amount"]), r
                aged[r["period_id"]] += buckets
        assert aged == gross, basis
    dnfb = {(r["period_id"], r["facility_id"]): _d(r["unbilled_charge_amount"]) for r in truth["dnfb"]}
    assert dnfb == unbilled  # nothing of a DNFB claim is remitted before it is billed


def test_same_day_pay_and_reverse_releases_nothing() -> None:
    """The reserve-release order within a day (docs/accounting_policy.md section 2): a reversal of
    a CLP paid the same day posts after it, so the pair releases nothing; a reversal of an
    earlier CLP posts before that day's adjudications; one with no landed original finds
    nothing standing and re-establishes nothing."""
    import datetime as dt

    import polars as pl

    from careledger.simulator import ground_truth as gt

    d1, d2 = dt.date(2025, 1, 20), dt.date(2025, 2, 3)
    inst = pl.DataFrame(
        {
            # chain 0: paid and reversed on d1, no correction; chain 1: paid on d1, reversed and
            # readjudicated on d2; chain 2: a reversal whose original never landed, then a payment
            "inst_id": [1, 2, 3, 4, 5, 6, 7],
            "claim_idx": [0, 0, 1, 1, 1, 2, 2],
            "kind": ["original", "reversal", "original", "reversal", "readjudication", "reversal", "readjudication"],
            "reversed_inst_id": [None, 1, None, 3, None, 99, None],
            "remit_date": [d1, d1, d1, d2, d2, d1, d1],
            "contractual": [400, -400, 300, -300, 320, -50, 60],
        }
    )
    claims = pl.DataFrame({"claim_idx": [0, 1, 2], "orig_row": [0, 1, 2], "freq": [1, 1, 1]})
    reserves = pl.DataFrame({"root_idx": [0, 1, 2], "reserve": [1000, 700, 80]})
    released = dict(gt.reserve_events(inst, claims, reserves).select("inst_id", "release").iter_rows())
    assert released == {1: 1000, 2: -1000, 3: 700, 4: -700, 5: 700, 6: 0, 7: 80}
