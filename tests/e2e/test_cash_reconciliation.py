"""Cash reconciliation (835 BPR02 and lockbox patient cash vs BAI2 deposits) against the
simulator's ground truth, to the cent.

Runs on the session's ``built_warehouse`` (faults on): the simulator drops some deposits
(an 835 with no deposit), adds deposits no 835 names, and deposits some 835s before their
provider-level adjustment (the amount differs by the PLB). Its ground truth
(``ground_truth/cash_reconciliation.csv``) has one row per landed ERA, lockbox batch and
deposit with the status the reconciliation must find; every row must be found with the
same legal entity, day, amounts and status, and every fault must be an exception row with
its reason and amount.
"""

from __future__ import annotations

import re
from collections import defaultdict
from decimal import Decimal

import pytest

ZERO = Decimal("0.00")
REASON_OF_STATUS = {
    "remittance_without_deposit": "REMITTANCE_NO_DEPOSIT",
    "deposit_without_remittance": "DEPOSIT_NO_REMITTANCE",
    "amount_mismatch": "DEPOSIT_PLB_DIFFERENCE",
}
TRACE = re.compile(r"trace (\S+)")


def _d(value: object) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value)).quantize(Decimal("0.01"))


@pytest.fixture(scope="module")
def truth(ground_truth_rows) -> list[dict[str, str]]:
    rows = ground_truth_rows("cash_reconciliation.csv")
    statuses = {r["status"] for r in rows}
    # the faulted system must exercise every status, or the test proves nothing
    assert statuses == {"matched", "amount_mismatch", "remittance_without_deposit", "deposit_without_remittance"}
    return rows


def _fault_traces(built_warehouse, kind: str) -> set[str]:
    records = built_warehouse.ground_truth["faults"][kind]["records"]
    traces = {TRACE.search(r["reason"]).group(1) for r in records}
    assert traces, f"the faulted simulation has no {kind} fault"
    return traces


def test_every_receipt_and_deposit_matches_ground_truth(built_con, truth) -> None:
    want = {
        (
            r["legal_entity_id"],
            r["deposit_date"],
            r["source"],
            r["reference"],
            _d(r["remittance_amount"]),
            _d(r["deposit_amount"]),
            r["status"],
        )
        for r in truth
    }
    got = {
        (le, str(day), source, ref, _d(rem), _d(dep), status)
        for le, day, source, ref, rem, dep, status in built_con.execute(
            """
            select legal_entity_id, deposit_date, receipt_source, reference,
                   remittance_amount, deposit_amount, match_status
            from core.fct_cash_reconciliation_items
            """
        ).fetchall()
    }
    assert len(got) == len(truth), "one reconciliation item per ERA, lockbox batch and deposit"
    assert got - want == set(), f"items the ground truth does not have: {sorted(got - want)[:5]}"
    assert want - got == set(), f"ground truth rows not found: {sorted(want - got)[:5]}"


def test_daily_mart_equals_ground_truth(built_con, truth) -> None:
    want: dict[tuple[str, str], dict[str, Decimal | int]] = defaultdict(lambda: defaultdict(int))
    for r in truth:
        day = want[(r["legal_entity_id"], r["deposit_date"])]
        rem, dep = _d(r["remittance_amount"]) or ZERO, _d(r["deposit_amount"]) or ZERO
        day["expected_amount"] += rem
        day["deposit_amount"] += dep
        if r["status"] == "matched":
            day["matched_count"] += 1
            day["matched_amount"] += dep
        elif r["status"] == "remittance_without_deposit":
            day["unmatched_remittance_count"] += 1
            day["unmatched_remittance_amount"] += rem
        elif r["status"] == "deposit_without_remittance":
            day["unmatched_deposit_count"] += 1
            day["unmatched_deposit_amount"] += dep
        else:
            day["mismatch_count"] += 1
            day["mismatch_difference_amount"] += dep - rem
    measures = [
        "expected_amount",
        "deposit_amount",
        "matched_count",
        "matched_amount",
        "unmatched_remittance_count",
        "unmatched_remittance_amount",
        "unmatched_deposit_count",
        "unmatched_deposit_amount",
        "mismatch_count",
        "mismatch_difference_amount",
    ]
    rows = built_con.execute(
        f"select legal_entity_id, deposit_date, {', '.join(measures)}, plb_difference_amount, is_reconciled "
        "from marts.mart_cash_reconciliation_daily"
    ).fetchall()
    got = {}
    for le, day, *values in rows:
        *amounts, plb_difference, is_reconciled = values
        got[(le, str(day))] = {m: (_d(v) if m.endswith("_amount") else v) for m, v in zip(measures, amounts)}
        row = got[(le, str(day))]
        assert (
            row["deposit_amount"] - row["expected_amount"]
            == row["unmatched_deposit_amount"] - row["unmatched_remittance_amount"] + row["mismatch_difference_amount"]
        ), f"{le} {day}: the day's difference is not explained"
        # every mismatch the simulator makes is a PLB difference
        assert _d(plb_difference) == row["mismatch_difference_amount"]
        exceptions = row["unmatched_remittance_count"] + row["unmatched_deposit_count"] + row["mismatch_count"]
        assert is_reconciled == (exceptions == 0)
    want = {
        k: {m: (v[m] if m in v else (ZERO if m.endswith("_amount") else 0)) for m in measures} for k, v in want.items()
    }
    assert got == want


def test_every_break_is_an_exception_with_its_amount(built_con, truth) -> None:
    want = set()
    for r in truth:
        if r["status"] == "matched":
            continue
        rem, dep = _d(r["remittance_amount"]), _d(r["deposit_amount"])
        amount = rem if dep is None else dep if rem is None else dep - rem
        want.add((REASON_OF_STATUS[r["status"]], r["legal_entity_id"], r["deposit_date"], r["reference"], amount))
    got = {
        (reason, le, str(day), ref, _d(amount))
        for reason, le, day, ref, amount in built_con.execute(
            "select reason_code, legal_entity_id, exception_date, reference, amount "
            "from marts.mart_cash_reconciliation_exceptions"
        ).fetchall()
    }
    assert got == want


def test_simulator_faults_are_found(built_con, built_warehouse, truth) -> None:
    by_reason: dict[str, set[str]] = defaultdict(set)
    for reason, ref in built_con.execute(
        "select reason_code, reference from marts.mart_cash_reconciliation_exceptions"
    ).fetchall():
        by_reason[reason].add(ref)
    landed_eras = {r["reference"] for r in truth if r["source"] == "era" and r["remittance_amount"]}

    stray = _fault_traces(built_warehouse, "deposit_without_835")
    assert stray <= by_reason["DEPOSIT_NO_REMITTANCE"]

    plb = _fault_traces(built_warehouse, "deposit_plb_difference")
    assert plb == by_reason["DEPOSIT_PLB_DIFFERENCE"]
    # the PLB difference is the deposit short of BPR02 by exactly the 835's PLB total
    (unexplained,) = built_con.execute(
        """
        select count(*) from marts.mart_cash_reconciliation_exceptions
        where reason_code = 'DEPOSIT_PLB_DIFFERENCE'
          and (amount <> deposit_amount - remittance_amount or amount <> plb_amount or plb_amount = 0)
        """
    ).fetchone()
    assert unexplained == 0

    no_deposit = _fault_traces(built_warehouse, "835_without_deposit")
    # an 835 whose file was faulted never landed: the warehouse cannot expect its cash
    assert no_deposit & landed_eras == by_reason["REMITTANCE_NO_DEPOSIT"]
