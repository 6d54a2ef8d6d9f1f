"""Every non-faulted record validates against its standard's parser."""

from __future__ import annotations

import importlib
import json
import logging
from datetime import datetime
from pathlib import Path

import hl7
import pytest
from synth_helpers import duplicate_files, fault_keys, hl7_messages, load_truth, parse_835

from careledger.simulator.reference import npi_is_valid


def _fhir_models() -> dict[str, type]:
    names = [
        "Patient",
        "Encounter",
        "Practitioner",
        "PractitionerRole",
        "Organization",
        "Location",
        "Coverage",
        "Procedure",
        "Condition",
    ]
    return {n: getattr(importlib.import_module(f"fhir.resources.R4B.{n.lower()}"), n) for n in names}


@pytest.mark.parametrize("which", ["clean_dir", "faulted_dir"])
def test_fhir_validates_with_r4b_models(which: str, request: pytest.FixtureRequest) -> None:
    root: Path = request.getfixturevalue(which)
    truth = load_truth(root)
    bad = fault_keys(truth, "malformed_json")
    models = _fhir_models()
    files = sorted((root / "ehr/fhir").glob("*.ndjson"))
    assert {f.stem for f in files} == set(models)
    checked = 0
    for f in files:
        rel = f.relative_to(root).as_posix()
        for i, line in enumerate(f.read_text().splitlines(), 1):
            # every line of the clean folder; every 4th line (and every small file) of the faulted one
            if (rel, i) in bad or (which == "faulted_dir" and i > 200 and i % 4):
                continue
            doc = json.loads(line)
            assert doc["resourceType"] == f.stem
            models[f.stem].model_validate(doc)
            checked += 1
    assert checked > 800


def test_hl7_messages_parse(clean_dir: Path) -> None:
    encounter_ids = {json.loads(l)["id"] for l in (clean_dir / "ehr/fhir/Encounter.ndjson").read_text().splitlines()}
    events = set()
    n = 0
    for f in sorted((clean_dir / "ehr/adt").glob("adt_*.hl7")):
        for text in hl7_messages(f):
            msg = hl7.parse(text)
            msh = msg.segment("MSH")
            assert str(msh[12]) == "2.5"
            event = str(msg.segment("EVN")[1])
            assert str(msh[9][0][1]) == event
            events.add(event)
            if event != "A40":
                pv1 = msg.segment("PV1")
                assert str(pv1[19]) in encounter_ids
                assert str(pv1[2]) in {"I", "E"}
                assert npi_is_valid(str(pv1[7][0][0]))
            else:
                assert str(msg.segment("MRG")[1][0][0]).startswith("MRN")
            assert str(msg.segment("PID")[3][0][0]).startswith("MRN")
            n += 1
    assert n > 200
    assert {"A01", "A03", "A04", "A08"} <= events


def test_hl7_faulted_messages_parse_except_malformed(faulted_dir: Path) -> None:
    truth = load_truth(faulted_dir)
    bad = fault_keys(truth, "malformed_hl7")
    seen = set()
    for f in sorted((faulted_dir / "ehr/adt").glob("adt_*.hl7")):
        rel = f.relative_to(faulted_dir).as_posix()
        if rel in duplicate_files(truth):
            continue
        for i, text in enumerate(hl7_messages(f), 1):
            if (rel, i) in bad:
                seen.add((rel, i))
                assert len(text.split("\r")[0].split("|")) < 12
                continue
            assert hl7.parse(text).segment("PID")
    assert seen == bad


def _pyx12_ok(path: Path) -> tuple[bool, list[str]]:
    import pyx12.params
    import pyx12.x12n_document

    errors: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.ERROR:
                errors.append(record.getMessage())

    handler = Capture()
    logging.getLogger("pyx12").addHandler(handler)
    try:
        ok = pyx12.x12n_document.x12n_document(pyx12.params.params(), str(path), None, None)
    finally:
        logging.getLogger("pyx12").removeHandler(handler)
    return ok, errors


def _statuses(text: str) -> set[str]:
    return {line.split("*")[2] for line in text.splitlines() if line.startswith("CLP*")}


def _pick_835s(root: Path, skip: set[str]) -> list[Path]:
    """A few telling files: a reversal, a denial, provider-level adjustments, inpatient, the largest."""
    files = [f for f in sorted((root / "billing/remits").glob("*.835")) if f.relative_to(root).as_posix() not in skip]
    texts = {f: f.read_text() for f in files}
    picks = [
        next(f for f in files if "22" in _statuses(texts[f])),
        next(f for f in files if "4" in _statuses(texts[f])),
        next(f for f in files if "\nPLB*" in texts[f]),
        next(f for f in files if "\nMIA*" in texts[f]),
        max(files, key=lambda f: len(texts[f])),
    ]
    return list(dict.fromkeys(picks))


def test_835_validates_with_pyx12(clean_dir: Path) -> None:
    for path in _pick_835s(clean_dir, set()):
        ok, errors = _pyx12_ok(path)
        assert ok and not errors, (path.name, errors[:5])


def test_835_faulted_only_fails_on_injected_se(faulted_dir: Path) -> None:
    truth = load_truth(faulted_dir)
    bad_files = {f for f, _ in fault_keys(truth, "x12_se_count_mismatch")}
    clean_files = _pick_835s(faulted_dir, bad_files | duplicate_files(truth))
    for path in clean_files[:3]:
        ok, errors = _pyx12_ok(path)
        assert ok and not errors, (path.name, errors[:5])
    one_bad = sorted(bad_files)[0]
    ok, errors = _pyx12_ok(faulted_dir / one_bad)
    assert not ok and any("SE count" in e for e in errors)


def test_npis_pass_luhn(clean_dir: Path) -> None:
    assert npi_is_valid("1234567893")  # CMS's published example
    assert not npi_is_valid("1234567890")
    npis = set()
    for line in (clean_dir / "ehr/fhir/Practitioner.ndjson").read_text().splitlines():
        npis.add(json.loads(line)["identifier"][0]["value"])
    for f in (clean_dir / "billing/claims").glob("*.csv"):
        for line in f.read_text().splitlines()[1:]:
            cols = line.split(",")
            npis.update({cols[8], cols[9]})
    assert len(npis) > 50
    assert all(npi_is_valid(n) for n in npis), [n for n in npis if not npi_is_valid(n)][:5]


def test_835_balances_everywhere(faulted_dir: Path) -> None:
    for f in sorted((faulted_dir / "billing/remits").glob("*.835")):
        for st in parse_835(f):
            assert st.bpr_amount == sum((c.paid for c in st.claims), start=0) - st.plb_total
            for c in st.claims:
                cas = sum((a for _, _, a in c.claim_cas), start=0) + sum(
                    (a for s in c.svcs for _, _, a in s["cas"]), start=0
                )
                assert c.charge == c.paid + cas, (f.name, c.pcn)
                assert c.patient_resp == sum((a for s in c.svcs for g, _, a in s["cas"] if g == "PR"), start=0) + sum(
                    (a for g, _, a in c.claim_cas if g == "PR"), start=0
                )
                for s in c.svcs:
                    assert s["charge"] == s["paid"] + sum((a for _, _, a in s["cas"]), start=0)
                    assert s["ref6r"] and s["ref6r"].startswith("C")
                if c.svcs:
                    assert sum((s["charge"] for s in c.svcs), start=0) == c.charge


def _hl7_instant(value: str) -> datetime:
    return datetime.strptime(value[:14], "%Y%m%d%H%M%S")


def _fhir_instant(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=None)


def test_hl7_field_positions_are_the_standards(clean_dir: Path) -> None:
    """The `hl7` package, reading by the v2.5 field numbers, finds each value where the standard
    puts it: MSH-9/10/12, PID-3/5/7/8/11/13/19, PV1-2/3/7/10/14/19/36/44/45 (an A03 carries its
    discharge disposition at PV1-36, admit at PV1-44 and discharge at PV1-45)."""
    fhir = clean_dir / "ehr/fhir"
    encounters = {d["id"]: d for d in map(json.loads, (fhir / "Encounter.ndjson").read_text().splitlines())}
    patients = {}
    for doc in map(json.loads, (fhir / "Patient.ndjson").read_text().splitlines()):
        mrn = next(i["value"] for i in doc["identifier"] if i.get("system") == "urn:careledger:mrn")
        patients[mrn] = doc
    discharges = 0
    for f in sorted((clean_dir / "ehr/adt").glob("adt_*.hl7")):
        for text in hl7_messages(f):
            msg = hl7.parse(text)
            msh = msg.segment("MSH")
            event = str(msh[9][0][1])
            assert str(msh[9][0][0]) == "ADT" and str(msh[10]).startswith("MSG") and str(msh[12]) == "2.5"
            pid = msg.segment("PID")
            patient = patients.get(str(pid[3][0][0]))
            if patient is not None and event != "A40":
                assert str(pid[5][0][0]) == patient["name"][0]["family"].upper()
                assert str(pid[7]) == patient["birthDate"].replace("-", "")
                assert str(pid[8]) == {"female": "F", "male": "M"}.get(patient["gender"], str(pid[8]))
                assert str(pid[11][0][2]) == patient["address"][0]["city"]
                assert str(pid[13]) == patient["telecom"][0]["value"]
                assert str(pid[19]) == next(i["value"] for i in patient["identifier"] if "ssn" in i["system"])
            if event not in {"A03", "A01", "A04", "A08"}:
                continue
            pv1 = msg.segment("PV1")
            encounter = encounters[str(pv1[19])]
            assert str(pv1[2]) in {"I", "E"} and str(pv1[3][0][0]).startswith("D-")
            assert npi_is_valid(str(pv1[7][0][0])) and str(pv1[10]) and str(pv1[14]) in {"1", "7"}
            assert _hl7_instant(str(pv1[44])) == _fhir_instant(encounter["period"]["start"])
            if event == "A03":
                discharges += 1
                assert str(pv1[36]) == "01"
                assert _hl7_instant(str(pv1[45])) >= _hl7_instant(str(pv1[44]))
                if "end" in encounter.get("period", {}):
                    assert _hl7_instant(str(pv1[45])) == _fhir_instant(encounter["period"]["end"])
            else:
                assert str(pv1[36]) == "" and str(pv1[45]) == ""
    assert discharges > 20
