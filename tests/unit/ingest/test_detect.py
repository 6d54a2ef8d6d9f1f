"""Format detection from content (ingest/detect.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from careledger.ingest.csv import contract
from careledger.ingest.detect import UNKNOWN_REASON, detect

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
CSV = FIXTURES / "csv"
FHIR = FIXTURES / "fhir"

GOOD = [
    (FHIR / "Patient.ndjson", "fhir", "ndjson"),
    (FHIR / "Encounter.ndjson", "fhir", "ndjson"),  # BOM + CRLF
    (FHIR / "bundles" / "synthea_patient_9.json", "fhir", "json"),
    (CSV / "billing" / "claims_20260105.csv", "claims", "claim_lines"),
    (CSV / "billing" / "denial_events_20260110.csv", "denials", "denial_events"),
    (CSV / "billing" / "denial_events_20260111.ndjson", "denials", "denial_events"),
    (CSV / "billing" / "denial_events_20260112.json", "denials", "denial_events"),
    (CSV / "billing" / "payers.csv", "payers", "payers"),
    (CSV / "billing" / "patient_transactions.csv", "patient-transactions", "patient_transactions"),
    *[
        (CSV / "erp" / f, "erp", k)
        for f, k in [
            ("legal_entities.csv", "legal_entities"),
            ("facilities.csv", "facilities"),
            ("cost_centers.csv", "cost_centers"),
            ("chart_of_accounts.csv", "chart_of_accounts"),
            ("suppliers.csv", "suppliers"),
            ("accounting_periods.csv", "accounting_periods"),
            ("gl_actuals_202601.csv", "gl_actuals"),
            ("payroll_202601.csv", "payroll"),
            ("supply_spend_202601.csv", "supply_spend"),
            ("crosswalks.csv", "crosswalks"),
        ]
    ],
]


@pytest.mark.parametrize(("path", "fmt", "kind"), GOOD, ids=[p.name for p, _, _ in GOOD])
def test_good_fixtures_are_detected(path: Path, fmt: str, kind: str) -> None:
    d = detect(path)
    assert (d.format, d.kind) == (fmt, kind), d.reason


def test_every_export_kind_has_a_fixture() -> None:
    assert {k for _, _, k in GOOD} >= set(contract.KINDS)


def test_detection_ignores_the_file_name(tmp_path: Path) -> None:
    misleading = tmp_path / "Patient.ndjson"
    shutil.copy(CSV / "billing" / "claims_20260105.csv", misleading)
    assert detect(misleading).kind == "claim_lines"
    misleading2 = tmp_path / "claims_20260105.csv"
    shutil.copy(FHIR / "Patient.ndjson", misleading2)
    assert detect(misleading2).format == "fhir"


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    p = tmp_path / name
    p.write_bytes(data.encode() if isinstance(data, str) else data)
    return p


@pytest.mark.parametrize(
    "content",
    [
        "MSH|^~\\&|EPIC|GH|CL|CL|20260105||ADT^A01|1|P|2.5\rPID|1\r",
        "\x0bMSH|^~\\&|EPIC|GH|CL|CL|20260105||ADT^A01|1|P|2.5\r\x1c\r",
        "FHS|^~\\&|EPIC\nBHS|^~\\&\nMSH|^~\\&|EPIC\n",
        "\n\nMSH|^~\\&|EPIC|GH\n",
        "\ufeffMSH|^~\\&|EPIC|GH\n",
    ],
    ids=["msh", "mllp", "fhs", "leading-newlines", "bom"],
)
def test_hl7_adt(tmp_path: Path, content: str) -> None:
    assert detect(write(tmp_path, "a.txt", content)).format == "hl7"


ISA = "ISA*00*          *00*          *ZZ*PAYER          *ZZ*PROVIDER       *260105*1200*^*00501*000000001*0*P*:~"


@pytest.mark.parametrize(
    "content",
    [
        ISA + "GS*HP*PAYER*PROVIDER*20260105*1200*1*X*005010X221A1~ST*835*0001~BPR*I*100*C*ACH~",
        ISA.replace("*", "|") + "\nGS|HP|P|Q|20260105|1200|1|X|005010X221A1~\nST|835|0001~\n",
        "ST*835*0001~BPR*I*100*C*ACH~",
        "\nST|835|0001|005010X221A1~BPR|I|100|C|ACH~",
    ],
    ids=["star", "pipe-pretty", "bare-st", "bare-st-pipe"],
)
def test_x12_835_any_separator(tmp_path: Path, content: str) -> None:
    assert detect(write(tmp_path, "remit.dat", content)).format == "x12-835"


def test_a_bare_st_of_another_transaction_is_not_x12(tmp_path: Path) -> None:
    assert detect(write(tmp_path, "x.dat", "ST*837*0001~BHT*0019~")).format is None


def test_x12_other_transaction_is_refused(tmp_path: Path) -> None:
    d = detect(write(tmp_path, "x.835", ISA + "GS*HC*A*B*20260105*1200*1*X*005010X222A1~ST*837*0001~"))
    assert d.format is None and "837" in d.reason


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (b"", "empty"),
        (b"   \n\n", "whitespace"),
        (bytes(range(256)) * 8, "binary"),
        (b"\xff\xfe" + "MSH|".encode("utf-16-le"), "UTF-16"),
        (b"foo,bar\n1,2\n", UNKNOWN_REASON),
        (b"just some text\n", UNKNOWN_REASON),
        (b'{"hello": "world"}\n', "JSON lines"),
    ],
    ids=["empty", "whitespace", "binary", "utf16", "unknown-csv", "text", "json-lines"],
)
def test_unknown_content_is_refused_with_a_reason(tmp_path: Path, data: bytes, needle: str) -> None:
    d = detect(write(tmp_path, "f.bin", data))
    assert d.format is None and d.kind is None
    assert needle in d.reason and "f.bin" in d.reason


def test_unknown_reason_text() -> None:
    assert UNKNOWN_REASON == "no FHIR resourceType, MSH, ISA, BAI2 01 record or known CSV header in the first 4 KB"


def test_bom_and_header_case_and_order(tmp_path: Path) -> None:
    cols = list(contract.column_names("payers"))
    header = ",".join(c.upper() for c in reversed(cols))
    d = detect(write(tmp_path, "p.csv", b"\xef\xbb\xbf" + header.encode() + b"\r\n"))
    assert (d.format, d.kind) == ("payers", "payers")


def test_drifted_header_is_detected_with_the_drift_named(tmp_path: Path) -> None:
    cols = list(contract.column_names("claim_lines"))
    extra = write(tmp_path, "a.csv", ",".join(cols + ["export_batch"]) + "\n")
    d = detect(extra)
    assert d.kind == "claim_lines" and "export_batch" in d.reason
    missing = write(tmp_path, "b.csv", ",".join(c for c in cols if c != "modifiers") + "\n")
    d = detect(missing)
    assert d.kind == "claim_lines" and "modifiers" in d.reason


def test_half_a_header_is_not_guessed(tmp_path: Path) -> None:
    cols = list(contract.column_names("claim_lines"))[:12]
    assert detect(write(tmp_path, "c.csv", ",".join(cols) + "\n")).format is None


def test_forced_source_keeps_kind_detection(tmp_path: Path) -> None:
    claims = CSV / "billing" / "claims_20260105.csv"
    assert detect(claims, "claims").kind == "claim_lines"
    d = detect(claims, "denials")
    assert d.format is None and "denials" in d.reason
    assert detect(claims, "fhir").format is None
    assert detect(FHIR / "Patient.ndjson", "adt").format is None
    assert detect(FHIR / "Patient.ndjson", "fhir").kind == "ndjson"
    # a forced family accepts a drift the auto mode would not take
    cols = list(contract.column_names("gl_actuals"))
    drifted = write(tmp_path, "gl.csv", ",".join(cols[:8] + ["memo", "batch", "user"]) + "\n")
    assert detect(drifted).format is None
    d = detect(drifted, "erp")
    assert (d.format, d.kind) == ("erp", "gl_actuals")


def test_bad_source_is_a_usage_error() -> None:
    with pytest.raises(ValueError):
        detect(FHIR / "Patient.ndjson", "parquet")


def test_json_shapes(tmp_path: Path) -> None:
    pretty = write(tmp_path, "p.json", json.dumps({"resourceType": "Patient", "id": "P1"}, indent=2))
    assert (detect(pretty).format, detect(pretty).kind) == ("fhir", "json")
    one_line_bundle = write(
        tmp_path, "b.json", json.dumps({"resourceType": "Bundle", "type": "collection", "entry": []})
    )
    assert detect(one_line_bundle).kind == "json"
    array = write(tmp_path, "a.json", json.dumps([{"resourceType": "Patient", "id": "P1"}]))
    assert detect(array).format is None and "NDJSON or a Bundle" in detect(array).reason
    long_line = write(
        tmp_path, "l.ndjson", json.dumps({"resourceType": "Patient", "id": "P1", "x": "y" * 20000}) + "\n"
    )
    assert detect(long_line).kind == "ndjson"
