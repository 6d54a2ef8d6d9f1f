"""Charge capture (EHR DFT charges vs billed claim lines) against the simulator's ground truth,
to the cent.

Runs on the session's ``built_warehouse`` (faults on): the simulator's DFT^P03 feed covers a
share of the claimed encounters and loses some days' charge batches, leaves some claim lines
without an EHR charge, reprices some charges and adds late charges that were never billed
(``ground_truth/charge_capture.csv``, one row per encounter x service date). Every truth row
must be a row of ``core.fct_charge_capture_encounter_days`` with the same status, counts and
amounts and no row may be extra; the public mart must carry the same totals per status with no
patient-level column; every day that does not match must be one exception with its amount; and
the raw FT1 amounts must all be in the checkpoint or in the exceptions.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest

ZERO = Decimal("0.00")
STATUSES = {"matched", "amount_difference", "ehr_only", "claim_only", "not_in_charge_feed"}
REASON_OF_STATUS = {
    "ehr_only": ("CHARGE_CAPTURE_LEAKAGE", "ehr_charge_amount"),
    "claim_only": ("CHARGE_CAPTURE_CLAIM_ONLY", "billed_charge_amount"),
    "amount_difference": ("CHARGE_CAPTURE_AMOUNT_DIFFERS", "difference_amount"),
}
# measure of the mart -> (status whose rows it sums, the truth column summed)
MART_SPLITS = {
    "matched_amount": ("matched", "billed_charge_amount"),
    "ehr_not_billed_amount": ("ehr_only", "ehr_charge_amount"),
    "billed_without_ehr_amount": ("claim_only", "billed_charge_amount"),
    "repriced_difference_amount": ("amount_difference", "difference_amount"),
    "not_in_charge_feed_amount": ("not_in_charge_feed", "billed_charge_amount"),
}
PATIENT_LEVEL = {"encounter_id", "patient_key", "patient_mrn", "patient_control_number", "claim_id", "transaction_id"}


def _d(value: object) -> Decimal:
    return ZERO if value in (None, "") else Decimal(str(value)).quantize(Decimal("0.01"))


@pytest.fixture(scope="module")
def truth(ground_truth_rows) -> list[dict[str, str]]:
    rows = ground_truth_rows("charge_capture.csv")
    # the faulted system must exercise every status, or the test proves nothing
    assert {r["reconciliation_status"] for r in rows} == STATUSES
    return rows


def _row(status: str, ehr_count: object, ehr: object, billed_count: object, billed: object, diff: object) -> tuple:
    return (status, int(ehr_count), _d(ehr), int(billed_count), _d(billed), _d(diff))


def test_every_encounter_day_equals_ground_truth(built_con, truth) -> None:
    want = {
        (r["encounter_id"], r["service_date"]): _row(
            r["reconciliation_status"],
            r["ehr_charge_count"],
            r["ehr_charge_amount"],
            r["billed_line_count"],
            r["billed_charge_amount"],
            r["difference_amount"],
        )
        for r in truth
    }
    got = {
        (encounter, str(day)): _row(*rest)
        for encounter, day, *rest in built_con.execute(
            "select encounter_id, service_date, reconciliation_status, ehr_charge_count, ehr_charge_amount, "
            "billed_line_count, billed_charge_amount, difference_amount from core.fct_charge_capture_encounter_days"
        ).fetchall()
    }
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    wrong = sorted((k, want[k], got[k]) for k in set(want) & set(got) if want[k] != got[k])
    assert not missing, f"{len(missing)} truth rows missing, e.g. {missing[:5]}"
    assert not extra, f"{len(extra)} rows not in the truth, e.g. {extra[:5]}"
    assert not wrong, f"{len(wrong)} rows differ (key, truth, warehouse), e.g. {wrong[:5]}"


def test_mart_totals_per_status_equal_ground_truth(built_con, truth) -> None:
    measures = ["ehr_charge_amount", "billed_charge_amount", "difference_amount", *MART_SPLITS]
    counts = [f"{s}_day_count" for s in sorted(STATUSES)]
    row = built_con.execute(
        "select "
        + ", ".join(f"sum({c})" for c in [*measures, *counts, "ehr_charge_count", "billed_line_count"])
        + " from marts.mart_charge_capture_reconciliation"
    ).fetchone()
    got = dict(zip([*measures, *counts, "ehr_charge_count", "billed_line_count"], row))
    want: dict[str, object] = {
        m: sum((_d(r[m]) for r in truth), ZERO)
        for m in ("ehr_charge_amount", "billed_charge_amount", "difference_amount")
    }
    for measure, (status, column) in MART_SPLITS.items():
        want[measure] = sum((_d(r[column]) for r in truth if r["reconciliation_status"] == status), ZERO)
    for status in STATUSES:
        want[f"{status}_day_count"] = sum(1 for r in truth if r["reconciliation_status"] == status)
    want["ehr_charge_count"] = sum(int(r["ehr_charge_count"]) for r in truth)
    want["billed_line_count"] = sum(int(r["billed_line_count"]) for r in truth)
    assert {k: (_d(v) if k.endswith("_amount") else int(v)) for k, v in got.items()} == want
    # the leakage the simulator planted (late charges never billed) is all in ehr_not_billed
    assert want["ehr_not_billed_amount"] > ZERO and want["billed_without_ehr_amount"] > ZERO


def test_mart_is_the_encounter_days_per_facility_and_date(built_con) -> None:
    diff = built_con.execute(
        """
        with days as (
            select facility_id, service_date, count(*) as n, sum(ehr_charge_amount) as ehr,
                sum(billed_charge_amount) as billed
            from core.fct_charge_capture_encounter_days group by 1, 2
        )
        select count(*) from days
        full outer join marts.mart_charge_capture_reconciliation as mart using (facility_id, service_date)
        where mart.encounter_day_count is distinct from days.n or mart.ehr_charge_amount is distinct from days.ehr
            or mart.billed_charge_amount is distinct from days.billed
        """
    ).fetchone()[0]
    assert diff == 0
    unmapped = built_con.execute(
        "select count(*) from marts.mart_charge_capture_reconciliation where facility_id = 'UNMAPPED'"
    ).fetchone()[0]
    total = built_con.execute("select count(*) from marts.mart_charge_capture_reconciliation").fetchone()[0]
    assert unmapped < total  # facilities are placed (UNMAPPED only where the crosswalk lacks a row)


def test_every_break_is_an_exception_with_its_amount(built_con, truth) -> None:
    want: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for r in truth:
        if r["reconciliation_status"] in REASON_OF_STATUS:
            reason, column = REASON_OF_STATUS[r["reconciliation_status"]]
            want[reason][f"{r['encounter_id']}:{r['service_date']}"] = _d(r[column])
    got: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for reason, source_id, amount, checkpoint in built_con.execute(
        "select reason_code, source_id, amount, checkpoint from marts.mart_reconciliation_exceptions "
        "where reason_code like 'CHARGE_CAPTURE_%' and reason_code <> 'CHARGE_CAPTURE_UNPLACED'"
    ).fetchall():
        assert checkpoint == "charge_capture"
        got[reason][source_id] = _d(amount)
    assert set(want) == set(REASON_OF_STATUS[s][0] for s in REASON_OF_STATUS)
    assert dict(got) == dict(want)


def test_raw_ehr_charges_are_all_counted_or_excepted(built_con, built_warehouse, truth) -> None:
    """Every FT1 the simulator sent landed (resends included), every transaction is one fact
    (the latest of its versions), and the facts' signed amounts = the checkpoint's EHR amounts
    + the unplaced exceptions (the simulator sends nothing unplaceable). Credits are
    EHR_CHARGE_CREDIT rows with their negative amount; resent transactions have two versions."""
    raw_count, raw_amount = built_con.execute(
        "select count(*), coalesce(sum(extended_amount), 0) from raw_ehr.dft_charges"
    ).fetchone()
    facts = built_con.execute(
        "select count(*), sum(case when is_placed then charge_amount else 0 end), "
        "count(*) filter (where not is_placed) from core.fct_ehr_charges"
    ).fetchone()
    unplaced = built_con.execute(
        "select count(*), coalesce(sum(amount), 0) from core.fct_data_quality_exceptions "
        "where check_name = 'CHARGE_CAPTURE_UNPLACED' and source = 'dft_charges'"
    ).fetchone()
    capture = built_warehouse.ground_truth["charge_capture"]
    assert raw_count == capture["ft1_sent"] and _d(raw_amount) == _d(capture["ft1_sent_amount"])
    assert facts[0] == capture["ehr_charges"]
    assert _d(capture["ehr_charge_amount"]) == _d(facts[1]) + _d(unplaced[1])
    assert facts[2] == unplaced[0] == 0
    assert _d(facts[1]) == sum((_d(r["ehr_charge_amount"]) for r in truth), ZERO)
    credits = built_con.execute(
        "select count(*), coalesce(sum(amount), 0) from core.fct_data_quality_exceptions "
        "where check_name = 'EHR_CHARGE_CREDIT'"
    ).fetchone()
    assert capture["credited_ehr_charges"] > 0 and credits[0] == capture["credited_ehr_charges"]
    assert _d(credits[1]) == _d(capture["credited_amount"])
    versions = built_con.execute(
        "select count(*) filter (where version_count = 2), count(*) filter (where version_count > 2) "
        "from core.fct_ehr_charges"
    ).fetchone()
    assert capture["resent_transactions"] > 0 and versions == (capture["resent_transactions"], 0)


def test_dft_and_bar_messages_land_and_stage(built_con, built_warehouse) -> None:
    counts = built_warehouse.ground_truth["counts"]
    assert counts["dft_messages"] > 0 and counts["bar_messages"] > 0
    staged = {
        table: built_con.execute(f"select count(*) from staging.{table}").fetchone()[0]
        for table in ("stg_ehr__dft_messages", "stg_ehr__bar_accounts")
    }
    assert staged == {"stg_ehr__dft_messages": counts["dft_messages"], "stg_ehr__bar_accounts": counts["bar_messages"]}
    triggers = {
        t for (t,) in built_con.execute("select distinct trigger_event from staging.stg_ehr__bar_accounts").fetchall()
    }
    assert triggers == {"P01", "P05", "P12"}


def test_public_mart_carries_no_patient_level_data(built_con) -> None:
    columns = {
        c
        for (c,) in built_con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = 'marts' and table_name = 'mart_charge_capture_reconciliation'"
        ).fetchall()
    }
    assert columns and not columns & PATIENT_LEVEL
