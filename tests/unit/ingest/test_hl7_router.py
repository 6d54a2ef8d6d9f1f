"""HL7 v2 routing by message type: ADT, DFT and BAR land side by side from one file; other
types are quarantined with a reason naming the type; ADT-only files take the ADT loader as
before; ``--source adt`` still means HL7."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

import careledger.ingest.hl7.adt as adt
from careledger.ingest.hl7 import router
from careledger.ingest.landing import connect, ensure_schema
from careledger.ingest.run import land_file

MSH = "MSH|^~\\&|EPIC|CARELEDGER GH|CARELEDGER|WAREHOUSE|{ts}||{type}|{ctrl}|P|2.5"
PID = "PID|1||MRN00000001^^^CARELEDGER^MR||OBRIEN^PATTY||19800102|F||||||||||{account}"
PV1 = (
    "PV1|1|I|D-MED^101^A^L-1||||1234567893^SMITH^JOHN|||MED||||7|||||{visit}|SP"
    + "|" * 21
    + "{status}|||20260105080000|{discharge}"
)


def seg(sid: str, fields: dict[int, str]) -> str:
    """A segment with the given fields (1-based positions) and empty ones between."""
    last = max(fields)
    return "|".join([sid] + [fields.get(n, "") for n in range(1, last + 1)])


def ft1(n: int, *, amount: str, unit: str, qty: str, cpt: str, date: str = "20260105", ttype: str = "CG") -> str:
    return seg(
        "FT1",
        {
            1: str(n),
            2: f"TX{n:04d}",
            3: "B20260105",
            4: date,
            5: date,
            6: ttype,
            7: f"CDM{n}^CHARGE {n}^CDM",
            10: qty,
            11: amount,
            12: unit,
            13: "MED^Medicine",
            20: "1234567893",
            21: "1588667638",
            25: f"{cpt}^^CPT",
            26: "26~59",
        },
    )


def dft(ctrl: str, visit: str, charges: list[str], extra: list[str] | None = None) -> str:
    return "\r".join(
        [
            MSH.format(ts="20260105150000", type="DFT^P03^DFT_P03", ctrl=ctrl),
            "EVN|P03|20260105150000",
            PID.format(account="ACCT-" + visit),
            PV1.format(visit=visit, status="", discharge=""),
            *charges,
            *(extra or []),
        ]
    )


def bar(ctrl: str, trigger: str, visit: str, codes: list[str]) -> str:
    return "\r".join(
        [
            MSH.format(ts="20260107100000", type=f"BAR^{trigger}^BAR_{trigger}", ctrl=ctrl),
            f"EVN|{trigger}|20260107100000",
            PID.format(account="ACCT-" + visit),
            PV1.format(visit=visit, status="DISCH", discharge="20260107093000"),
            *codes,
        ]
    )


ADT_A01 = "\r".join(
    [
        MSH.format(ts="20260105083000", type="ADT^A01^ADT_A01", ctrl="ADT0001"),
        "EVN|A01|20260105083000",
        PID.format(account="ACCT-V1"),
        PV1.format(visit="V1", status="", discharge=""),
        "DG1|1|I10|I20.9^Angina^I10||20260105|A",
    ]
)
ADT_A03 = ADT_A01.replace("ADT^A01^ADT_A01", "ADT^A03^ADT_A03").replace("ADT0001", "ADT0002")
DFT_1 = dft(
    "DFT0001",
    "V1",
    [
        ft1(1, amount="125.00", unit="125.00", qty="1", cpt="93000"),
        "PR1|1|CPT|93000^ECG^CPT||20260105090000",
        ft1(2, amount="90.10", unit="45.05", qty="2", cpt="85025"),
    ],
    ["DG1|1|I10|I20.9^Angina^I10||20260105|A"],
)
DFT_2 = dft("DFT0002", "V2", [ft1(1, amount="1,200.50", unit="1200.50", qty="1", cpt="99223", date="20260106")])
BAR_P01 = bar("BAR0001", "P01", "V1", ["DG1|1|I10|I20.9^Angina^I10||20260105|A"])
BAR_P12 = bar(
    "BAR0002",
    "P12",
    "V1",
    [
        "DG1|1|I10|I21.4^NSTEMI^I10||20260107|F" + "|" * 15 + "U",
        "PR1|1|CPT|93000^ECG^CPT||20260105090000",
    ],
)
ORU = ADT_A01.replace("ADT^A01^ADT_A01", "ORU^R01^ORU_R01").replace("ADT0001", "ORU0001")


def write(tmp_path: Path, name: str, *messages: str) -> Path:
    path = tmp_path / name
    path.write_bytes(("\r".join(messages) + "\r").encode())
    return path


@pytest.fixture
def con(tmp_path: Path):
    con = connect(tmp_path / "w.duckdb")
    ensure_schema(con)
    yield con
    con.close()


def test_dft_charges_land_with_exact_amounts_and_lineage(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    result = land_file(con, write(tmp_path, "charges.hl7", DFT_1, DFT_2))
    assert (result.status, result.format, result.records_read, result.records_accepted) == ("landed", "hl7", 2, 2)
    charges = con.execute(
        "select message_control_id, visit_number, set_id, transaction_date, transaction_type, quantity, "
        "extended_amount, unit_amount, procedure_code, modifiers, performed_by_npi, _source_record "
        "from raw_ehr.dft_charges order by _source_record, set_id"
    ).fetchall()
    assert [c[:2] + c[5:8] + c[8:10] + (c[-1],) for c in charges] == [
        ("DFT0001", "V1", Decimal("1.000"), Decimal("125.00"), Decimal("125.00"), "93000", "26,59", 1),
        ("DFT0001", "V1", Decimal("2.000"), Decimal("90.10"), Decimal("45.05"), "85025", "26,59", 1),
        ("DFT0002", "V2", Decimal("1.000"), Decimal("1200.50"), Decimal("1200.50"), "99223", "26,59", 2),
    ]
    assert str(charges[2][3]) == "2026-01-06" and charges[0][4] == "CG" and charges[0][10] == "1234567893"
    (total,) = con.execute("select sum(extended_amount) from raw_ehr.dft_charges").fetchone()
    assert total == Decimal("1415.60")
    assert con.execute(
        "select message_control_id, charge_count, account_number from raw_ehr.dft_messages order by 1"
    ).fetchall() == [("DFT0001", 2, "ACCT-V1"), ("DFT0002", 1, "ACCT-V2")]
    # the PR1 belongs to the FT1 it follows
    assert con.execute("select charge_set_id, procedure_code from raw_ehr.dft_procedures").fetchall() == [(1, "93000")]
    assert con.execute("select diagnosis_code from raw_ehr.dft_diagnoses").fetchall() == [("I20.9",)]
    (batch,) = con.execute("select distinct _batch_id from raw_ehr.dft_charges").fetchone()
    assert batch == result.batch_id


def test_bar_accounts_and_codes_land_as_events(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    result = land_file(con, write(tmp_path, "accounts.hl7", BAR_P01, BAR_P12))
    assert (result.status, result.records_read, result.records_accepted) == ("landed", 2, 2)
    assert con.execute(
        "select trigger_event, account_number, visit_number, account_status, financial_class, discharge_at::varchar "
        "from raw_ehr.bar_accounts order by _source_record"
    ).fetchall() == [
        ("P01", "ACCT-V1", "V1", "DISCH", "SP", "2026-01-07 09:30:00"),
        ("P12", "ACCT-V1", "V1", "DISCH", "SP", "2026-01-07 09:30:00"),
    ]
    assert con.execute(
        "select message_control_id, diagnosis_code, action_code from raw_ehr.bar_diagnoses order by 1"
    ).fetchall() == [("BAR0001", "I20.9", None), ("BAR0002", "I21.4", "U")]
    assert con.execute("select procedure_code, visit_number from raw_ehr.bar_procedures").fetchall() == [
        ("93000", "V1")
    ]


def test_one_feed_routes_each_message_to_its_loader(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    garbled = "MSH|^~\\&|EPIC\rthis is not a segment"
    mixed = write(tmp_path, "feed.hl7", ADT_A01, DFT_1, ORU, BAR_P01, garbled, ADT_A03)
    result = land_file(con, mixed)
    assert (result.records_read, result.records_accepted, result.records_quarantined) == (6, 4, 2)
    quarantine = con.execute("select record_index, reason_code, message from raw_meta.quarantine order by 1").fetchall()
    assert [(q[0], q[1]) for q in quarantine] == [(3, "UNSUPPORTED_MESSAGE_TYPE"), (5, "UNPARSEABLE_SEGMENT")]
    assert "MSH-9 is ORU^R01" in quarantine[0][2] and "no loader for ORU messages" in quarantine[0][2]
    counts = {
        t: con.execute(f"select list(_source_record order by _source_record) from {t}").fetchone()[0]
        for t in ("raw_ehr.adt_messages", "raw_ehr.dft_messages", "raw_ehr.bar_accounts")
    }
    assert counts == {"raw_ehr.adt_messages": [1, 6], "raw_ehr.dft_messages": [2], "raw_ehr.bar_accounts": [4]}


def test_adt_rows_from_a_mixed_feed_equal_an_adt_only_file(tmp_path: Path) -> None:
    """The ADT part of a routed file lands exactly as the ADT loader lands it alone."""
    cols = "* exclude (_batch_id, _source_file, _loaded_at, _source_record)"
    rows = []
    for name, messages in (("alone", (ADT_A01, ADT_A03)), ("mixed", (ADT_A01, DFT_1, ADT_A03))):
        con = connect(tmp_path / f"{name}.duckdb")
        ensure_schema(con)
        land_file(con, write(tmp_path, f"{name}.hl7", *messages))
        rows.append({t: con.execute(f"select {cols} from {t} order by all").fetchall() for t in adt.TABLES.values()})
        con.close()
    assert rows[0] == rows[1] and rows[0]["raw_ehr.adt_messages"]


def test_adt_only_files_take_the_adt_loader(tmp_path: Path, con: duckdb.DuckDBPyConnection, monkeypatch) -> None:
    calls: list[str] = []
    real = adt.load
    monkeypatch.setattr(adt, "load", lambda ctx: calls.append(ctx.path.name) or real(ctx))
    # a patient called BARBARA: the word appears, but no BAR message does
    land_file(con, write(tmp_path, "adt.hl7", ADT_A01.replace("PATTY", "BARBARA"), ORU))
    assert calls == ["adt.hl7"]
    (reason,) = con.execute("select message from raw_meta.quarantine").fetchone()
    assert "ORU^R01" in reason


def test_financial_findings_keep_the_message(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    bad = dft(
        "DFT0009",
        "",
        [
            ft1(1, amount="12O.00", unit="120.00", qty="1", cpt="93000"),
            ft1(2, amount="50.00", unit="20.00", qty="2", cpt="1"),
        ],
    )
    empty = dft("DFT0010", "V3", [])
    result = land_file(con, write(tmp_path, "bad.hl7", bad, empty))
    assert result.records_accepted == 2
    rules = {r for (r,) in con.execute("select rule from raw_meta.validation_findings").fetchall()}
    assert {"BAD_NUMBER", "AMOUNT_MISMATCH", "MISSING_FT1", "MISSING_VISIT_NUMBER"} <= rules
    assert con.execute("select extended_amount from raw_ehr.dft_charges order by set_id").fetchall() == [
        (None,),
        (Decimal("50.00"),),
    ]


def test_source_adt_is_an_alias_for_hl7(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    result = land_file(con, write(tmp_path, "charges.hl7", DFT_2), source="adt")
    assert (result.status, result.format) == ("landed", "hl7")


def test_every_routed_table_is_in_the_schema(con: duckdb.DuckDBPyConnection) -> None:
    tables = {f"{s}.{t}" for s, t in con.execute("select schema_name, table_name from duckdb_tables()").fetchall()}
    assert set(router.TABLES) <= tables
