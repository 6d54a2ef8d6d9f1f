"""Revenue-cycle KPIs (HFMA MAP Keys, docs/marts.md) against the simulator's ground truth.

Runs on the session's ``built_warehouse`` (faults on). The simulator computes every KPI per
accounting period x facility from its own records (``ground_truth/revenue_cycle_kpis.csv``:
gross charges, 835 outcomes, its claim A/R subledger, patient transactions, denial
write-offs, the claims it submitted and their first adjudications for the Claim Integrity Task
Force initial denial rate); every numerator and denominator must equal the mart to the cent and
every ratio to its four (days: two) decimals, on every row.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

KEY = ("period_id", "facility_id")


def _d(value: object) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value))


@pytest.fixture(scope="module")
def truth(ground_truth_rows) -> list[dict[str, str]]:
    return ground_truth_rows("revenue_cycle_kpis.csv")


def _mart(built_con, columns: list[str]) -> dict[tuple[str, str], dict[str, Decimal | None]]:
    rows = built_con.execute(
        f"select {', '.join(KEY)}, {', '.join(columns)} from marts.mart_revenue_cycle_kpis"
    ).fetchall()
    return {(p, f): dict(zip(columns, map(_d, values))) for p, f, *values in rows}


def test_every_kpi_equals_ground_truth(built_con, truth) -> None:
    columns = [c for c in truth[0] if c not in KEY]
    got = _mart(built_con, columns)
    want = {(r["period_id"], r["facility_id"]): {c: _d(r[c]) for c in columns} for r in truth}
    assert set(got) == set(want), "one KPI row per accounting period x facility"
    diffs = [
        (key, c, want[key][c], got[key][c]) for key in sorted(want) for c in columns if want[key][c] != got[key][c]
    ]
    assert not diffs, f"{len(diffs)} KPI values differ from the ground truth, first: {diffs[:5]}"


def test_the_faulted_system_exercises_every_kpi(truth) -> None:
    """Each KPI has a non-zero numerator somewhere, so the comparison above proves something."""
    for column in (
        "contractual_reserve_change_amount",
        "bad_debt_amount",
        "charity_amount",
        "patient_ar_amount",
        "plb_recoupment_ar_amount",
        "denial_write_off_amount",
        "dnfb_gross_amount",
        "dnfb_net_ar_amount",
        "net_days_in_ar",
        "cash_pct_of_net_revenue",
        "initial_denied_claim_count",
        "initial_denial_rate",
        "initial_denial_charge_rate",
    ):
        assert any(_d(r[column]) for r in truth), f"ground truth has no {column}"


def test_ratios_are_their_numerator_over_denominator(built_con) -> None:
    """On every row the stored measures add up as documented and the ratio is numerator / denominator."""
    columns = [
        "net_ar_amount",
        "payer_net_ar_amount",
        "patient_ar_amount",
        "plb_recoupment_ar_amount",
        "cash_collected_amount",
        "payment_amount",
        "patient_payment_amount",
        "net_revenue_amount",
        "cash_pct_of_net_revenue",
        "gross_charge_amount",
        "contractual_adjustment_amount",
        "denial_amount",
        "contractual_reserve_change_amount",
        "bad_debt_amount",
        "charity_amount",
    ]
    for key, r in _mart(built_con, columns).items():
        assert r["cash_collected_amount"] == r["payment_amount"] + r["patient_payment_amount"], key
        assert r["net_revenue_amount"] == (
            r["gross_charge_amount"]
            - r["contractual_adjustment_amount"]
            - r["denial_amount"]
            - r["contractual_reserve_change_amount"]
            - r["bad_debt_amount"]
            - r["charity_amount"]
        ), key
        if r["payer_net_ar_amount"] is not None:
            assert r["net_ar_amount"] == (
                r["payer_net_ar_amount"] + r["patient_ar_amount"] + r["plb_recoupment_ar_amount"]
            ), key
        if r["net_revenue_amount"]:
            ratio = r["cash_collected_amount"] / r["net_revenue_amount"]
            assert abs(ratio - r["cash_pct_of_net_revenue"]) <= Decimal("0.00005"), key
