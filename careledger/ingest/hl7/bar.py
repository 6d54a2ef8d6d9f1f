"""HL7 v2 BAR loader: patient accounts (BAR^P01 add, P05 update, P06 end, P12 update
diagnosis/procedure, and any other BAR trigger).

A BAR message carries a patient account (PID-18) and one or more visits, each a PV1 followed
by its DG1 diagnoses and PR1 procedures. Every message is an event, as with ADT: nothing is
updated in place in the raw layer; the staging models take the latest event per account. It
lands as

- ``raw_ehr.bar_accounts``: one row per visit group (a message without PV1 lands one row
  with a null visit), with the trigger, account number, visit, class, financial class,
  account status, admit and discharge times;
- ``raw_ehr.bar_diagnoses`` and ``raw_ehr.bar_procedures``: the codes of each visit, with
  the DG1-21 / PR1 action code (A add, D delete, U update) where the sender sends one.

A record is a message; findings for what deviates (no account number, no PV1, bad
timestamps, repeated control ids).
"""

from __future__ import annotations

import polars as pl

from careledger.ingest.hl7.segments import Message, MessageBuilder, check, check_trigger, land_all
from careledger.ingest.hl7.transport import RawMessage
from careledger.ingest.landing import Finding, LoadContext, QuarantinedRecord

MESSAGE_TYPE = "BAR"
KNOWN_EVENTS = ("P01", "P02", "P05", "P06", "P10", "P12")

TABLES = {
    "accounts": "raw_ehr.bar_accounts",
    "diagnoses": "raw_ehr.bar_diagnoses",
    "procedures": "raw_ehr.bar_procedures",
}
SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "accounts": {
        "message_control_id": pl.Utf8,
        "trigger_event": pl.Utf8,
        "message_at": pl.Datetime("us"),
        "event_at": pl.Datetime("us"),
        "sending_facility": pl.Utf8,
        "patient_mrn": pl.Utf8,
        "account_number": pl.Utf8,
        "visit_set": pl.Int32,
        "visit_number": pl.Utf8,
        "patient_class": pl.Utf8,
        "hospital_service": pl.Utf8,
        "attending_npi": pl.Utf8,
        "financial_class": pl.Utf8,
        "account_status": pl.Utf8,
        "admit_at": pl.Datetime("us"),
        "discharge_at": pl.Datetime("us"),
        "raw_message": pl.Utf8,
        "_source_record": pl.Int64,
        "_record_hash": pl.Utf8,
    },
    "diagnoses": {
        "message_control_id": pl.Utf8,
        "account_number": pl.Utf8,
        "visit_number": pl.Utf8,
        "set_id": pl.Int32,
        "diagnosis_code": pl.Utf8,
        "coding_system": pl.Utf8,
        "description": pl.Utf8,
        "diagnosis_type": pl.Utf8,
        "action_code": pl.Utf8,
        "_source_record": pl.Int64,
        "_record_hash": pl.Utf8,
    },
    "procedures": {
        "message_control_id": pl.Utf8,
        "account_number": pl.Utf8,
        "visit_number": pl.Utf8,
        "set_id": pl.Int32,
        "procedure_code": pl.Utf8,
        "coding_system": pl.Utf8,
        "procedure_at": pl.Datetime("us"),
        "surgeon_npi": pl.Utf8,
        "_source_record": pl.Int64,
        "_record_hash": pl.Utf8,
    },
}


def land_messages(ctx: LoadContext, messages: list[RawMessage]) -> int:
    """Land the BAR messages of one file; returns how many were accepted."""
    return land_all(ctx, messages, SCHEMAS, TABLES, _add)


def check_message(raw: RawMessage, source_name: str) -> tuple[QuarantinedRecord | None, list[Finding]]:
    """What landing this one message would report, without a database (the MLLP listener's ACK)."""
    return check(raw, source_name, SCHEMAS, _add)


def _add(b: MessageBuilder, m: Message) -> None:
    trigger = check_trigger(m, "BAR", KNOWN_EVENTS)
    control_id = b.check_control_id(m)
    if "PID" not in m.segments:
        m.finding("warning", "MISSING_PID", "no PID segment", "PID")
    account = m.get("PID", 18, 1)
    if not account:
        m.finding("warning", "MISSING_ACCOUNT_NUMBER", "PID-18 (patient account number) is empty", "PID-18")
    if "PV1" not in m.segments:
        m.finding("warning", "MISSING_PV1", "no PV1 segment: the account lands without a visit", "PV1")
    header = {
        "message_control_id": control_id,
        "trigger_event": trigger,
        "message_at": m.timestamp(m.get("MSH", 7), "MSH-7"),
        "event_at": m.timestamp(m.get("EVN", 2), "EVN-2"),
        "sending_facility": m.get("MSH", 4),
        "patient_mrn": m.mrn(),
        "account_number": account,
        "raw_message": m.text,
    }
    visit: str | None = None
    n_pv1 = n_dg1 = n_pr1 = 0
    if "PV1" not in m.segments:
        b.add_row("accounts", m, {**header, "visit_set": None, "visit_number": None})
    for seg in m.ordered:
        sid = str(seg[0])
        if sid == "PV1":
            n_pv1 += 1
            visit = m.of(seg, 19)
            where = f"PV1[{n_pv1}]"
            if not visit:
                m.finding("warning", "MISSING_VISIT_NUMBER", f"{where}-19 (visit number) is empty", f"{where}-19")
            b.add_row(
                "accounts",
                m,
                {
                    **header,
                    "visit_set": n_pv1,
                    "visit_number": visit,
                    "patient_class": m.of(seg, 2),
                    "hospital_service": m.of(seg, 10),
                    "attending_npi": m.of(seg, 7, 1),
                    "financial_class": m.of(seg, 20, 1),
                    "account_status": m.of(seg, 41),
                    "admit_at": m.timestamp(m.of(seg, 44), f"{where}-44"),
                    "discharge_at": m.timestamp(m.of(seg, 45), f"{where}-45"),
                },
            )
        elif sid == "DG1":
            n_dg1 += 1
            b.add_row(
                "diagnoses",
                m,
                {
                    "message_control_id": control_id,
                    "account_number": account,
                    "visit_number": visit,
                    "set_id": m.set_id(seg, "DG1", n_dg1),
                    "diagnosis_code": m.of(seg, 3, 1),
                    "coding_system": m.of(seg, 3, 3) or m.of(seg, 2),
                    "description": m.of(seg, 3, 2) or m.of(seg, 4),
                    "diagnosis_type": m.of(seg, 6),
                    "action_code": m.of(seg, 21),
                },
            )
        elif sid == "PR1":
            n_pr1 += 1
            b.add_row(
                "procedures",
                m,
                {
                    "message_control_id": control_id,
                    "account_number": account,
                    "visit_number": visit,
                    "set_id": m.set_id(seg, "PR1", n_pr1),
                    "procedure_code": m.of(seg, 3, 1),
                    "coding_system": m.of(seg, 3, 3) or m.of(seg, 2),
                    "procedure_at": m.timestamp(m.of(seg, 5), f"PR1[{n_pr1}]-5"),
                    "surgeon_npi": m.of(seg, 11, 1) or m.of(seg, 12, 1),
                },
            )
