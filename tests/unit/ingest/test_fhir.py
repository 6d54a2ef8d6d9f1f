"""FHIR R4 NDJSON and Bundle loading (ingest/fhir.py)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from careledger.ingest.fhir import validate as _fhir_validate
from careledger.ingest.landing import FileResult, record_hash
from careledger.ingest.run import ingest_paths

FHIR = Path(__file__).resolve().parents[2] / "fixtures" / "fhir"
PATIENT = {"resourceType": "Patient", "id": "P1", "gender": "female"}
ENCOUNTER = {
    "resourceType": "Encounter",
    "id": "V1",
    "status": "finished",
    "class": {"code": "IMP"},
    "subject": {"reference": "Patient/P1"},
}


def land(warehouse: Path, *paths: Path) -> list[FileResult]:
    return ingest_paths(warehouse, list(paths)).files


def query(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[FileResult]]:
    wh = tmp_path_factory.mktemp("fhir") / "wh.duckdb"
    files = land(
        wh,
        FHIR / "Patient.ndjson",
        FHIR / "Practitioner.ndjson",
        FHIR / "Encounter.ndjson",
        FHIR / "bundles" / "synthea_patient_9.json",
    )
    return wh, files


def test_good_files_land_whole(good: tuple[Path, list[FileResult]]) -> None:
    wh, files = good
    assert [(f.status, f.records_read, f.records_accepted, f.records_quarantined) for f in files] == [
        ("landed", 3, 3, 0),
        ("landed", 2, 2, 0),
        ("landed", 4, 4, 0),
        ("landed", 4, 4, 0),
    ]
    assert [f.format for f in files] == ["fhir:ndjson", "fhir:ndjson", "fhir:ndjson", "fhir:json"]
    assert query(wh, "select count(*) from raw_meta.quarantine") == [(0,)]


def test_ndjson_lineage_line_numbers_versions_and_hash(good: tuple[Path, list[FileResult]]) -> None:
    wh, _ = good
    rows = query(
        wh,
        "select resource_id, version_id, last_updated::varchar, _source_record, _record_hash, "
        "resource::varchar from raw_ehr.fhir_resources where resource_type = 'Encounter' "
        "and _source_file like '%Encounter.ndjson' order by _source_record",
    )
    # line 3 is blank in the fixture (and the file has a BOM and CRLF): record index = physical line
    assert [(r[0], r[1], r[3]) for r in rows] == [
        ("V00000001", "1", 1),
        ("V00000001", "2", 2),
        ("V00000002", "1", 4),
        ("V00000003", "1", 5),
    ]
    assert rows[0][2] == "2026-01-03 10:00:00"
    lines = (FHIR / "Encounter.ndjson").read_bytes().decode("utf-8-sig").split("\r\n")
    assert rows[2][4] == record_hash(lines[3])
    # references stay exactly as sent
    assert json.loads(rows[2][5])["subject"]["reference"] == "Patient?identifier=urn:careledger:mrn|MRN00000002"


def test_bundle_entries_are_records(good: tuple[Path, list[FileResult]]) -> None:
    wh, _ = good
    rows = query(
        wh,
        "select _source_record, resource_type, resource_id from raw_ehr.fhir_resources "
        "where _source_file like '%.json' order by _source_record",
    )
    assert [(r[0], r[1]) for r in rows] == [(1, "Patient"), (2, "Practitioner"), (3, "Encounter"), (4, "Condition")]
    assert rows[0][2] == "a1b2c3d4-0000-4000-8000-000000000001"


# How a stored reference resolves (Type/id, absolute URL, _history/n, urn:uuid, conditional,
# contained) is the dbt macro's rule: unit tests test_fhir_reference_forms (staging) and
# test_encounter_events_resolve_conditional_subjects (intermediate) cover every form.


def test_structural_checks_quarantine_with_reasons(tmp_path: Path) -> None:
    f = tmp_path / "mixed.ndjson"
    lines = [
        json.dumps(PATIENT),
        '{"resourceType": "Patient", "id": ',
        json.dumps({"resourceType": "Widget", "id": "O1"}),
        json.dumps({"resourceType": "Patient"}),
        json.dumps({k: v for k, v in ENCOUNTER.items() if k != "class"}),
        json.dumps(ENCOUNTER),
        '"a string"',
    ]
    f.write_text("\n".join(lines) + "\n")
    wh = tmp_path / "wh.duckdb"
    (res,) = land(wh, f)
    assert (res.records_read, res.records_accepted, res.records_quarantined) == (7, 2, 5)
    q = query(wh, "select record_index, reason_code, message, raw_text from raw_meta.quarantine order by 1")
    assert [(r[0], r[1]) for r in q] == [
        (2, "BAD_JSON"),
        (3, "UNSUPPORTED_RESOURCE_TYPE"),
        (4, "MISSING_ID"),
        (5, "MISSING_REQUIRED"),
        (7, "NOT_AN_OBJECT"),
    ]
    assert q[3][2] == "mixed.ndjson line 5: Encounter.class is missing (required)"
    assert q[0][3] == lines[1]
    assert query(wh, "select _source_record from raw_ehr.fhir_resources order by 1") == [(1,), (6,)]


def test_model_failure_is_a_finding_not_a_quarantine(tmp_path: Path) -> None:
    f = tmp_path / "enc.ndjson"
    f.write_text(json.dumps(ENCOUNTER) + "\n" + json.dumps(ENCOUNTER | {"id": "V2", "status": 7}) + "\n")
    wh = tmp_path / "wh.duckdb"
    (res,) = land(wh, f)
    assert (res.records_accepted, res.records_quarantined) == (2, 0)
    findings = query(wh, "select record_index, severity, rule, location, message from raw_meta.validation_findings")
    assert len(findings) == 1
    idx, severity, rule, location, message = findings[0]
    assert (idx, severity, rule, location) == (2, "error", "FHIR_R4B_MODEL", "Encounter.status")
    assert message.startswith("enc.ndjson line 2: Encounter.status")


def test_model_validation_samples_large_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_fhir_validate, "VALIDATE_ALL_MAX", 5)
    monkeypatch.setattr(_fhir_validate, "SAMPLE_SIZE", 3)
    checked: list[str] = []
    real = _fhir_validate.validation_errors

    def spy(rtype: str, text: str) -> list[tuple[str, str]]:
        checked.append(json.loads(text)["id"])
        return real(rtype, text)

    monkeypatch.setattr(_fhir_validate, "validation_errors", spy)
    f = tmp_path / "Patient.ndjson"
    f.write_text("".join(json.dumps(PATIENT | {"id": f"P{i}"}) + "\n" for i in range(20)))
    wh = tmp_path / "wh.duckdb"
    land(wh, f)
    first = sorted(checked)
    assert len(first) == 3
    info = query(
        wh, "select record_index, severity, message from raw_meta.validation_findings where rule = 'FHIR_MODEL_SAMPLED'"
    )
    assert info and info[0][:2] == (0, "info") and "3 of 20" in info[0][2]
    checked.clear()
    ingest_paths(tmp_path / "wh2.duckdb", [f])
    assert sorted(checked) == first  # deterministic sample


def test_bundle_unpacking_edge_cases(tmp_path: Path) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "urn:uuid:u-1", "resource": {k: v for k, v in PATIENT.items() if k != "id"}},
            {"fullUrl": "urn:uuid:u-2"},
            {"fullUrl": "urn:uuid:u-3", "resource": ENCOUNTER | {"subject": {"reference": "urn:uuid:u-1"}}},
        ],
    }
    f = tmp_path / "b.json"
    f.write_text(json.dumps(bundle, indent=1))
    wh = tmp_path / "wh.duckdb"
    (res,) = land(wh, f)
    assert (res.records_read, res.records_accepted, res.records_quarantined) == (3, 2, 1)
    assert query(wh, "select _source_record, resource_id from raw_ehr.fhir_resources order by 1") == [
        (1, "u-1"),
        (3, "V1"),
    ]
    assert query(wh, "select record_index, reason_code from raw_meta.quarantine") == [(2, "NO_RESOURCE")]
    rules = {r[0] for r in query(wh, "select rule from raw_meta.validation_findings")}
    assert {"ID_FROM_FULLURL", "FULLURL_ID_MISMATCH"} <= rules


def test_synthea_bundle_types_the_warehouse_does_not_read_are_skipped_with_a_count(tmp_path: Path) -> None:
    """A Synthea-style bundle: Patient, Encounter, Claim and ExplanationOfBenefit land; Observation,
    Immunization, DiagnosticReport and CarePlan are skipped with one info finding per type and
    its count, not quarantined; a resourceType that is no FHIR resource is still quarantined."""
    other = [
        {"resourceType": "Observation", "id": "O1", "status": "final"},
        {"resourceType": "Observation", "id": "O2", "status": "final"},
        {"resourceType": "Immunization", "id": "I1", "status": "completed"},
        {"resourceType": "DiagnosticReport", "id": "D1", "status": "final"},
        {"resourceType": "CarePlan", "id": "CP1", "status": "active"},
        {"resourceType": "Observation", "id": "O3", "status": "final"},
    ]
    claim = {"resourceType": "Claim", "id": "C1", "status": "active", "patient": {"reference": "Patient/P1"}}
    eob = {
        "resourceType": "ExplanationOfBenefit",
        "id": "E1",
        "status": "active",
        "patient": {"reference": "Patient/P1"},
    }
    resources = [PATIENT, ENCOUNTER, *other, claim, eob, {"resourceType": "Widget", "id": "W1"}]
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}
    f = tmp_path / "synthea_patient.json"
    f.write_text(json.dumps(bundle))
    wh = tmp_path / "wh.duckdb"
    (res,) = land(wh, f)
    assert (res.records_read, res.records_accepted, res.records_quarantined) == (5, 4, 1)
    assert query(wh, "select resource_type from raw_ehr.fhir_resources order by _source_record") == [
        ("Patient",),
        ("Encounter",),
        ("Claim",),
        ("ExplanationOfBenefit",),
    ]
    assert query(wh, "select record_index, reason_code from raw_meta.quarantine") == [(11, "UNSUPPORTED_RESOURCE_TYPE")]
    skipped = query(
        wh,
        "select location, severity, record_index, message from raw_meta.validation_findings "
        "where rule = 'RESOURCE_TYPE_SKIPPED' order by location",
    )
    assert [(loc, sev, idx) for loc, sev, idx, _ in skipped] == [
        ("CarePlan", "info", 7),
        ("DiagnosticReport", "info", 6),
        ("Immunization", "info", 5),
        ("Observation", "info", 3),
    ]
    assert skipped[3][3].startswith("synthea_patient.json: 3 Observation resource(s) (first at entry 3) skipped")
