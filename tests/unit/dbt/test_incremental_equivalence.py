"""Incremental and full-refresh builds of the incremental facts give the same rows."""

from __future__ import annotations

import os
from datetime import datetime
from decimal import Decimal

import duckdb
from dbt_raw_fixture import _insert

INCREMENTAL_FACTS = ["fct_claim_lines", "fct_remittance_lines"]
LATER = datetime(2025, 3, 1, 6, 0, 0)


def _land_second_batch(warehouse) -> None:
    con = duckdb.connect(str(warehouse))
    try:
        base = dict(
            claim_frequency_code="1",
            original_claim_id=None,
            patient_control_number="PCN0000000006",
            encounter_id="V00000001",
            patient_mrn="MRN00000001",
            member_id="X",
            payer_code="PYR001",
            billing_npi="1234567893",
            rendering_npi="1234567893",
            facility_code="FAC01",
            department_code="D0001",
            claim_type="P",
            bill_type=None,
            drg_code=None,
            admit_date=None,
            discharge_date=None,
            statement_from_date="2025-02-03",
            statement_to_date="2025-02-03",
            submitted_date="2025-02-05",
            service_date="2025-02-03",
            modifiers=None,
            revenue_code=None,
            units=Decimal("1"),
            place_of_service="11",
            principal_diagnosis_code="I10",
            _loaded_at=LATER,
        )
        _insert(
            con,
            "raw_billing.claim_lines",
            [
                dict(
                    base, claim_id="C00000006", line_number=1, procedure_code="99213", charge_amount=Decimal("150.00")
                ),
                dict(base, claim_id="C00000006", line_number=2, procedure_code="80053", charge_amount=Decimal("45.00")),
            ],
            batch="b_fixture_claims_2",
        )
        _insert(
            con,
            "raw_billing.remit_service_lines",
            [
                dict(
                    interchange_control_number="000000002",
                    transaction_set_control_number="0001",
                    trace_number="TRN0002",
                    claim_seq=1,
                    line_seq=1,
                    procedure_qualifier="HC",
                    procedure_code="99213",
                    modifiers=None,
                    charge_amount=Decimal("150.00"),
                    payment_amount=Decimal("90.00"),
                    revenue_code=None,
                    units=Decimal("1"),
                    service_date="2025-02-03",
                    line_item_control_number="C00000006-1",
                    allowed_amount=Decimal("90.00"),
                    _loaded_at=LATER,
                ),
            ],
            batch="b_fixture_835_2",
        )
    finally:
        con.close()


def _rows(warehouse, model: str) -> list[tuple]:
    con = duckdb.connect(str(warehouse))
    try:
        return con.execute(f"select * from core.{model} order by all").fetchall()
    finally:
        con.close()


def test_incremental_matches_full_refresh(fixture_warehouse, tmp_path) -> None:
    from careledger.orchestration.dbt_runner import run_dbt

    wh = fixture_warehouse.copy_to(tmp_path / "home")
    before = {m: len(_rows(wh.warehouse, m)) for m in INCREMENTAL_FACTS}
    _land_second_batch(wh.warehouse)
    previous = os.environ.get("CARELEDGER_HOME")
    target = ["--target-path", str(tmp_path / "target")]
    try:
        run_dbt(["run", "--select", *[f"+{m}" for m in INCREMENTAL_FACTS], *target], home=wh.home)
        incremental = {m: _rows(wh.warehouse, m) for m in INCREMENTAL_FACTS}
        run_dbt(["run", "--full-refresh", "--select", *INCREMENTAL_FACTS, *target], home=wh.home)
        full = {m: _rows(wh.warehouse, m) for m in INCREMENTAL_FACTS}
    finally:
        if previous is None:
            os.environ.pop("CARELEDGER_HOME", None)
        else:
            os.environ["CARELEDGER_HOME"] = previous
    assert len(incremental["fct_claim_lines"]) == before["fct_claim_lines"] + 2
    assert len(incremental["fct_remittance_lines"]) == before["fct_remittance_lines"] + 1
    for m in INCREMENTAL_FACTS:
        assert incremental[m] == full[m], f"{m}: incremental and full-refresh builds differ"
