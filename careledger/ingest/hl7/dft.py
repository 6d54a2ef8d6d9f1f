"""HL7 v2 DFT loader: detail financial transactions (DFT^P03, and any other DFT trigger).

A DFT message carries the charges the EHR captured for a visit: one FT1 segment per
transaction (charge ``CG``, credit ``CD``, payment ``PY``, adjustment ``AJ``), each with its
own PR1 procedures, plus the visit's DG1 diagnoses. It lands as

- ``raw_ehr.dft_messages``: one row per message (header, patient, account, visit);
- ``raw_ehr.dft_charges``: one row per FT1 (date, type, code, quantity, amounts as
  ``decimal(18, 2)``, department, CPT/HCPCS and modifiers, performing/ordering NPI);
- ``raw_ehr.dft_procedures`` (PR1, with the set id of the FT1 it follows) and
  ``raw_ehr.dft_diagnoses`` (DG1).

A record is a message. Findings, not quarantine, for what deviates but can be understood: no
FT1 (``MISSING_FT1``), an amount or quantity that is not a number (``BAD_NUMBER``), an
extended amount that is not quantity x unit amount (``AMOUNT_MISMATCH``), no visit number,
bad timestamps, repeated control ids. The router (``careledger.ingest.hl7.router``) hands this
module only the DFT messages of a file.
"""

from __future__ import annotations

import polars as pl

from careledger.ingest.hl7.segments import Message, MessageBuilder, check, check_trigger, land_all
from careledger.ingest.hl7.transport import RawMessage
from careledger.ingest.landing import Finding, LoadContext, QuarantinedRecord

MESSAGE_TYPE = "DFT"
KNOWN_EVENTS = ("P03", "P11")
TRANSACTION_TYPES = ("CG", "CD", "PY", "AJ")

TABLES = {
    "messages": "raw_ehr.dft_messages",
    "charges": "raw_ehr.dft_charges",
    "procedures": "raw_ehr.dft_procedures",
    "diagnoses": "raw_ehr.dft_diagnoses",
}
_MONEY = pl.Decimal(18, 2)
SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "messages": {
        "message_control_id": pl.Utf8,
        "trigger_event": pl.Utf8,
        "message_at": pl.Datetime("us"),
        "event_at": pl.Datetime("us"),
        "sending_application": pl.Utf8,
        "sending_facility": pl.Utf8,
        "hl7_version": pl.Utf8,
        "patient_mrn": pl.Utf8,
        "account_number": pl.Utf8,
        "visit_number": pl.Utf8,
        "patient_class": pl.Utf8,
        "attending_npi": pl.Utf8,
        "charge_count": pl.Int32,
        "raw_message": pl.Utf8,
        "_source_record": pl.Int64,
        "_record_hash": pl.Utf8,
    },
    "charges": {
        "message_control_id": pl.Utf8,
        "visit_number": pl.Utf8,
        "set_id": pl.Int32,
        "transaction_id": pl.Utf8,
        "transaction_batch_id": pl.Utf8,
        "transaction_date": pl.Date,
        "posting_date": pl.Date,
        "transaction_type": pl.Utf8,
        "transaction_code": pl.Utf8,
        "transaction_description": pl.Utf8,
        "quantity": pl.Decimal(18, 3),
        "extended_amount": _MONEY,
        "unit_amount": _MONEY,
        "department_code": pl.Utf8,
        "procedure_code": pl.Utf8,
        "procedure_coding_system": pl.Utf8,
        "modifiers": pl.Utf8,
        "diagnosis_code": pl.Utf8,
        "performed_by_npi": pl.Utf8,
        "ordered_by_npi": pl.Utf8,
        "_source_record": pl.Int64,
        "_record_hash": pl.Utf8,
    },
    "procedures": {
        "message_control_id": pl.Utf8,
        "visit_number": pl.Utf8,
        "charge_set_id": pl.Int32,
        "set_id": pl.Int32,
        "procedure_code": pl.Utf8,
        "coding_system": pl.Utf8,
        "procedure_at": pl.Datetime("us"),
        "surgeon_npi": pl.Utf8,
        "_source_record": pl.Int64,
        "_record_hash": pl.Utf8,
    },
    "diagnoses": {
        "message_control_id": pl.Utf8,
        "visit_number": pl.Utf8,
        "set_id": pl.Int32,
        "diagnosis_code": pl.Utf8,
        "coding_system": pl.Utf8,
        "description": pl.Utf8,
        "diagnosis_type": pl.Utf8,
        "_source_record": pl.Int64,
        "_record_hash": pl.Utf8,
    },
}


def land_messages(ctx: LoadContext, messages: list[RawMessage]) -> int:
    """Land the DFT messages of one file; returns how many were accepted."""
    return land_all(ctx, messages, SCHEMAS, TABLES, _add)


def check_message(raw: RawMessage, source_name: str) -> tuple[QuarantinedRecord | None, list[Finding]]:
    """What landing this one message would report, without a database (the MLLP listener's ACK)."""
    return check(raw, source_name, SCHEMAS, _add)


def _add(b: MessageBuilder, m: Message) -> None:
    trigger = check_trigger(m, "DFT", KNOWN_EVENTS)
    control_id = b.check_control_id(m)
    if "PID" not in m.segments:
        m.finding("warning", "MISSING_PID", "no PID segment", "PID")
    visit = m.get("PV1", 19)
    account = m.get("PID", 18, 1)
    if not visit:
        m.finding("warning", "MISSING_VISIT_NUMBER", "PV1-19 (visit number) is empty", "PV1-19")
    charges = m.segments.get("FT1", [])
    if not charges:
        m.finding("warning", "MISSING_FT1", "a DFT message without FT1 segments carries no charge", "FT1")
    b.add_row(
        "messages",
        m,
        {
            "message_control_id": control_id,
            "trigger_event": trigger,
            "message_at": m.timestamp(m.get("MSH", 7), "MSH-7"),
            "event_at": m.timestamp(m.get("EVN", 2), "EVN-2"),
            "sending_application": m.get("MSH", 3),
            "sending_facility": m.get("MSH", 4),
            "hl7_version": m.get("MSH", 12),
            "patient_mrn": m.mrn(),
            "account_number": account,
            "visit_number": visit,
            "patient_class": m.get("PV1", 2),
            "attending_npi": m.get("PV1", 7, 1),
            "charge_count": len(charges),
            "raw_message": m.text,
        },
    )
    common = {"message_control_id": control_id, "visit_number": visit}
    for n, ft1 in enumerate(charges, start=1):
        where = f"FT1[{n}]"
        ttype = m.of(ft1, 6)
        if ttype and ttype not in TRANSACTION_TYPES:
            m.finding(
                "info",
                "UNKNOWN_TRANSACTION_TYPE",
                f"{where}-6 transaction type {ttype!r} is not one of {', '.join(TRANSACTION_TYPES)}",
                f"{where}-6",
            )
        quantity = m.decimal(m.of(ft1, 10), f"{where}-10", places=3)
        extended = m.decimal(m.of(ft1, 11), f"{where}-11")
        unit = m.decimal(m.of(ft1, 12), f"{where}-12")
        if m.of(ft1, 11) is None and unit is not None and quantity is not None:
            extended = (unit * quantity).quantize(unit)
            m.finding(
                "info", "EXTENDED_AMOUNT_DERIVED", f"{where}-11 empty; quantity x unit amount used", f"{where}-11"
            )
        elif extended is not None and unit is not None and quantity is not None and (unit * quantity) != extended:
            m.finding(
                "warning",
                "AMOUNT_MISMATCH",
                f"{where}-11 extended amount {extended} is not quantity {quantity} x unit amount {unit}; "
                "the extended amount lands",
                f"{where}-11",
            )
        if extended is None:
            m.finding("warning", "MISSING_AMOUNT", f"{where}-11 (extended amount) is empty", f"{where}-11")
        modifiers = [m.of(ft1, 26, 1, rep) for rep in range(1, 5)]
        b.add_row(
            "charges",
            m,
            {
                **common,
                "set_id": m.set_id(ft1, "FT1", n),
                "transaction_id": m.of(ft1, 2),
                "transaction_batch_id": m.of(ft1, 3),
                "transaction_date": m.date(m.of(ft1, 4, 1), f"{where}-4"),
                "posting_date": m.date(m.of(ft1, 5), f"{where}-5"),
                "transaction_type": ttype,
                "transaction_code": m.of(ft1, 7, 1),
                "transaction_description": m.of(ft1, 8) or m.of(ft1, 7, 2),
                "quantity": quantity,
                "extended_amount": extended,
                "unit_amount": unit,
                "department_code": m.of(ft1, 13, 1),
                "procedure_code": m.of(ft1, 25, 1),
                "procedure_coding_system": m.of(ft1, 25, 3),
                "modifiers": ",".join(x for x in modifiers if x) or None,
                "diagnosis_code": m.of(ft1, 19, 1),
                "performed_by_npi": m.of(ft1, 20, 1),
                "ordered_by_npi": m.of(ft1, 21, 1),
            },
        )
    # PR1 belongs to the FT1 it follows (DFT_P03's FINANCIAL group)
    charge_set: int | None = None
    n_pr1 = n_dg1 = 0
    for seg in m.ordered:
        sid = str(seg[0])
        if sid == "FT1":
            value = m.of(seg, 1)
            charge_set = int(value) if value and value.isdigit() else None
        elif sid == "PR1":
            n_pr1 += 1
            b.add_row(
                "procedures",
                m,
                {
                    **common,
                    "charge_set_id": charge_set,
                    "set_id": m.set_id(seg, "PR1", n_pr1),
                    "procedure_code": m.of(seg, 3, 1),
                    "coding_system": m.of(seg, 3, 3) or m.of(seg, 2),
                    "procedure_at": m.timestamp(m.of(seg, 5), f"PR1[{n_pr1}]-5"),
                    "surgeon_npi": m.of(seg, 11, 1) or m.of(seg, 12, 1),
                },
            )
        elif sid == "DG1":
            n_dg1 += 1
            b.add_row(
                "diagnoses",
                m,
                {
                    **common,
                    "set_id": m.set_id(seg, "DG1", n_dg1),
                    "diagnosis_code": m.of(seg, 3, 1),
                    "coding_system": m.of(seg, 3, 3) or m.of(seg, 2),
                    "description": m.of(seg, 3, 2) or m.of(seg, 4),
                    "diagnosis_type": m.of(seg, 6),
                },
            )
