"""Patient transactions and BAI2 deposits: files agree with the 835s and the ground truth."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from synth_helpers import duplicate_files, fault_keys, load_truth, parse_835, read_csv

D0 = Decimal("0")


def _deposits(root: Path) -> list[tuple[str, str, str, Decimal]]:
    """(file, type code, customer reference, amount) of every 16 detail written."""
    out = []
    for f in sorted((root / "bank/bai2").glob("*.bai")):
        for line in f.read_text().splitlines():
            if line.startswith("16,"):
                p = line.split(",")
                out.append((f.name, p[1], p[5], Decimal(p[2]) / 100))
    return out


def _landed_eras(root: Path, truth: dict) -> dict[str, Decimal]:
    skip = duplicate_files(truth)
    bad = fault_keys(truth, "x12_se_count_mismatch")
    out = {}
    for f in sorted((root / "billing/remits").glob("*.835")):
        rel = f.relative_to(root).as_posix()
        if rel in skip:
            continue
        for st in parse_835(f):
            if (rel, st.index) not in bad and st.bpr_amount > 0:
                out[st.trace_number] = st.bpr_amount
    return out


@pytest.mark.parametrize("which", ["clean_dir", "faulted_dir"])
def test_every_deposit_and_era_is_in_the_reconciliation_ground_truth(which: str, request) -> None:
    root: Path = request.getfixturevalue(which)
    truth = load_truth(root)
    recon = read_csv(root / "ground_truth/cash_reconciliation.csv")
    deposits = {ref: amount for _, _, ref, amount in _deposits(root)}
    eras = _landed_eras(root, truth)
    by_ref = {r["reference"]: r for r in recon}
    assert len(by_ref) == len(recon)
    for ref, amount in eras.items():
        row = by_ref[ref]
        assert Decimal(row["remittance_amount"]) == amount
    for ref, amount in deposits.items():
        assert Decimal(by_ref[ref]["deposit_amount"]) == amount
    for r in recon:
        dep = deposits.get(r["reference"])
        rem = eras.get(r["reference"]) if r["source"] == "era" else Decimal(r["remittance_amount"])
        expected = (
            "deposit_without_remittance"
            if rem is None
            else "remittance_without_deposit"
            if dep is None
            else "matched"
            if dep == rem
            else "amount_mismatch"
        )
        assert r["status"] == expected, r
    statuses = {r["status"] for r in recon}
    if which == "clean_dir":
        assert statuses == {"matched"}
    else:
        assert statuses == {"matched", "amount_mismatch", "deposit_without_remittance", "remittance_without_deposit"}
        assert truth["faults"]["deposit_plb_difference"]["count"] > 0


@pytest.mark.parametrize("which", ["clean_dir", "faulted_dir"])
def test_lockbox_deposits_equal_the_patient_cash_of_the_day(which: str, request) -> None:
    root: Path = request.getfixturevalue(which)
    tx = read_csv(root / "billing/patient_transactions/patient_transactions.csv")
    cash = defaultdict(Decimal)
    for r in tx:
        assert Decimal(r["amount"]) > 0
        if r["transaction_type"] in ("copay", "payment"):
            cash[r["deposit_reference"]] += Decimal(r["amount"])
        else:
            assert r["deposit_reference"] == ""
    lockbox = {ref: amount for _, t, ref, amount in _deposits(root) if t == "115"}
    assert lockbox == dict(cash)
    kinds = {r["transaction_type"] for r in tx}
    assert kinds <= {"copay", "payment", "bad_debt", "charity"}
    if which == "faulted_dir":  # 75 days: long enough for write-offs
        assert kinds == {"copay", "payment", "bad_debt", "charity"}
    by_type = defaultdict(Decimal)
    for r in read_csv(root / "ground_truth/patient_transactions.csv"):
        by_type[r["transaction_type"]] += Decimal(r["amount"])
    for kind, total in by_type.items():
        assert total == sum((Decimal(r["amount"]) for r in tx if r["transaction_type"] == kind), start=D0)


def test_bai2_control_totals_and_counts_hold(faulted_dir: Path) -> None:
    for f in sorted((faulted_dir / "bank/bai2").glob("*.bai")):
        lines = f.read_text().splitlines()
        details = sum(int(line.split(",")[2]) for line in lines if line.startswith("16,"))
        summary = int(next(line for line in lines if line.startswith("03,")).split(",")[4])
        assert summary == details
        trailer = next(line for line in lines if line.startswith("49,")).rstrip("/").split(",")
        assert int(trailer[1]) == summary + details
        assert int(trailer[2]) == sum(1 for line in lines if line[:2] in ("03", "16", "49"))
        assert int(lines[-1].rstrip("/").split(",")[3]) == len(lines)
