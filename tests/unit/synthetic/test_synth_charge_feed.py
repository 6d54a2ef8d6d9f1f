"""The simulator's HL7 charge feed: DFT^P03 and BAR^P01/P05/P12 messages that the loaders land
whole (0 quarantined), a charge-capture ground truth that adds up to the messages' FT1 amounts,
and no change to any other output."""

from __future__ import annotations

import csv
import hashlib
from decimal import Decimal
from pathlib import Path

import hl7
from synth_helpers import hl7_messages, load_truth

from careledger.ingest.landing import connect, ensure_schema
from careledger.ingest.run import land_file
from careledger.simulator.simulator import synthesize


def _feed_files(root: Path) -> list[Path]:
    return sorted([*root.glob("ehr/adt/dft_*.hl7"), *root.glob("ehr/adt/bar_*.hl7")])


def _capture(root: Path) -> list[dict[str, str]]:
    with (root / "ground_truth/charge_capture.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_simulated_dft_and_bar_land_with_nothing_quarantined(faulted_dir: Path, tmp_path: Path) -> None:
    truth = load_truth(faulted_dir)
    files = _feed_files(faulted_dir)
    assert files and any(f.name.startswith("bar_") for f in files)
    con = connect(tmp_path / "w.duckdb")
    try:
        ensure_schema(con)
        results = [land_file(con, f) for f in files]
        assert [r.status for r in results] == ["landed"] * len(files)
        assert sum(r.records_quarantined for r in results) == 0
        assert sum(r.records_read for r in results) == truth["counts"]["dft_messages"] + truth["counts"]["bar_messages"]
        # every FT1 as sent: resends carry their transactions twice, credits their amount unsigned
        charges, amount = con.execute("select count(*), sum(extended_amount) from raw_ehr.dft_charges").fetchone()
        capture = truth["charge_capture"]
        assert charges == capture["ft1_sent"] == capture["ehr_charges"] + capture["resent_transactions"]
        assert amount == Decimal(capture["ft1_sent_amount"])
        assert capture["credited_ehr_charges"] > 0 and capture["resent_transactions"] > 0
        types = dict(con.execute("select transaction_type, count(*) from raw_ehr.dft_charges group by 1").fetchall())
        assert set(types) == {"CG", "CD"}
        triggers = dict(con.execute("select trigger_event, count(*) from raw_ehr.bar_accounts group by 1").fetchall())
        assert set(triggers) == {"P01", "P05", "P12"} and sum(triggers.values()) == truth["counts"]["bar_messages"]
        assert con.execute(
            "select count(*) from raw_ehr.bar_accounts where discharge_at is null and trigger_event <> 'P01'"
        ).fetchone() == (0,)
        warnings = con.execute(
            "select rule, count(*) from raw_meta.validation_findings where severity <> 'info' group by 1"
        ).fetchall()
        assert warnings == []
    finally:
        con.close()


def test_charge_capture_truth_adds_up_to_the_messages(faulted_dir: Path) -> None:
    # each FT1-2 transaction counts once, as its latest message (MSH-7) sent it; CD credits negative
    latest: dict[str, tuple[str, Decimal]] = {}
    visits: set[str] = set()
    for f in sorted(faulted_dir.glob("ehr/adt/dft_*.hl7")):
        for text in hl7_messages(f):
            msg = hl7.parse(text)
            assert str(msg.segment("MSH")[9]) == "DFT^P03^DFT_P03"
            visits.add(str(msg.segment("PV1")[19]))
            sent_at = str(msg.segment("MSH")[7])
            for s in msg.segments("FT1"):
                assert str(s[6]) in ("CG", "CD")
                amount = Decimal(str(s[11])) * (-1 if str(s[6]) == "CD" else 1)
                if str(s[2]) not in latest or latest[str(s[2])][0] <= sent_at:
                    latest[str(s[2])] = (sent_at, amount)
    ft1_total = sum((amount for _, amount in latest.values()), start=Decimal(0))
    rows = _capture(faulted_dir)
    assert sum(Decimal(r["ehr_charge_amount"]) for r in rows) == ft1_total
    assert sum(int(r["ehr_charge_count"]) for r in rows) == len(latest)
    by_status: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        by_status.setdefault(r["reconciliation_status"], []).append(r)
        assert Decimal(r["difference_amount"]) == Decimal(r["ehr_charge_amount"]) - Decimal(r["billed_charge_amount"])
        assert (r["encounter_id"] in visits) == (r["reconciliation_status"] != "not_in_charge_feed")
    assert {"matched", "amount_difference", "ehr_only", "claim_only", "not_in_charge_feed"} == set(by_status)
    assert all(r["billed_line_count"] == "0" for r in by_status["ehr_only"])
    assert all(r["ehr_charge_count"] == "0" for r in by_status["claim_only"])
    assert all(r["difference_amount"] == "0.00" for r in by_status["matched"])
    assert all(r["difference_amount"] != "0.00" for r in by_status["amount_difference"])
    late = load_truth(faulted_dir)["charge_capture"]
    assert sum(Decimal(r["ehr_charge_amount"]) for r in by_status["ehr_only"]) == Decimal(late["late_charge_amount"])


def _digests(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        # the feed's own truth files describe the feed
        if p.is_file() and p.name not in ("ground_truth.json", "charge_capture.csv", "patient_accounts.csv")
    }


def test_charge_feed_changes_no_other_output(tmp_path: Path) -> None:
    with_feed = synthesize(tmp_path / "a", encounters=250, seed=5, days=30, facilities=2, faults=0.03)
    without = synthesize(
        tmp_path / "b", encounters=250, seed=5, days=30, facilities=2, faults=0.03, dft_share=0.0, bar_share=0.0
    )
    a, b = _digests(with_feed.out_dir), _digests(without.out_dir)
    feed = {k for k in a if k.startswith(("ehr/adt/dft_", "ehr/adt/bar_"))}
    assert feed and not any(k.startswith(("ehr/adt/dft_", "ehr/adt/bar_")) for k in b)
    assert {k: v for k, v in a.items() if k not in feed} == b
