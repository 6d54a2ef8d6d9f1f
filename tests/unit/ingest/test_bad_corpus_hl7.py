"""Every malformed HL7 v2 ADT file in tests/fixtures/bad/hl7/ ends landed, quarantined or unknown as
EXPECTED.csv says, never raises, names the file and the record, and read = accepted + quarantined."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from ingest.landing import connect, ensure_schema, land_file

CORPUS = Path(__file__).parents[2] / "fixtures" / "bad" / "hl7"
EXPECTED = list(csv.DictReader((CORPUS / "EXPECTED.csv").open()))
PRIMARY_TABLE = "raw_ehr.adt_messages"
RECORD_REF = re.compile(r"(message \d+)")


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    """One warehouse for the corpus: each file is its own batch (land_file), checked by batch id."""
    con = connect(tmp_path_factory.mktemp("bad_corpus") / "wh.duckdb")
    ensure_schema(con)
    yield con
    con.close()


def test_corpus_is_complete() -> None:
    files = sorted(p.name for p in CORPUS.iterdir() if p.name != "EXPECTED.csv")
    assert files == sorted(row["file"] for row in EXPECTED)
    assert len(files) >= 30


@pytest.mark.parametrize("case", EXPECTED, ids=lambda row: row["file"])
def test_bad_hl7(warehouse: duckdb.DuckDBPyConnection, case: dict[str, str]) -> None:
    path = CORPUS / case["file"]
    result = land_file(warehouse, path)  # must not raise
    assert result.status == case["expected_status"], result.message
    if result.status == "unknown":
        assert case["reason_code"] == "UNKNOWN_FORMAT"
        assert path.name in result.message
        return
    assert result.records_read == result.records_accepted + result.records_quarantined
    con = warehouse
    batch_id = [result.batch_id]
    batch = con.execute("select rows_read, rows_accepted, rows_quarantined, status from raw_meta.batches "
                        "where batch_id = ?", batch_id).fetchone()
    assert batch == (result.records_read, result.records_accepted, result.records_quarantined, "landed")
    quarantined = con.execute("select record_index, reason_code, message, raw_text from raw_meta.quarantine "
                              "where batch_id = ?", batch_id).fetchall()
    assert len({q[0] for q in quarantined}) == result.records_quarantined
    for index, reason, message, raw in quarantined:
        assert 1 <= index <= result.records_read
        assert re.fullmatch(r"[A-Z][A-Z0-9_]+", reason)
        assert path.name in message and RECORD_REF.search(message), message
        assert raw
    rules = {r for (r,) in con.execute("select rule from raw_meta.validation_findings where batch_id = ?",
                                        batch_id).fetchall()}
    assert case["reason_code"] in {q[1] for q in quarantined} | rules
    landed = con.execute(f"select count(*) from {PRIMARY_TABLE} where _batch_id = ?", batch_id).fetchone()[0]
    assert (landed > 0) == (result.records_accepted > 0)
