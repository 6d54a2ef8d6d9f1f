"""Each injected fault appears in the files exactly where and as often as the ground truth says."""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from synth_helpers import duplicate_files, fault_keys, hl7_messages, load_truth, parse_835, read_csv

SEEDS = Path(__file__).resolve().parents[3] / "seeds"
EXPECTED_KINDS = {
    "duplicate_file",
    "duplicate_record",
    "malformed_json",
    "malformed_hl7",
    "x12_se_count_mismatch",
    "csv_bad_date",
    "csv_bad_amount",
    "late_a08",
    "corrected_claim",
    "void_claim",
    "unmapped_code",
    "id_drift",
    "unmapped_crosswalk",
    "out_of_order",
    "deposit_without_835",
    "835_without_deposit",
    "deposit_plb_difference",
}


def test_every_fault_kind_is_present_and_counted(faulted_dir: Path) -> None:
    truth = load_truth(faulted_dir)
    assert set(truth["faults"]) == EXPECTED_KINDS
    for kind, entry in truth["faults"].items():
        assert entry["count"] == len(entry["records"]) > 0, kind
        assert entry["handling"] in {"quarantine", "skip", "land"}


def test_clean_run_has_only_lifecycle_entries(clean_dir: Path) -> None:
    truth = load_truth(clean_dir)
    nonzero = {k for k, v in truth["faults"].items() if v["count"]}
    assert nonzero <= {"corrected_claim", "void_claim", "unmapped_crosswalk"}
    assert {"corrected_claim", "void_claim"} <= nonzero


def test_duplicate_files_are_exact_copies(faulted_dir: Path) -> None:
    truth = load_truth(faulted_dir)
    by_hash = defaultdict(list)
    for p in sorted(faulted_dir.rglob("*")):
        if p.is_file() and "ground_truth" not in p.name and p.parent.name != "ground_truth":
            by_hash[hashlib.sha256(p.read_bytes()).hexdigest()].append(p.relative_to(faulted_dir).as_posix())
    copies = {name for names in by_hash.values() if len(names) > 1 for name in names if "_resend" in name}
    assert copies == duplicate_files(truth)


def test_malformed_json_lines(faulted_dir: Path) -> None:
    truth = load_truth(faulted_dir)
    found = set()
    for f in (faulted_dir / "ehr/fhir").glob("*.ndjson"):
        for i, line in enumerate(f.read_text().splitlines(), 1):
            try:
                json.loads(line)
            except json.JSONDecodeError:
                found.add((f.relative_to(faulted_dir).as_posix(), i))
    assert found == fault_keys(truth, "malformed_json")


def test_se_count_mismatches(faulted_dir: Path) -> None:
    truth = load_truth(faulted_dir)
    skip = duplicate_files(truth)
    found = set()
    for f in (faulted_dir / "billing/remits").glob("*.835"):
        rel = f.relative_to(faulted_dir).as_posix()
        if rel in skip:
            continue
        for st in parse_835(f):
            if st.segments != st.se_count:
                found.add((rel, st.index))
    assert found == fault_keys(truth, "x12_se_count_mismatch")


def _claim_files(root: Path, truth: dict) -> list[tuple[str, list[dict[str, str]]]]:
    skip = duplicate_files(truth)
    out = []
    for f in sorted((root / "billing/claims").glob("*.csv")):
        rel = f.relative_to(root).as_posix()
        if rel not in skip:
            out.append((rel, read_csv(f)))
    return out


def test_csv_bad_rows_and_duplicates(faulted_dir: Path) -> None:
    truth = load_truth(faulted_dir)
    bad_date, bad_amount, dups = set(), set(), set()
    for rel, rows in _claim_files(faulted_dir, truth):
        prev = None
        for i, r in enumerate(rows, 1):
            try:
                date.fromisoformat(r["service_date"])
            except ValueError:
                bad_date.add((rel, i))
            try:
                Decimal(r["charge_amount"])
            except InvalidOperation:
                bad_amount.add((rel, i))
            if r == prev:
                dups.add((rel, i))
            prev = r
    for f in sorted((faulted_dir / "billing/denials").glob("*.csv")):
        rel = f.relative_to(faulted_dir).as_posix()
        if rel in duplicate_files(truth):
            continue
        prev = None
        for i, r in enumerate(read_csv(f), 1):
            if r == prev:
                dups.add((rel, i))
            prev = r
    assert bad_date == fault_keys(truth, "csv_bad_date")
    assert bad_amount == fault_keys(truth, "csv_bad_amount")
    assert dups == fault_keys(truth, "duplicate_record")


def test_claim_lifecycle_and_code_faults(faulted_dir: Path) -> None:
    truth = load_truth(faulted_dir)
    procs = {r["procedure_code"] for r in read_csv(SEEDS / "procedure_codes.csv")}
    drgs = {r["drg_code"] for r in read_csv(SEEDS / "ms_drgs.csv")}
    corrected, voids, unmapped, drift = set(), set(), set(), set()
    seen_claims: set[str] = set()
    for rel, rows in _claim_files(faulted_dir, truth):
        for i, r in enumerate(rows, 1):
            first = r["line_number"] == "1" and r["claim_id"] not in seen_claims
            if first:
                seen_claims.add(r["claim_id"])
                if r["claim_frequency_code"] == "7":
                    corrected.add((rel, i))
                if r["claim_frequency_code"] == "8":
                    voids.add((rel, i))
                if r["drg_code"] and r["drg_code"] not in drgs:
                    unmapped.add((rel, i))
                if re.fullmatch(r"FAC\d", r["facility_code"]) or r["department_code"].startswith("D-"):
                    drift.add((rel, i))
            if (
                r["procedure_code"]
                and r["procedure_code"] not in procs
                and (rel, i) not in fault_keys(truth, "duplicate_record")
            ):
                unmapped.add((rel, i))
    assert corrected == fault_keys(truth, "corrected_claim")
    assert voids == fault_keys(truth, "void_claim")
    assert unmapped == fault_keys(truth, "unmapped_code")
    assert drift == fault_keys(truth, "id_drift")


def test_unmapped_crosswalk_rows_are_really_missing(faulted_dir: Path) -> None:
    truth = load_truth(faulted_dir)
    xw = {(r["entity"], r["source_system"], r["source_code"]) for r in read_csv(faulted_dir / "erp/crosswalks.csv")}
    missing = truth["faults"]["unmapped_crosswalk"]["records"]
    assert missing
    for rec in missing:
        assert (rec["entity"], rec["source_system"], rec["source_code"]) not in xw


def test_late_a08_and_out_of_order(faulted_dir: Path) -> None:
    truth = load_truth(faulted_dir)
    skip = duplicate_files(truth)
    submitted: dict[str, str] = {}
    for _rel, rows in _claim_files(faulted_dir, truth):
        for r in rows:
            if r["claim_frequency_code"] == "1":
                submitted[r["encounter_id"]] = r["submitted_date"].replace("-", "")
    bad = fault_keys(truth, "malformed_hl7")
    late, ooo = set(), set()
    for f in sorted((faulted_dir / "ehr/adt").glob("adt_*.hl7")):
        rel = f.relative_to(faulted_dir).as_posix()
        if rel in skip:
            continue
        file_day = f.stem.split("_")[1]
        for i, text in enumerate(hl7_messages(f), 1):
            if (rel, i) in bad:
                continue
            segs = {s.split("|")[0]: s.split("|") for s in text.split("\r") if s}
            msg_day = segs["MSH"][6][:8]
            if segs["EVN"][1] == "A08" and segs["PV1"][19] in submitted and msg_day > submitted[segs["PV1"][19]]:
                late.add((rel, i))
            if msg_day < file_day:
                ooo.add((rel, i))
    assert late == fault_keys(truth, "late_a08")
    # FHIR: a version that appears after a later version of the same encounter
    last_version: dict[str, int] = {}
    for i, line in enumerate((faulted_dir / "ehr/fhir/Encounter.ndjson").read_text().splitlines(), 1):
        try:
            doc = json.loads(line)
        except json.JSONDecodeError:
            continue
        v = int(doc["meta"]["versionId"])
        if v == 3 and last_version.get(doc["id"], 0) < 2 and doc["id"] in last_version:
            ooo.add(("ehr/fhir/Encounter.ndjson", i))
        last_version[doc["id"]] = max(v, last_version.get(doc["id"], 0))
    assert ooo == fault_keys(truth, "out_of_order")


def test_record_counts_per_file(faulted_dir: Path) -> None:
    truth = load_truth(faulted_dir)
    files = truth["files"]
    assert files and not any(k.startswith("ground_truth") for k in files)
    for rel, info in files.items():
        path = faulted_dir / rel
        assert path.stat().st_size == info["bytes"]
        if rel.endswith(".csv"):
            n = len(read_csv(path))
        elif rel.endswith(".ndjson"):
            n = len(path.read_text().splitlines())
        elif rel.endswith(".hl7"):
            n = len(hl7_messages(path))
        elif rel.endswith(".bai"):  # one record per 16 detail, as the BAI2 loader counts
            n = sum(1 for line in path.read_text().splitlines() if line.startswith("16,"))
        else:
            n = len(parse_835(path)) if rel.endswith(".835") else None
        assert n == info["records"], rel
