"""Patient accounts from the HL7 BAR feed (core.fct_patient_accounts) against the simulator's
ground truth.

Runs on the session's ``built_warehouse`` (faults on). The simulator sends BAR^P01 at
admission, P05 at discharge and P12 (final codes) a day later for a share of every encounter
that began before its as-of date, billed or not (``ground_truth/patient_accounts.csv``): each
account must stand in the state the truth gives it (billed, discharged awaiting final codes,
discharged and coded awaiting a bill), no account may be missing or extra, every raw
BAR row must be an event of one account, and the fact carries no patient identifier.
"""

from __future__ import annotations

from collections import Counter

import pytest

# the simulator's encounters all end before its as-of date, so no account is still in house
# (in_house and ended are worked through in the dbt unit tests of int_ehr__accounts and
# fct_patient_accounts)
STATES = {"billed", "discharged_not_final_coded", "discharged_not_final_billed"}
PATIENT_IDENTIFIERS = {"patient_mrn", "patient_control_number", "account_number", "patient_name", "birth_date"}


@pytest.fixture(scope="module")
def truth(ground_truth_rows) -> dict[str, str]:
    rows = ground_truth_rows("patient_accounts.csv")
    states = {r["encounter_id"]: r["account_state"] for r in rows}
    assert len(states) == len(rows), "one truth row per encounter"
    # the simulated system must exercise every state it can reach, or the test proves nothing
    assert set(states.values()) == STATES, Counter(states.values())
    return states


def test_every_account_stands_where_the_truth_says(built_con, truth) -> None:
    got = dict(
        built_con.execute(
            "select encounter_id, account_state from core.fct_patient_accounts where is_placed"
        ).fetchall()
    )
    missing = sorted(set(truth) - set(got))
    extra = sorted(set(got) - set(truth))
    wrong = sorted((e, truth[e], got[e]) for e in set(truth) & set(got) if truth[e] != got[e])
    assert not missing and not extra, f"missing {missing[:5]}, extra {extra[:5]}"
    assert not wrong, f"{len(wrong)} accounts in another state (encounter, truth, warehouse): {wrong[:5]}"


def test_every_bar_row_is_an_event_of_one_account(built_con) -> None:
    raw = built_con.execute("select count(*) from raw_ehr.bar_accounts").fetchone()[0]
    folded, unplaced = built_con.execute(
        "select sum(event_count), count(*) filter (where not is_placed) from core.fct_patient_accounts"
    ).fetchone()
    assert raw > 0 and folded == raw
    assert unplaced == 0


def test_billed_accounts_carry_their_bill_and_final_codes(built_con) -> None:
    rows = built_con.execute(
        """
        select account_state, count(*), count(bill_date), count(*) filter (where has_final_diagnosis),
            count(*) filter (where diagnosis_count = 0), count(*) filter (where not is_encounter_matched)
        from core.fct_patient_accounts group by 1
        """
    ).fetchall()
    by_state = {r[0]: r[1:] for r in rows}
    n, billed, final, no_dx, unmatched = by_state["billed"]
    assert billed == n and no_dx == 0
    # an unbilled account is billed by no claim, and one awaiting a bill has its final codes
    assert by_state["discharged_not_final_billed"][1] == 0
    assert by_state["discharged_not_final_billed"][2] == by_state["discharged_not_final_billed"][0]
    assert by_state["discharged_not_final_coded"][2] == 0
    assert sum(r[4] for r in by_state.values()) == 0


def test_the_fact_carries_no_patient_identifier(built_con) -> None:
    columns = {
        r[0]
        for r in built_con.execute(
            "select column_name from information_schema.columns"
            " where table_schema = 'core' and table_name = 'fct_patient_accounts'"
        ).fetchall()
    }
    assert "account_key" in columns and not columns & PATIENT_IDENTIFIERS
    pcns = built_con.execute(
        "select count(*) from core.fct_patient_accounts a join raw_ehr.bar_accounts r"
        " on a.account_key = r.account_number or a.encounter_id = r.account_number"
    ).fetchone()[0]
    assert pcns == 0
