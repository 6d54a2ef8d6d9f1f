"""CARIN Blue Button Claim and ExplanationOfBenefit samples (tests/fixtures/fhir/carin_bb): valid
FHIR R4B, and landed by the bulk NDJSON path with their lineage, in NDJSON and in a Bundle."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from fhir.resources.R4B import get_fhir_model_class

from careledger.ingest.run import ingest_paths

CARIN_BB = Path(__file__).resolve().parents[2] / "fixtures" / "fhir" / "carin_bb"
FILES = ("Claim.ndjson", "ExplanationOfBenefit.ndjson")


def resources() -> list[dict]:
    return [json.loads(line) for name in FILES for line in (CARIN_BB / name).read_text().splitlines() if line]


@pytest.mark.parametrize("resource", resources(), ids=lambda r: r["id"])
def test_samples_are_valid_r4b(resource: dict) -> None:
    model = get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    assert model.id == resource["id"]


def test_eob_adjudications_balance_to_the_charge() -> None:
    # the samples are what an 835 would say: per item, submitted = paid + every adjustment
    adjustments = {"discount", "deductible", "coinsurance", "copay", "noncovered"}
    for eob in (r for r in resources() if r["resourceType"] == "ExplanationOfBenefit"):
        for item in eob["item"]:
            amounts: dict[str, float] = {}
            for adj in item["adjudication"]:
                code = adj["category"]["coding"][0]["code"]
                amounts[code] = amounts.get(code, 0) + adj["amount"]["value"]
            explained = amounts["paidtoprovider"] + sum(v for k, v in amounts.items() if k in adjustments)
            assert round(explained, 2) == item["net"]["value"] == amounts["submitted"], eob["id"]


def test_claims_and_eobs_land_with_lineage(tmp_path: Path) -> None:
    warehouse = tmp_path / "wh.duckdb"
    files = ingest_paths(warehouse, [CARIN_BB / name for name in FILES]).files
    assert [(f.status, f.records_read, f.records_accepted) for f in files] == [("landed", 3, 3)] * 2
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(
            "select resource_type, resource_id, _source_record, _source_file like '%.ndjson', _record_hash is not null "
            "from raw_ehr.fhir_resources order by resource_type, _source_record"
        ).fetchall()
        findings = con.execute("select count(*) from raw_meta.validation_findings where severity = 'error'").fetchone()
    finally:
        con.close()
    assert rows == [
        ("Claim", "CL-CLM0000001", 1, True, True),
        ("Claim", "CL-CLM0000002", 2, True, True),
        ("Claim", "CL-CLM0000003", 3, True, True),
        ("ExplanationOfBenefit", "EOB-CLM0000001", 1, True, True),
        ("ExplanationOfBenefit", "EOB-CLM0000002", 2, True, True),
        ("ExplanationOfBenefit", "EOB-CLM0000003", 3, True, True),
    ]
    assert findings == (0,)


def test_claims_and_eobs_land_from_a_bundle(tmp_path: Path) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources()],
    }
    path = tmp_path / "carin_bb_bundle.json"
    path.write_text(json.dumps(bundle))
    warehouse = tmp_path / "wh.duckdb"
    (result,) = ingest_paths(warehouse, [path]).files
    assert (result.status, result.records_read, result.records_accepted) == ("landed", 6, 6)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        counts = con.execute(
            "select resource_type, count(*) from raw_ehr.fhir_resources group by 1 order by 1"
        ).fetchall()
    finally:
        con.close()
    assert counts == [("Claim", 3), ("ExplanationOfBenefit", 3)]
