"""HL7 v2 ADT loader: segment endings, MLLP, batches, escapes, events, quarantine and findings."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from careledger.ingest.hl7.adt import parse_adt_text, parse_hl7_timestamp, split_messages
from careledger.ingest.run import ingest_paths

FIXTURES = Path(__file__).parents[2] / "fixtures"
HL7 = FIXTURES / "hl7"
BAD = FIXTURES / "bad" / "hl7"
GOOD = sorted(HL7.glob("*.hl7"))
TABLES = ("adt_messages", "adt_diagnoses", "adt_procedures", "adt_insurance")


def land(tmp_path: Path, *paths: Path) -> tuple[duckdb.DuckDBPyConnection, list]:
    report = ingest_paths(tmp_path / "wh.duckdb", list(paths))
    return duckdb.connect(str(tmp_path / "wh.duckdb")), report.files


def counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return {t: con.execute(f"select count(*) from raw_ehr.{t}").fetchone()[0] for t in TABLES}


def test_good_fixtures_exist() -> None:
    assert [p.name for p in GOOD] == ["adt_batch_bom.hl7", "adt_cr.hl7", "adt_crlf_mllp.hl7", "adt_lf.hl7"]


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.name)
def test_every_layout_lands_the_same_seven_messages(tmp_path: Path, path: Path) -> None:
    con, (result,) = land(tmp_path, path)
    assert result.status == "landed", result.message
    assert (result.records_read, result.records_accepted, result.records_quarantined) == (7, 7, 0)
    assert counts(con) == {"adt_messages": 7, "adt_diagnoses": 3, "adt_procedures": 1, "adt_insurance": 2}
    events = con.execute("select trigger_event from raw_ehr.adt_messages order by _source_record").fetchall()
    assert [e for (e,) in events] == ["A01", "A08", "A03", "A13", "A04", "A11", "A40"]
    assert con.execute("select count(*) from raw_meta.quarantine").fetchone()[0] == 0
    rules = {r for (r,) in con.execute("select rule from raw_meta.validation_findings").fetchall()}
    assert rules <= {"TIMEZONE_OFFSET_DROPPED", "BOM_STRIPPED"}


def test_layouts_parse_to_identical_rows() -> None:
    frames = [parse_adt_text(p.read_bytes().decode("utf-8-sig")).tables for p in GOOD]
    for other in frames[1:]:
        for key, frame in frames[0].items():
            assert frame.equals(other[key]), key


def test_admit_message_fields_with_escapes_decoded(tmp_path: Path) -> None:
    con, _ = land(tmp_path, HL7 / "adt_cr.hl7")
    row = con.execute("""
        select message_control_id, message_type, trigger_event, message_at, event_at, sending_application,
               sending_facility, hl7_version, patient_mrn, patient_family_name, patient_given_name, birth_date, sex,
               address_line, city, state, zip, phone, ssn, visit_number, patient_class, point_of_care, room, bed,
               location_facility, attending_npi, hospital_service, admit_source, admit_at, admit_reason
        from raw_ehr.adt_messages where _source_record = 1
    """).fetchone()
    assert row == (
        "MSG00001",
        "ADT",
        "A01",
        datetime(2026, 1, 5, 8, 30),
        datetime(2026, 1, 5, 8, 30),
        "EPIC",
        "CARELEDGER GH",
        "2.5",
        "MRN00000001",
        "O^BRIEN",
        "PAT&TY",
        date(1980, 1, 2),
        "F",
        "1 MAIN|ST",
        "BOSTON",
        "MA",
        "02110",
        "(617)555-1234",
        "123-45-6789",
        "V00000001",
        "I",
        "D-L1-MED",
        "101",
        "A",
        "L-1",
        "1234567893",
        "MED",
        "7",
        datetime(2026, 1, 5, 8, 0),
        "Chest pain \\ shortness of breath",
    )
    raw = con.execute("select raw_message from raw_ehr.adt_messages where _source_record = 1").fetchone()[0]
    assert raw.startswith("MSH|^~\\&|EPIC|") and "\rPID|" in raw and "\\S\\" in raw  # raw text kept escaped


def test_discharge_cancel_and_merge_are_events(tmp_path: Path) -> None:
    con, _ = land(tmp_path, HL7 / "adt_lf.hl7")
    discharge = con.execute(
        "select discharge_disposition, discharge_at from raw_ehr.adt_messages where trigger_event = 'A03'"
    ).fetchone()
    assert discharge == ("01", datetime(2026, 1, 7, 9, 30))
    merge = con.execute(
        "select patient_mrn, prior_mrn, prior_visit_number, visit_number from raw_ehr.adt_messages "
        "where trigger_event = 'A40'"
    ).fetchone()
    assert merge == ("MRN00000001", "MRN00000009", "V00000009", None)
    # cancels land as their own rows; the admit they cancel is still there
    visits = con.execute(
        "select trigger_event from raw_ehr.adt_messages where visit_number = 'V00000002' order by _source_record"
    ).fetchall()
    assert [e for (e,) in visits] == ["A04", "A11"]


def test_child_segments(tmp_path: Path) -> None:
    con, _ = land(tmp_path, HL7 / "adt_cr.hl7")
    dg1 = con.execute(
        "select message_control_id, visit_number, set_id, diagnosis_code, coding_system, description, "
        "diagnosis_type from raw_ehr.adt_diagnoses order by _source_record, set_id"
    ).fetchall()
    assert dg1[0] == ("MSG00001", "V00000001", 1, "I20.9", "I10", "Angina pectoris, unspecified", "A")
    assert len(dg1) == 3
    pr1 = con.execute(
        "select set_id, procedure_code, coding_system, procedure_at, surgeon_npi from raw_ehr.adt_procedures"
    ).fetchall()
    assert pr1 == [(1, "93000", "CPT", datetime(2026, 1, 5, 9, 0), "1234567893")]
    in1 = con.execute(
        "select visit_number, set_id, plan_id, company_id, company_name, group_number, member_id "
        "from raw_ehr.adt_insurance order by _source_record"
    ).fetchall()
    assert in1 == [
        ("V00000001", 1, "GOLD01", "PAY-PYR001", "ACME HEALTH", "GRP-77", "MBR0001"),
        ("V00000002", 1, "SILVER", "PAY-PYR002", "BETA CARE", None, None),
    ]


def test_missing_set_ids_get_deterministic_keys_and_a_finding(tmp_path: Path) -> None:
    """IN1/DG1 without a set id (real senders omit IN1-1): each gets its position, or the next
    number not taken in its message, and a MISSING_SET_ID finding; nothing lands with a null key."""
    text = (HL7 / "adt_lf.hl7").read_text()
    text = text.replace("IN1|1|GOLD01|", "IN1||GOLD01|", 1).replace(
        "IN1|1|SILVER|PAY-PYR002|BETA CARE", "IN1||SILVER|PAY-PYR002|BETA CARE\nIN1|1|BRONZE|PAY-PYR003|GAMMA"
    )
    path = tmp_path / "no_set_ids.hl7"
    path.write_text(text)
    con, (result,) = land(tmp_path, path)
    assert result.status == "landed" and result.records_quarantined == 0
    in1 = con.execute(
        "select visit_number, plan_id, set_id from raw_ehr.adt_insurance order by _source_record, plan_id"
    ).fetchall()
    assert in1 == [("V00000001", "GOLD01", 1), ("V00000002", "BRONZE", 1), ("V00000002", "SILVER", 2)]
    findings = con.execute(
        "select message from raw_meta.validation_findings where rule = 'MISSING_SET_ID' order by record_index"
    ).fetchall()
    assert len(findings) == 2
    assert "IN1[1]-1 (set id) is missing; landed with set id 1" in findings[0][0]
    assert "landed with set id 2" in findings[1][0]


def test_repeated_set_ids_get_deterministic_keys_and_a_finding(tmp_path: Path) -> None:
    """PR1/DG1 all numbered 1 (as in the LinuxForHealth converter's sample ADTs, see
    tests/fixtures/realworld/hl7/adt_a03_in1_no_set_id.hl7): the first keeps set id 1, the
    repeats get the next number not taken and a DUPLICATE_SET_ID finding, so the staging primary
    key (batch, record, set id) stays unique."""
    text = (HL7 / "adt_lf.hl7").read_text()
    pr1 = next(line for line in text.splitlines() if line.startswith("PR1|1|"))
    text = text.replace(pr1, f"{pr1}\n{pr1.replace('93000', '93005')}", 1)
    path = tmp_path / "repeated_set_ids.hl7"
    path.write_text(text)
    con, (result,) = land(tmp_path, path)
    assert result.status == "landed" and result.records_quarantined == 0
    pr1s = con.execute("select procedure_code, set_id from raw_ehr.adt_procedures order by set_id").fetchall()
    assert pr1s == [("93000", 1), ("93005", 2)]
    findings = con.execute(
        "select message from raw_meta.validation_findings where rule = 'DUPLICATE_SET_ID'"
    ).fetchall()
    assert len(findings) == 1
    assert "PR1[2]-1 (set id) '1' repeats an earlier PR1's; landed with set id 2" in findings[0][0]


def test_repeated_control_id_lands_both_with_a_finding(tmp_path: Path) -> None:
    con, (result,) = land(tmp_path, BAD / "duplicate_control_id.hl7")
    assert (result.records_read, result.records_accepted) == (2, 2)
    ids = con.execute("select message_control_id from raw_ehr.adt_messages").fetchall()
    assert ids == [("MSG00001",), ("MSG00001",)]
    finding = con.execute("select record_index, rule, message from raw_meta.validation_findings").fetchone()
    assert finding[:2] == (2, "DUPLICATE_CONTROL_ID") and "duplicate_control_id.hl7 message 2" in finding[2]


def test_control_id_landed_by_an_earlier_file_is_reported(tmp_path: Path) -> None:
    con, files = land(tmp_path, HL7 / "adt_cr.hl7", HL7 / "adt_lf.hl7")
    assert [f.records_accepted for f in files] == [7, 7]
    n = con.execute(
        "select count(*) from raw_meta.validation_findings where rule = 'CONTROL_ID_ALREADY_LANDED'"
    ).fetchone()[0]
    assert n == 7


def test_message_without_msh_is_quarantined_and_the_rest_lands(tmp_path: Path) -> None:
    con, (result,) = land(tmp_path, BAD / "mllp_frame_without_msh.hl7")
    assert (result.records_read, result.records_accepted, result.records_quarantined) == (3, 2, 1)
    index, reason, message, raw = con.execute(
        "select record_index, reason_code, message, raw_text from raw_meta.quarantine"
    ).fetchone()
    assert (index, reason) == (2, "MISSING_MSH")
    assert "mllp_frame_without_msh.hl7 message 2" in message and raw.startswith("EVN|A08|")
    landed = con.execute("select _source_record from raw_ehr.adt_messages order by 1").fetchall()
    assert [r for (r,) in landed] == [1, 3]


def test_missing_optional_segment_lands_with_a_finding(tmp_path: Path) -> None:
    con, (result,) = land(tmp_path, BAD / "missing_pv1.hl7")
    assert result.records_accepted == 1
    assert con.execute("select visit_number, patient_mrn from raw_ehr.adt_messages").fetchone() == (None, "MRN00000001")
    assert con.execute("select rule, severity from raw_meta.validation_findings").fetchall() == [
        ("MISSING_PV1", "warning")
    ]


def test_split_messages_handles_mllp_batches_and_line_ends() -> None:
    text = "\x0bMSH|^~\\&|A\rPID|1\r\x1c\r\x0bMSH|^~\\&|B\nPID|2\n\x1c\r"
    messages, findings = split_messages(text)
    assert [m.lines for m in messages] == [["MSH|^~\\&|A", "PID|1"], ["MSH|^~\\&|B", "PID|2"]]
    assert findings == []
    batch = "FHS|^~\\&\r\nBHS|^~\\&\r\nMSH|^~\\&|A\r\nPID|1\r\nBTS|1\r\nFTS|1\r\n"
    messages, findings = split_messages(batch)
    assert [m.index for m in messages] == [1] and findings == []


@pytest.mark.parametrize(
    ("value", "expected", "offset"),
    [
        ("20260105083000", datetime(2026, 1, 5, 8, 30), False),
        ("202601050830", datetime(2026, 1, 5, 8, 30), False),
        ("20260105", datetime(2026, 1, 5), False),
        ("20260105083000.123-0500", datetime(2026, 1, 5, 8, 30, 0, 123000), True),
        ("2026-01-05", None, False),
        ("20261305", None, False),
    ],
)
def test_parse_hl7_timestamp(value: str, expected: datetime | None, offset: bool) -> None:
    assert parse_hl7_timestamp(value) == (expected, offset)


def test_segments_that_do_not_land_are_kept_in_the_raw_message() -> None:
    text = (
        "MSH|^~\\&|EPIC|GH|||20260105083000||ADT^A01^ADT_A01|X1|P|2.5\r"
        "EVN|A01|20260105083000\r"
        "PID|1||MRN00000042^^^CARELEDGER^MR||ROE^RAY||19700101|M\r"
        "NK1|1|ROE^RITA|SPO\r"
        "PV1|1|E|D-L1-ED^^^L-1||||1234567893|||EMR||||1|||||V00000042\r"
        "OBX|1|NM|8867-4^Heart rate^LN||72|/min\r"
        "ZPV|custom|site|data\r"
    )
    parsed = parse_adt_text(text, "extra.hl7")
    assert parsed.records_read == parsed.records_accepted == 1 and not parsed.findings
    row = parsed.tables["messages"].row(0, named=True)
    assert (row["patient_mrn"], row["visit_number"], row["patient_class"]) == ("MRN00000042", "V00000042", "E")
    assert "\rOBX|1|NM|" in row["raw_message"] and row["raw_message"].endswith("ZPV|custom|site|data")
