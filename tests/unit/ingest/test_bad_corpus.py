"""The bad-input corpus: tests/fixtures/bad/<family>/ (each made by tests/fixtures/bad/make_<family>.py).

For every malformed file, in every format family: landing raises nothing; the file ends landed,
quarantined or unknown as EXPECTED.csv says; read = accepted + quarantined (in the report and in
raw_meta.batches); every quarantine message names the file and the record; and the expected
reason code shows up among the quarantine reasons or validation findings.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from careledger.ingest.landing import connect, ensure_schema
from careledger.ingest.run import land_file

BAD = Path(__file__).resolve().parents[2] / "fixtures" / "bad"


@dataclass(frozen=True)
class Family:
    name: str
    primary_table: str
    record_ref: str  # how a message names a record, {i} = the record index


FAMILIES = {
    "fhir": Family("fhir", "raw_ehr.fhir_resources", r"(line|entry) {i}:"),
    "csv": Family("csv", "", r"(line|entry) {i}:"),
    "hl7": Family("hl7", "raw_ehr.adt_messages", r"message {i}\b"),
    "x12": Family("x12", "raw_billing.remit_payments", r"(transaction set|record) {i}\b"),
}


def _cases() -> list[tuple[str, dict[str, str]]]:
    cases = []
    for fam in FAMILIES:
        for row in csv.DictReader((BAD / fam / "EXPECTED.csv").open()):
            cases.append((fam, row))
    return cases


CASES = _cases()


@pytest.mark.parametrize("family", FAMILIES)
def test_corpus_is_complete(family: str) -> None:
    files = sorted(p.name for p in (BAD / family).iterdir() if p.name != "EXPECTED.csv")
    expected = sorted(row["file"] for fam, row in CASES if fam == family)
    assert files == expected
    assert len(files) >= 30


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory):
    """One warehouse for the whole corpus: each file is its own batch, checked by batch id."""
    con = connect(tmp_path_factory.mktemp("bad_corpus") / "wh.duckdb")
    ensure_schema(con)
    yield con
    con.close()


@pytest.mark.parametrize("family, case", CASES, ids=[f"{f}/{c['file']}" for f, c in CASES])
def test_bad_file_is_handled(warehouse: duckdb.DuckDBPyConnection, family: str, case: dict[str, str]) -> None:
    fam = FAMILIES[family]
    path = BAD / family / case["file"]
    expected_code = case.get("expected_code") or case["reason_code"]
    result = land_file(warehouse, path)  # must not raise
    if case.get("expected_status"):
        assert result.status == case["expected_status"], result.message
    if result.status == "unknown":
        assert expected_code == "UNKNOWN_FORMAT", result.message
        assert path.name in result.message
        return
    assert result.status in ("landed", "quarantined"), result
    assert result.records_read == result.records_accepted + result.records_quarantined
    batch = warehouse.execute(
        "select rows_read, rows_accepted, rows_quarantined, status from raw_meta.batches where batch_id = ?",
        [result.batch_id],
    ).fetchone()
    assert batch == (result.records_read, result.records_accepted, result.records_quarantined, "landed")
    quarantined = warehouse.execute(
        "select record_index, reason_code, message, raw_text from raw_meta.quarantine where batch_id = ?",
        [result.batch_id],
    ).fetchall()
    assert len({q[0] for q in quarantined}) == result.records_quarantined
    for index, reason, message, _raw in quarantined:
        assert 1 <= index <= max(result.records_read, 1)
        assert re.fullmatch(r"[A-Z][A-Z0-9_]+", reason)
        assert path.name in message, message
        assert re.search(fam.record_ref.format(i=index), message), message
    rules = {
        r
        for (r,) in warehouse.execute(
            "select rule from raw_meta.validation_findings where batch_id = ?", [result.batch_id]
        ).fetchall()
    }
    assert expected_code in {q[1] for q in quarantined} | rules
    if fam.primary_table:
        landed = warehouse.execute(
            f"select count(*) from {fam.primary_table} where _batch_id = ?", [result.batch_id]
        ).fetchone()[0]
        assert (landed > 0) == (result.records_accepted > 0)
