"""The malformed CSV/JSON export corpus (tests/fixtures/bad/csv, see make_csv.py): one parametrized test.

For every file: landing raises nothing; the file ends landed / quarantined, or unknown with a
reason naming the file; read = accepted + quarantined; every quarantine and finding message
names the file and the record; and the code listed in EXPECTED.csv shows up.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import duckdb
import pytest

from ingest.landing import connect, ensure_schema, land_file

FAMILY = "csv"
CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "bad" / FAMILY
EXPECTED = {row["file"]: row["expected_code"] for row in csv.DictReader((CORPUS / "EXPECTED.csv").open())}
FILES = sorted(p.name for p in CORPUS.iterdir() if p.name != "EXPECTED.csv")


def test_corpus_is_complete() -> None:
    assert len(FILES) >= 30
    assert set(FILES) == set(EXPECTED)


@pytest.fixture(scope="module")
def landed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    wh = tmp_path_factory.mktemp(f"bad_{FAMILY}") / "wh.duckdb"
    con = connect(wh)
    ensure_schema(con)
    out = {}
    for name in FILES:
        try:
            result = land_file(con, CORPUS / name)
        except Exception as exc:  # the test reports it per file
            out[name] = exc
            continue
        q = con.execute("select record_index, reason_code, message from raw_meta.quarantine where batch_id = ?",
                        [result.batch_id]).fetchall()
        f = con.execute("select record_index, rule, message from raw_meta.validation_findings where batch_id = ?",
                        [result.batch_id]).fetchall()
        out[name] = (result, q, f)
    con.close()
    return out


@pytest.mark.parametrize("name", FILES)
def test_bad_file_is_handled(landed: dict, name: str) -> None:
    got = landed[name]
    assert not isinstance(got, Exception), f"{name} raised {got!r}"
    result, quarantined, findings = got
    expected = EXPECTED[name]
    if result.status == "unknown":
        assert expected == "UNKNOWN_FORMAT", result.message
        assert name in result.message
        return
    assert result.status in ("landed", "quarantined"), result
    assert result.records_read == result.records_accepted + result.records_quarantined
    assert result.records_quarantined == len({r[0] for r in quarantined})
    for idx, _, message in quarantined:
        assert message.startswith(f"{name} "), message
        assert re.match(rf"{re.escape(name)} (line|entry) {idx}:", message), message
    for idx, _, message in findings:
        assert message.startswith(f"{name}"), message
        if idx:
            assert re.match(rf"{re.escape(name)} (line|entry) {idx}:", message), message
    codes = {r[1] for r in quarantined} | {r[1] for r in findings}
    assert expected in codes, (codes, quarantined, findings)
