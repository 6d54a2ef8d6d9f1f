"""BAI2 loader: details land with exact amounts, broken details are quarantined, control
totals and counts that do not add up are findings, and detection recognises the format."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb

from careledger.ingest.detect import detect
from careledger.ingest.run import ingest_paths

GOOD = """01,071000013,CARELEDGER,260306,0600,7,,,2/
02,CARELEDGER,071000013,1,260305,2400,USD,2/
03,4410000010,USD,100,146692,2,/
16,165,134692,0,0000000001,2603040000085,TRN*1*2603040000085*1473100000\\
16,115,12000,V,260306,0800,0000000002,LBXLE1020260305,LOCKBOX
88,DEPOSIT
49,293384,5/
98,293384,1,7/
99,293384,1,9/
"""


def _land(tmp_path: Path, text: str, name: str = "LE10_20260305.bai"):
    f = tmp_path / name
    f.write_text(text)
    report = ingest_paths(tmp_path / "wh.duckdb", [f])
    return duckdb.connect(str(tmp_path / "wh.duckdb")), report.files[0]


def test_detects_bai2_from_the_file_header(tmp_path: Path) -> None:
    f = tmp_path / "deposits.txt"
    f.write_text(GOOD)
    d = detect(f)
    assert (d.format, d.kind) == ("bai2", None)


def test_good_file_lands_every_detail_with_exact_amounts(tmp_path: Path) -> None:
    con, result = _land(tmp_path, GOOD)
    assert (result.status, result.records_read, result.records_accepted) == ("landed", 2, 2)
    rows = con.execute(
        "select type_code, amount, funds_type, bank_reference, customer_reference, detail_text, "
        "account_number, as_of_date::varchar, is_credit, _source_record from raw_bank.bai2_transactions "
        "order by _source_record"
    ).fetchall()
    assert rows == [
        (
            "165",
            Decimal("1346.92"),
            "0",
            "0000000001",
            "2603040000085",
            "TRN*1*2603040000085*1473100000\\",
            "4410000010",
            "2026-03-05",
            True,
            1,
        ),
        (
            "115",
            Decimal("120.00"),
            "V",
            "0000000002",
            "LBXLE1020260305",
            "LOCKBOX,DEPOSIT",
            "4410000010",
            "2026-03-05",
            True,
            2,
        ),
    ]
    assert con.execute("select count(*) from raw_meta.validation_findings").fetchone()[0] == 0


def test_bad_detail_is_quarantined_and_the_rest_lands(tmp_path: Path) -> None:
    bad = GOOD.replace("16,165,134692,", "16,165,13469X,")
    con, result = _land(tmp_path, bad)
    assert (result.records_read, result.records_accepted, result.records_quarantined) == (2, 1, 1)
    (reason, message) = con.execute("select reason_code, message from raw_meta.quarantine").fetchone()
    assert reason == "BAI2_BAD_AMOUNT" and "line 4" in message and "LE10_20260305.bai" in message
    # the control totals no longer add up without the quarantined amount: a finding, not a failure
    rules = {r for (r,) in con.execute("select rule from raw_meta.validation_findings").fetchall()}
    assert "BAI2_CONTROL_TOTAL" in rules


def test_truncated_file_lands_what_is_there_with_findings(tmp_path: Path) -> None:
    truncated = "\n".join(GOOD.splitlines()[:4]) + "\n"
    con, result = _land(tmp_path, truncated)
    assert (result.status, result.records_accepted) == ("landed", 1)
    rules = {r for (r,) in con.execute("select rule from raw_meta.validation_findings").fetchall()}
    assert rules == {"BAI2_NO_FILE_TRAILER"}


def test_detail_before_any_account_is_quarantined(tmp_path: Path) -> None:
    text = GOOD.replace("03,4410000010,USD,100,146692,2,/\n", "")
    con, result = _land(tmp_path, text)
    assert result.records_quarantined == 2
    assert {r for (r,) in con.execute("select reason_code from raw_meta.quarantine").fetchall()} == {"BAI2_NO_ACCOUNT"}


def test_simulated_bank_folder_lands_whole(tmp_path: Path) -> None:
    from datetime import date

    from careledger.simulator.simulator import synthesize

    out = synthesize(tmp_path / "s", encounters=150, seed=3, start_date=date(2026, 1, 1), days=45, facilities=2)
    report = ingest_paths(tmp_path / "wh.duckdb", [out.out_dir / "bank", out.out_dir / "billing/patient_transactions"])
    assert {f.status for f in report.files} == {"landed"}
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    total = con.execute("select sum(amount) from raw_bank.bai2_transactions").fetchone()[0]
    written = sum(
        Decimal(line.split(",")[2]) / 100
        for f in (out.out_dir / "bank/bai2").glob("*.bai")
        for line in f.read_text().splitlines()
        if line.startswith("16,")
    )
    assert total == written
    assert con.execute("select count(*) from raw_meta.validation_findings").fetchone()[0] == 0
    assert con.execute("select count(*) from raw_billing.patient_transactions").fetchone()[0] > 0
