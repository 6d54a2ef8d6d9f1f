"""Regressions for what the parser fuzzing found (tests/unit/ingest/test_fuzz_parsers.py,
docs/reliability.md "Fuzzing") and for the accepted values that used to break the build.

- Mixed line ends (``\\r\\n`` and ``\\n`` in one file, or a lone ``\\r``) made DuckDB's line scan
  fail inside the landing transaction, so the whole file failed: a quoted CSV export, FHIR
  NDJSON and denial NDJSON. Such files now take the exact line parser.
- A BAI2 detail amount over decimal(18, 2) made the whole file fail; it is now quarantined.
- A FHIR date or instant the warehouse casts but cannot read (a birthDate ``2025-02-30`` or the
  JSON number ``19800101``, a period.start ``2025-13-45T99:99:99Z``) lands with a finding.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from careledger.ingest.lines import LineEnds, line_ends_uniform
from careledger.ingest.run import ingest_paths

FIXTURES = Path(__file__).parents[2] / "fixtures"


def _land(tmp_path: Path, name: str, data: bytes):
    f = tmp_path / name
    f.write_bytes(data)
    report = ingest_paths(tmp_path / "wh.duckdb", [f])
    (result,) = report.files
    return result, duckdb.connect(str(tmp_path / "wh.duckdb"))


@pytest.mark.parametrize(
    "data, uniform",
    [
        (b"a\nb\n", True),
        (b"a\r\nb\r\n", True),
        (b"a\r\nb", True),
        (b"a\r\nb\nc\r\n", False),
        (b"a\rb\n", False),
        (b"a\r", False),
        (b"", True),
    ],
)
def test_line_ends_are_uniform_only_when_of_one_kind(data: bytes, uniform: bool) -> None:
    assert line_ends_uniform(data) is uniform


def test_line_ends_count_a_crlf_split_across_chunks() -> None:
    ends = LineEnds()
    for chunk in (b"a\r", b"\nb\r", b"\n"):
        ends.add(chunk)
    assert ends.uniform


def test_quoted_csv_with_mixed_line_ends_lands(tmp_path: Path) -> None:
    """The fuzzer's case (a chart of accounts with CRLF and LF rows and a quoted field) failed the
    whole file with "The CSV Parser state machine reached an invalid state"."""
    header, *rows = (FIXTURES / "csv" / "erp" / "chart_of_accounts.csv").read_bytes().splitlines()
    first, rest = rows[0].split(b",", 1)
    rows[0] = b'"' + first + b'",' + rest
    data = header + b"\r\n" + rows[0] + b"\r\n" + b"\n".join(rows[1:]) + b"\n"
    result, con = _land(tmp_path, "coa.csv", data)
    assert (result.status, result.records_read, result.records_accepted) == ("landed", len(rows), len(rows))
    landed = con.execute("select account_id from raw_erp.chart_of_accounts order by _source_record").fetchall()
    assert [r[0].encode() for r in landed] == [row.split(b",")[0].strip(b'"') for row in rows]


def test_claims_export_with_mixed_line_ends_lands_every_row(tmp_path: Path) -> None:
    header, *rows = (FIXTURES / "csv" / "billing" / "claims_20260105.csv").read_bytes().splitlines()
    # CRLF for the header and first row, LF after, and one quoted field (a quote sends a file to
    # DuckDB's scan, which failed on the mixed line ends)
    first, rest = rows[0].split(b",", 1)
    rows[0] = b'"' + first + b'",' + rest
    data = header + b"\r\n" + rows[0] + b"\r\n" + b"\n".join(rows[1:]) + b"\n"
    result, con = _land(tmp_path, "claims_mixed.csv", data)
    assert result.status == "landed", result.message
    assert result.records_read == len(rows)
    assert result.records_accepted + result.records_quarantined == len(rows)
    landed = con.execute("select count(*) from raw_billing.claim_lines").fetchone()[0]
    assert landed == result.records_accepted


def test_fhir_ndjson_with_mixed_line_ends_lands_every_resource(tmp_path: Path) -> None:
    lines = [ln for ln in (FIXTURES / "fhir" / "Encounter.ndjson").read_bytes().splitlines() if ln.strip()]
    data = b"\r\n".join(lines[:1]) + b"\r\n" + b"\n".join(lines[1:]) + b"\n"
    result, con = _land(tmp_path, "enc_mixed.ndjson", data)
    assert (result.status, result.records_read, result.records_accepted) == ("landed", len(lines), len(lines))
    ids = [
        r[0] for r in con.execute("select resource_id from raw_ehr.fhir_resources order by _source_record").fetchall()
    ]
    assert ids == [json.loads(ln)["id"] for ln in lines]


def test_denial_ndjson_with_mixed_line_ends_lands_every_event(tmp_path: Path) -> None:
    lines = [ln for ln in (FIXTURES / "csv" / "billing" / "denial_events_20260111.ndjson").read_bytes().splitlines()]
    data = lines[0] + b"\r\n" + b"\n".join(lines[1:]) + b"\n"
    result, con = _land(tmp_path, "denials_mixed.ndjson", data)
    assert result.status == "landed", result.message
    assert result.records_read == len([ln for ln in lines if ln.strip()]) == result.records_accepted


BAI2 = """01,071000013,CARELEDGER,260306,0600,7,,,2/
02,CARELEDGER,071000013,1,260305,2400,USD,2/
03,4410000010,USD,100,134692,2,/
16,165,134692,0,0000000001,2603040000085,TRN*1*2603040000085*1473100000\\
16,165,99999999999999999999,0,0000000002,REF2,TOO LARGE
49,134692,4/
98,134692,1,6/
99,134692,1,8/
"""


def test_bai2_amount_over_the_column_is_quarantined_and_the_rest_lands(tmp_path: Path) -> None:
    result, con = _land(tmp_path, "LE10_20260305.bai", BAI2.encode())
    assert (result.status, result.records_read, result.records_accepted, result.records_quarantined) == (
        "landed",
        2,
        1,
        1,
    )
    (reason, message) = con.execute("select reason_code, message from raw_meta.quarantine").fetchone()
    assert reason == "BAI2_AMOUNT_TOO_LARGE"
    assert "LE10_20260305.bai line 5" in message and "decimal(18, 2)" in message
    assert con.execute("select sum(amount)::varchar from raw_bank.bai2_transactions").fetchone() == ("1346.92",)


def test_fhir_dates_that_do_not_cast_land_with_a_finding(tmp_path: Path) -> None:
    patients = [
        json.loads(ln) for ln in (FIXTURES / "fhir" / "Patient.ndjson").read_text("utf-8-sig").splitlines() if ln
    ]
    encounters = [
        json.loads(ln) for ln in (FIXTURES / "fhir" / "Encounter.ndjson").read_text("utf-8-sig").splitlines() if ln
    ]
    patients[0]["birthDate"] = "2025-02-30"
    patients[1]["birthDate"] = 19800101
    encounters[0]["period"]["start"] = "2025-13-45T99:99:99Z"
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "Patient.ndjson").write_text("\n".join(json.dumps(p) for p in patients) + "\n")
    (tmp_path / "in" / "Encounter.ndjson").write_text("\n".join(json.dumps(e) for e in encounters) + "\n")
    report = ingest_paths(tmp_path / "wh.duckdb", [tmp_path / "in"])
    assert [(f.status, f.records_quarantined) for f in report.files] == [("landed", 0), ("landed", 0)]
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    findings = con.execute(
        "select rule, location, record_index, message from raw_meta.validation_findings "
        "where rule in ('BAD_DATE', 'BAD_DATETIME') order by location, record_index"
    ).fetchall()
    assert [(r[0], r[1], r[2]) for r in findings] == [
        ("BAD_DATETIME", "Encounter.period.start", 1),
        ("BAD_DATE", "Patient.birthDate", 1),
        ("BAD_DATE", "Patient.birthDate", 2),
    ]
    assert "Encounter.ndjson line 1" in findings[0][3] and "'2025-13-45T99:99:99Z'" in findings[0][3]
    assert "'19800101'" in findings[2][3]
    # a good date is no finding
    assert con.execute("select count(*) from raw_meta.validation_findings where rule = 'BAD_DATE'").fetchone() == (2,)


def test_both_835_parsers_name_the_first_non_numeric_element_of_a_segment() -> None:
    """Found by test_fuzz_x12_parsers_agree_on_generated_files (careledger-long): an SVC with two
    non-numeric amounts (SVC03 and SVC05) was reported as SVC03 by the single-pass parser and as
    either by the polars one (an unstable sort)."""
    from careledger.ingest.x12.remit_835 import parse_835_text
    from careledger.ingest.x12.remit_835_polars import parse_835_text_polars

    text = (
        "ISA*00*          *00*          *ZZ*PAYERID        *ZZ*PROVIDERID     *260105*1200*^*00501*000000001*0*P*:~"
        "GS*HP*PAYER*PROV*20260105*1200*1*X*005010X221A1~ST*835*0000~SVC*HC:99213**A**A~BPR*I*A~SE*0*0000~"
        "GE*0*1~IEA*1*000000001~"
    )
    for _ in range(5):
        single, frames = parse_835_text(text, "f.835"), parse_835_text_polars(text, "f.835")
        assert [q.message for q in single.quarantined] == [q.message for q in frames.quarantined]
        assert "SVC03 'A' is not a number" in frames.quarantined[0].message
