"""dbt build of the conformed layer and posting marts on the hand-made raw fixture
(tests/unit/dbt/dbt_raw_fixture.py): every dbt test and unit test passes, and the
business rules give the figures worked out by hand."""

from __future__ import annotations

from decimal import Decimal

from dbt_raw_fixture import EXPECTED


def test_encounters_finalized(fixture_warehouse) -> None:
    rows = dict(fixture_warehouse.query("select encounter_id, status from core.fct_encounters"))
    assert rows == EXPECTED["encounters"]
    # A13 cleared V00000002's discharge; FHIR version 2 discharged V00000001
    discharge = dict(fixture_warehouse.query("select encounter_id, discharge_at is not null from core.fct_encounters"))
    assert discharge == {"V00000001": True, "V00000002": False, "V00000003": False}


def test_merge_moves_encounter_to_surviving_patient(fixture_warehouse) -> None:
    keys = dict(fixture_warehouse.query("select encounter_id, patient_key from core.fct_encounters"))
    assert keys["V00000002"] == keys["V00000003"]  # MRN00000003 merged into MRN00000002
    assert keys["V00000001"] != keys["V00000002"]
    assert all(k and len(k) == 32 for k in keys.values())


def test_gross_charges_count_current_unvoided_versions_once(fixture_warehouse) -> None:
    [(total,)] = fixture_warehouse.query("select sum(charge_amount) from core.fct_charges")
    assert total == EXPECTED["gross_charges"]
    flags = {
        r[0]: r[1:]
        for r in fixture_warehouse.query("select claim_id, is_current_version, is_voided from core.fct_claims")
    }
    assert flags["C00000002"] == (False, False) and flags["C00000003"] == (True, False)
    assert flags["C00000004"][1] and flags["C00000005"][1]


def test_duplicates_are_flagged_not_counted(fixture_warehouse) -> None:
    [(dups,)] = fixture_warehouse.query("select count(*) from intermediate.int_claim_lines__deduped where is_duplicate")
    [(lines,)] = fixture_warehouse.query("select count(*) from core.fct_claim_lines")
    assert dups == 2 and lines == 6


def test_daily_reimbursement_totals(fixture_warehouse) -> None:
    cols = list(EXPECTED["daily_reimbursement_2025_01_20"])
    [row] = fixture_warehouse.query(
        f"select {', '.join(f'sum({c})' for c in cols)} from marts.mart_daily_reimbursement where remit_date = date '2025-01-20'"
    )
    assert dict(zip(cols, row)) == EXPECTED["daily_reimbursement_2025_01_20"]


def test_remit_buckets_balance_every_clp(fixture_warehouse) -> None:
    bad = fixture_warehouse.query(
        "select remit_claim_key from core.fct_remittance_claims where charge_amount <> payment_amount "
        "+ patient_responsibility_amount + contractual_adjustment_amount + denial_amount "
        "+ unclassified_adjustment_amount + out_of_balance_amount"
    )
    assert bad == []


def test_unmapped_values_land_on_unmapped_and_in_exceptions(fixture_warehouse) -> None:
    exceptions = {
        (r[0], r[1]): r[2]
        for r in fixture_warehouse.query("select field, value, record_count from core.fct_mapping_exceptions")
    }
    assert exceptions[("claim.facility_code", "FAC99")] == 2
    assert exceptions[("remit.group_code:carc_code", "OA:999")] == 1
    assert exceptions[("payroll.cost_center_id", "CC-BOGUS")] == 1
    [(facility,)] = fixture_warehouse.query("select facility_id from core.fct_claims where claim_id = 'C00000004'")
    assert facility == "UNMAPPED"
    [(category,)] = fixture_warehouse.query(
        "select denial_category from core.dim_denial_reason where group_code = 'OA' and carc_code = '999'"
    )
    assert category == "unclassified"  # an unknown CARC is not a denial (seeds/carc_codes.csv)


def test_unmatched_clp_whose_payee_maps_nowhere_stays_unmapped(fixture_warehouse) -> None:
    # the fixture's crosswalk has no payee rows: the CLP that matches no claim keeps its payee
    # ids and stays on UNMAPPED (a PAYEE_UNMAPPED exception; that mart is not in this build)
    [row] = fixture_warehouse.query(
        "select facility_id, legal_entity_id, facility_source, payee_npi, payee_tax_id "
        "from core.fct_remittance_claims where not is_matched"
    )
    assert row == ("UNMAPPED", "UNMAPPED", "unmapped", "1234567893", "371234567")


def test_journals_balance_and_carry_no_patient_data(fixture_warehouse) -> None:
    unbalanced = fixture_warehouse.query(
        "select journal_id from marts.mart_erp_journal_lines group by journal_id having sum(debit_amount) <> sum(credit_amount)"
    )
    assert unbalanced == []
    [(accrual_debits,)] = fixture_warehouse.query(
        # payer A/R carries the gross charges; the same journals book the contractual reserve
        "select sum(debit_amount - credit_amount) from marts.mart_erp_journal_lines "
        "where journal_source = 'month_end_accrual' and account_id = '1200'"
    )
    assert accrual_debits == EXPECTED["gross_charges"]
    ids = fixture_warehouse.query("select source_first_id, source_last_id from marts.mart_erp_journal_lines")
    assert not any(i.startswith(("PCN", "MRN")) for pair in ids for i in pair)
    # idempotency keys are deterministic: md5 hex, unique
    keys = [r[0] for r in fixture_warehouse.query("select idempotency_key from marts.mart_erp_journal_lines")]
    assert len(keys) == len(set(keys)) and all(len(k) == 32 for k in keys)


def test_daily_reimbursement_posting(fixture_warehouse) -> None:
    lines = fixture_warehouse.query(
        "select account_id, debit_amount, credit_amount from marts.mart_erp_journal_lines "
        "where journal_id = 'DR-LE1-F100-20250120' order by line_number"
    )
    # F100 on 2025-01-20. C3 (charges 250.00, expected 40% = 100.00, a reserve of 150.00)
    # denied 250: the denial, the release of its reserve (Dr 1290 / Cr 1200 150.00) and a
    # true-up of 0 - 150.00 (Dr 1200 / Cr 4950 150.00).
    # C1 (charges 1,500.00, expected 12,138.60 by its contract, so a reserve of -10,638.60)
    # paid and reversed on the same day with no correction: the reversal carries the payment's
    # CLP identity (CLP01 PCN0000000001 + CLP07 PCCN1), so it posts after it (docs/marts.md,
    # "A/R subledger"): the payment releases the reserve and the reversal re-establishes it,
    # the day releases 0, and its contractual adjustment (400.00 - 400.00) leaves no true-up;
    # payment and patient responsibility net to 0. The reserve of C1 stands, as no
    # adjudication does
    assert lines == [
        ("1200", Decimal("150.00"), Decimal("0.00")),
        ("4950", Decimal("0.00"), Decimal("150.00")),
        ("4910", Decimal("250.00"), Decimal("0.00")),
        ("1200", Decimal("0.00"), Decimal("250.00")),
        ("1290", Decimal("150.00"), Decimal("0.00")),
        ("1200", Decimal("0.00"), Decimal("150.00")),
    ]
    [(c1_reserve,)] = fixture_warehouse.query(
        "select sum(reserve_released_amount) from core.fct_ar_claim_transactions "
        "where claim_id = 'C00000001' and posting_date = date '2025-01-20'"
    )
    assert c1_reserve == Decimal("0.00")


def test_date_dimension_spans_the_data(fixture_warehouse) -> None:
    """dim_date runs from 1 January of the year before the earliest landed date to 31 December of
    the year after the latest (today included), so no fact date falls outside it."""
    import datetime as dt

    [(first, last)] = fixture_warehouse.query("select min(date_day), max(date_day) from core.dim_date")
    [(lo, hi)] = fixture_warehouse.query(
        "select min(d), max(d) from (select encounter_date as d from core.fct_encounters "
        "union all select remit_date from core.fct_remittance_claims "
        "union all select period_start_date from intermediate.int_erp__accounting_periods "
        "union all select period_end_date from intermediate.int_erp__accounting_periods)"
    )
    assert first == dt.date(lo.year - 1, 1, 1)
    assert last == dt.date(max(hi.year, dt.date.today().year) + 1, 12, 31)
    [(days,)] = fixture_warehouse.query("select count(*) from core.dim_date")
    assert days == (last - first).days + 1
