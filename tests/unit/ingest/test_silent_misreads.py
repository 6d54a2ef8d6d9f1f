"""Silent misreads (#23): inputs that used to land wrong or vanish without a word.

Each test is the reproduction of one case: a valid RFC 4180 CSV whose last column holds line
breaks lands whole; a FHIR Bundle whose ``entry`` is an object (or empty) says so; an amount with
more decimals than its column is a finding naming file, record and value; a claim line repeated
with another amount and a FHIR id repeated with other content land with a finding.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from careledger.ingest.run import ingest_paths

REPO = Path(__file__).resolve().parents[3]
CLAIMS = (REPO / "tests" / "fixtures" / "csv" / "billing" / "claims_20260105.csv").read_text().splitlines()
HEADER, ROWS = CLAIMS[0], CLAIMS[1:]
COLUMNS = HEADER.split(",")


def line(row: int, **values: str) -> str:
    fields = ROWS[row].split(",")
    for name, value in values.items():
        fields[COLUMNS.index(name)] = value
    return ",".join(fields)


def query(warehouse: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def findings(warehouse: Path) -> list[tuple]:
    return query(
        warehouse, "select rule, record_index, severity, message from raw_meta.validation_findings order by 1, 2"
    )


@pytest.mark.parametrize("line_end", ["\n", "\r\n"])
def test_multi_line_quoted_last_column_lands_whole(tmp_path: Path, line_end: str) -> None:
    first = line(0).rsplit(",", 1)[0] + ',"M17.11' + line_end + "left knee" + line_end + 'primary"'
    path = tmp_path / "claims_multiline.csv"
    path.write_bytes(line_end.join([HEADER, first, line(1)]).encode() + line_end.encode())
    report = ingest_paths(tmp_path / "wh.duckdb", [path])
    f = report.files[0]
    assert (f.status, f.records_read, f.records_accepted, f.records_quarantined) == ("landed", 2, 2, 0)
    rows = query(
        tmp_path / "wh.duckdb",
        "select _source_record, line_number, principal_diagnosis_code from raw_billing.claim_lines order by 1",
    )
    # record index = physical line of the record's first line - 1
    assert rows == [(1, 1, "M17.11\nleft knee\nprimary"), (4, 2, "M17.11")]
    assert query(tmp_path / "wh.duckdb", "select count(*) from raw_meta.quarantine") == [(0,)]


def test_a_stray_quote_inside_one_line_still_lands_that_line(tmp_path: Path) -> None:
    path = tmp_path / "claims_stray_quote.csv"
    path.write_text("\n".join([HEADER, line(0, principal_diagnosis_code='M17.11 5" scar'), line(1)]) + "\n")
    f = ingest_paths(tmp_path / "wh.duckdb", [path]).files[0]
    assert (f.records_read, f.records_accepted, f.records_quarantined) == (2, 2, 0)
    assert query(tmp_path / "wh.duckdb", "select principal_diagnosis_code from raw_billing.claim_lines order by 1") == [
        ("M17.11",),
        ('M17.11 5" scar',),
    ]


def test_bundle_whose_entry_is_an_object_lands_its_entry_with_a_finding(tmp_path: Path) -> None:
    patient = {"resourceType": "Patient", "id": "p1", "gender": "female"}
    (tmp_path / "bundle_object.json").write_text(
        json.dumps({"resourceType": "Bundle", "type": "collection", "entry": {"resource": patient}})
    )
    (tmp_path / "bundle_empty.json").write_text(json.dumps({"resourceType": "Bundle", "type": "collection"}))
    (tmp_path / "bundle_string.json").write_text(
        json.dumps({"resourceType": "Bundle", "type": "collection", "entry": "Patient/p2"})
    )
    report = ingest_paths(tmp_path / "wh.duckdb", [tmp_path])
    got = {Path(f.path).name: (f.records_read, f.records_accepted, f.records_quarantined) for f in report.files}
    assert got == {"bundle_object.json": (1, 1, 0), "bundle_empty.json": (0, 0, 0), "bundle_string.json": (1, 0, 1)}
    assert query(tmp_path / "wh.duckdb", "select resource_type, resource_id from raw_ehr.fhir_resources") == [
        ("Patient", "p1")
    ]
    assert query(tmp_path / "wh.duckdb", "select reason_code from raw_meta.quarantine") == [("NO_RESOURCE",)]
    rules = {(rule, severity) for rule, _, severity, _ in findings(tmp_path / "wh.duckdb")}
    assert {("BUNDLE_ENTRY_NOT_ARRAY", "warning"), ("BUNDLE_EMPTY", "info")} <= rules


def test_amount_with_three_decimals_is_a_finding(tmp_path: Path) -> None:
    path = tmp_path / "claims_decimals.csv"
    path.write_text(
        "\n".join([HEADER, line(0, charge_amount="651.005"), line(1, charge_amount="10.250"), line(2)]) + "\n"
    )
    f = ingest_paths(tmp_path / "wh.duckdb", [path]).files[0]
    assert (f.records_accepted, f.records_quarantined) == (3, 0)
    assert findings(tmp_path / "wh.duckdb") == [
        (
            "AMOUNT_ROUNDED",
            1,
            "warning",
            "claims_decimals.csv line 1: charge_amount '651.005' has 3 decimals and the column holds 2: "
            "landed as 651.01",
        ),
        (
            "AMOUNT_ROUNDED",
            2,
            "warning",
            "claims_decimals.csv line 2: charge_amount '10.250' has 3 decimals and the column holds 2: landed as 10.25",
        ),
    ]


def test_claim_line_repeated_with_another_amount_is_a_finding(tmp_path: Path) -> None:
    path = tmp_path / "claims_repeat.csv"
    repeated = [line(2, charge_amount="651.00"), line(2, charge_amount="651.00"), line(2, charge_amount="751.00")]
    path.write_text("\n".join([HEADER, *repeated]) + "\n")
    f = ingest_paths(tmp_path / "wh.duckdb", [path]).files[0]
    assert (f.records_read, f.records_accepted) == (3, 3)
    # the exact repeat (line 2) has no finding; the changed one names both lines and both amounts
    assert findings(tmp_path / "wh.duckdb") == [
        (
            "DUPLICATE_KEY_CONFLICT",
            3,
            "warning",
            "claims_repeat.csv line 3: claim_id C00000002, line_number 1 is also on line 1 with other values "
            "(charge_amount 651.00 there, 751.00 here); both land and the later line counts",
        )
    ]
    assert query(tmp_path / "wh.duckdb", "select charge_amount from raw_billing.claim_lines order by 1") == [
        (Decimal("651.00"),),
        (Decimal("651.00"),),
        (Decimal("751.00"),),
    ]


def test_fhir_id_repeated_with_other_content_is_a_finding(tmp_path: Path) -> None:
    p1 = {"resourceType": "Patient", "id": "p1", "gender": "male"}
    p1_changed = {**p1, "gender": "female"}
    # another lastUpdated is a later version (history), not a conflict
    p2 = {"resourceType": "Patient", "id": "p2", "meta": {"lastUpdated": "2026-01-01T00:00:00Z"}}
    p2_later = {**p2, "meta": {"lastUpdated": "2026-01-02T00:00:00Z"}, "gender": "male"}
    path = tmp_path / "Patient.ndjson"
    path.write_text("\n".join(json.dumps(r) for r in (p1, p1, p1_changed, p2, p2_later)) + "\n")
    f = ingest_paths(tmp_path / "wh.duckdb", [path]).files[0]
    assert (f.records_read, f.records_accepted) == (5, 5)
    assert [(rule, idx, message) for rule, idx, _, message in findings(tmp_path / "wh.duckdb")] == [
        (
            "DUPLICATE_ID_CONFLICT",
            3,
            "Patient.ndjson line 3: Patient id 'p1' is also at line 1 with other content and the same version "
            "(meta.versionId none, meta.lastUpdated none); both land and the warehouse cannot tell which is "
            "current: ask the sender for one version",
        )
    ]
