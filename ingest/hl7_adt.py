"""HL7 v2.x ADT loader (A01 admit, A03 discharge, A04 register, A08 update, A11/A13 cancels,
A40 merge, and any other ADT trigger).

Files may hold one or many messages, with ``\\r``, ``\\n`` or ``\\r\\n`` segment ends, optional
MLLP framing (``0x0b`` ... ``0x1c 0x0d``), a UTF-8 byte-order mark, and batch envelopes
(FHS/BHS ... BTS/FTS). Each message is parsed with the ``hl7`` package (python-hl7), which
also decodes escape sequences (``\\F\\ \\S\\ \\T\\ \\R\\ \\E\\``).

Records: one record is one message (1-based, in file order); segments that come before any
MSH (outside an envelope) form a record of their own and are quarantined as
``MISSING_MSH``. A message whose structure cannot be parsed is quarantined; a message that
can be understood lands in ``raw_ehr.adt_messages`` (plus ``adt_diagnoses``,
``adt_procedures``, ``adt_insurance``) with findings for what deviates (missing optional
segments, repeated MSH-10 control ids, bad timestamps, ...). Cancels (A11, A13) and merges
(A40) land as events like any other message; nothing is deleted.

Timestamps keep the sender's wall-clock time; a UTC offset (``-0500``) is dropped and noted
as an ``info`` finding, since the raw layer keeps what the source said.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime

import hl7
import polars as pl
from hl7.util import unescape as hl7_unescape

from ingest.landing import Finding, LoadContext, LoadCounts, QuarantinedRecord, record_hash

log = logging.getLogger(__name__)

MLLP_START = "\x0b"
MLLP_END = "\x1c"
SEGMENT_ID = re.compile(r"^[A-Z][A-Z0-9]{2}$")
TS_PATTERN = re.compile(
    r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,6}))?([+-]\d{4})?$"
)
ENVELOPE_SEGMENTS = ("FHS", "BHS", "BTS", "FTS")
LANDED_SEGMENTS = frozenset({"MSH", "EVN", "PID", "PV1", "PV2", "MRG", "DG1", "PR1", "IN1"})
KNOWN_EVENTS = ("A01", "A02", "A03", "A04", "A05", "A06", "A07", "A08", "A11", "A12", "A13", "A40")
MAX_FINDINGS_PER_RULE = 50

TABLES = {
    "messages": "raw_ehr.adt_messages",
    "diagnoses": "raw_ehr.adt_diagnoses",
    "procedures": "raw_ehr.adt_procedures",
    "insurance": "raw_ehr.adt_insurance",
}

MESSAGE_SCHEMA: dict[str, pl.DataType] = {
    "message_control_id": pl.Utf8, "message_type": pl.Utf8, "trigger_event": pl.Utf8,
    "message_at": pl.Datetime("us"), "event_at": pl.Datetime("us"), "sending_application": pl.Utf8,
    "sending_facility": pl.Utf8, "hl7_version": pl.Utf8, "patient_mrn": pl.Utf8,
    "patient_family_name": pl.Utf8, "patient_given_name": pl.Utf8, "birth_date": pl.Date, "sex": pl.Utf8,
    "address_line": pl.Utf8, "city": pl.Utf8, "state": pl.Utf8, "zip": pl.Utf8, "phone": pl.Utf8,
    "ssn": pl.Utf8, "visit_number": pl.Utf8, "patient_class": pl.Utf8, "point_of_care": pl.Utf8,
    "room": pl.Utf8, "bed": pl.Utf8, "location_facility": pl.Utf8, "attending_npi": pl.Utf8,
    "hospital_service": pl.Utf8, "admit_source": pl.Utf8, "discharge_disposition": pl.Utf8,
    "admit_at": pl.Datetime("us"), "discharge_at": pl.Datetime("us"), "admit_reason": pl.Utf8,
    "prior_mrn": pl.Utf8, "prior_visit_number": pl.Utf8, "raw_message": pl.Utf8,
    "_source_record": pl.Int64, "_record_hash": pl.Utf8,
}
DIAGNOSIS_SCHEMA: dict[str, pl.DataType] = {
    "message_control_id": pl.Utf8, "visit_number": pl.Utf8, "set_id": pl.Int32, "diagnosis_code": pl.Utf8,
    "coding_system": pl.Utf8, "description": pl.Utf8, "diagnosis_type": pl.Utf8,
    "_source_record": pl.Int64, "_record_hash": pl.Utf8,
}
PROCEDURE_SCHEMA: dict[str, pl.DataType] = {
    "message_control_id": pl.Utf8, "visit_number": pl.Utf8, "set_id": pl.Int32, "procedure_code": pl.Utf8,
    "coding_system": pl.Utf8, "procedure_at": pl.Datetime("us"), "surgeon_npi": pl.Utf8,
    "_source_record": pl.Int64, "_record_hash": pl.Utf8,
}
INSURANCE_SCHEMA: dict[str, pl.DataType] = {
    "message_control_id": pl.Utf8, "visit_number": pl.Utf8, "set_id": pl.Int32, "plan_id": pl.Utf8,
    "company_id": pl.Utf8, "company_name": pl.Utf8, "group_number": pl.Utf8, "member_id": pl.Utf8,
    "_source_record": pl.Int64, "_record_hash": pl.Utf8,
}


@dataclass
class RawMessage:
    """One message cut out of the file: its 1-based index and its segment lines."""

    index: int
    lines: list[str]
    has_msh: bool

    @property
    def text(self) -> str:
        return "\r".join(self.lines)


@dataclass
class ParsedADT:
    """The result of parsing one ADT file: table frames plus what to report."""

    tables: dict[str, pl.DataFrame]
    records_read: int
    quarantined: list[QuarantinedRecord] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def records_accepted(self) -> int:
        return self.records_read - len({q.record_index for q in self.quarantined})


class _BadMessage(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


# ---------------------------------------------------------------------------- public API


def load(ctx: LoadContext) -> LoadCounts:
    """Land one HL7 v2 ADT file (called by ``ingest.landing.land_file``)."""
    text, decode_findings = decode_hl7_bytes(ctx.path.read_bytes(), ctx.path.name)
    parsed = parse_adt_text(text, source_name=ctx.path.name)
    ctx.findings.extend(decode_findings)
    ctx.findings.extend(parsed.findings)
    ctx.quarantined.extend(parsed.quarantined)
    _add_prior_control_id_findings(ctx, parsed)
    for key, table in TABLES.items():
        frame = parsed.tables[key]
        if frame.height:
            ctx.insert_frame(table, frame)
    return LoadCounts(records_read=parsed.records_read, records_accepted=parsed.records_accepted)


def decode_hl7_bytes(data: bytes, source_name: str = "<bytes>") -> tuple[str, list[Finding]]:
    """Decode HL7 bytes: UTF-8 with the BOM stripped, falling back to latin-1 with a finding."""
    findings: list[Finding] = []
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
        findings.append(Finding(0, "info", "BOM_STRIPPED", f"{source_name}: UTF-8 byte-order mark removed", "file"))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        text = data.decode("latin-1")
        findings.append(Finding(0, "warning", "NOT_UTF8",
                                f"{source_name}: not valid UTF-8 ({exc.reason} at byte {exc.start}); read as latin-1",
                                "file"))
    return text, findings


def split_messages(text: str, source_name: str = "<text>") -> tuple[list[RawMessage], list[Finding]]:
    """Cut a file into messages: MLLP frames, batch envelopes and any segment ending.

    Returns the messages (1-based index) and envelope findings (batch counts).
    """
    findings: list[Finding] = []
    text = text.lstrip("\ufeff")
    if MLLP_START in text:
        unterminated = sum(1 for b in text.split(MLLP_START)[1:] if MLLP_END not in b)
        if unterminated:
            findings.append(Finding(0, "warning", "MLLP_FRAME_UNTERMINATED",
                                    f"{source_name}: {unterminated} MLLP frame(s) without the 0x1c end block; "
                                    f"read to the next start block or end of file", "file"))
        blocks = [b.split(MLLP_END, 1)[0] for b in text.split(MLLP_START)]
        outside = "".join(b.split(MLLP_END, 1)[1] if MLLP_END in b else "" for b in text.split(MLLP_START)[1:])
        outside += text.split(MLLP_START, 1)[0]
        if outside.strip():
            findings.append(Finding(0, "warning", "TEXT_OUTSIDE_MLLP_FRAME",
                                    f"{source_name}: {len(outside.strip())} characters outside MLLP frames "
                                    f"were ignored", "file"))
        blocks = blocks[1:]
    else:
        blocks = [text]
    messages: list[RawMessage] = []
    batch_open: dict | None = None
    file_open: dict | None = None
    for block in blocks:
        current: RawMessage | None = None
        lines = block.replace("\r\n", "\r").replace("\n", "\r").split("\r")
        for line in lines:
            line = line.strip()
            if not line:
                continue
            sid = line[:3]
            if sid in ENVELOPE_SEGMENTS and len(line) > 3 and not line[3].isalnum():
                current = None
                sep = line[3]
                parts = line.split(sep)
                if sid == "FHS":
                    file_open = {"batches": 0}
                elif sid == "BHS":
                    batch_open = {"messages": 0}
                    if file_open is not None:
                        file_open["batches"] += 1
                elif sid == "BTS":
                    declared = parts[1].strip() if len(parts) > 1 else ""
                    if batch_open is None:
                        findings.append(Finding(0, "warning", "BTS_WITHOUT_BHS",
                                                f"{source_name}: BTS without a BHS", "BTS"))
                    elif declared and declared != str(batch_open["messages"]):
                        findings.append(Finding(0, "warning", "BATCH_COUNT_MISMATCH",
                                                f"{source_name}: BTS-1 says {declared} messages, counted "
                                                f"{batch_open['messages']}", "BTS"))
                    batch_open = None
                else:  # FTS
                    declared = parts[1].strip() if len(parts) > 1 else ""
                    if file_open is None:
                        findings.append(Finding(0, "warning", "FTS_WITHOUT_FHS",
                                                f"{source_name}: FTS without an FHS", "FTS"))
                    elif declared and declared != str(file_open["batches"]):
                        findings.append(Finding(0, "warning", "FILE_BATCH_COUNT_MISMATCH",
                                                f"{source_name}: FTS-1 says {declared} batches, counted "
                                                f"{file_open['batches']}", "FTS"))
                    file_open = None
                continue
            if sid == "MSH":
                current = RawMessage(len(messages) + 1, [line], True)
                messages.append(current)
                if batch_open is not None:
                    batch_open["messages"] += 1
            elif current is None:
                current = RawMessage(len(messages) + 1, [line], False)
                messages.append(current)
                if batch_open is not None:
                    batch_open["messages"] += 1
            else:
                current.lines.append(line)
    if batch_open is not None:
        findings.append(Finding(0, "warning", "MISSING_BTS", f"{source_name}: BHS batch has no BTS trailer",
                                "end of file"))
    if file_open is not None:
        findings.append(Finding(0, "warning", "MISSING_FTS", f"{source_name}: FHS file has no FTS trailer",
                                "end of file"))
    return messages, findings


def parse_adt_text(text: str, source_name: str = "<text>") -> ParsedADT:
    """Parse ADT text into the four ``raw_ehr.adt_*`` frames (pure; no database)."""
    messages, findings = split_messages(text, source_name)
    builder = _Builder(source_name, findings)
    for msg in messages:
        builder.add(msg)
    return ParsedADT(tables=builder.frames(), records_read=len(messages), quarantined=builder.quarantined,
                     findings=builder.findings)


# ---------------------------------------------------------------------------- helpers


def parse_hl7_timestamp(value: str) -> tuple[datetime | None, bool]:
    """HL7 TS/DTM -> naive datetime (sender's wall clock); second item: an offset was dropped."""
    m = TS_PATTERN.match(value.strip())
    if not m:
        return None, False
    year, month, day, hour, minute, second, frac, offset = m.groups()
    try:
        dt = datetime(int(year), int(month or 1), int(day or 1), int(hour or 0), int(minute or 0),
                      int(second or 0), int((frac or "0").ljust(6, "0")))
    except ValueError:
        return None, False
    return dt, offset is not None


class _Builder:
    def __init__(self, source_name: str, findings: list[Finding]) -> None:
        self.src = source_name
        self.findings = findings
        self.quarantined: list[QuarantinedRecord] = []
        self.rows: dict[str, list[dict]] = {k: [] for k in TABLES}
        self.control_ids: dict[str, int] = {}
        self._rule_counts: dict[str, int] = {}

    def finding(self, index: int, severity: str, rule: str, message: str, location: str | None) -> None:
        n = self._rule_counts.get(rule, 0) + 1
        self._rule_counts[rule] = n
        if n <= MAX_FINDINGS_PER_RULE:
            self.findings.append(Finding(index, severity, rule, f"{self.src} message {index}: {message}", location))
        elif n == MAX_FINDINGS_PER_RULE + 1:
            self.findings.append(Finding(index, "info", rule, f"{self.src}: more {rule} findings suppressed", None))

    def add(self, raw: RawMessage) -> None:
        text = raw.text
        try:
            msg = self._parse(raw)
            self._land(raw, msg, text)
        except _BadMessage as bad:
            self.quarantined.append(QuarantinedRecord(
                raw.index, bad.reason, f"{self.src} message {raw.index}: {bad.message}", text))

    def _parse(self, raw: RawMessage) -> hl7.Message:
        if not raw.has_msh:
            raise _BadMessage("MISSING_MSH", f"segments without an MSH header (starts {raw.lines[0][:40]!r})")
        msh = raw.lines[0]
        if len(msh) < 8 or msh[3].isalnum() or msh[3].isspace():
            raise _BadMessage("BAD_MSH", f"MSH has no usable field separator and encoding characters ({msh[:20]!r})")
        sep = msh[3]
        encoding = msh[4:].split(sep, 1)[0]
        distinct = len(set(encoding)) == len(encoding) and sep not in encoding
        if not 3 <= len(encoding) <= 5 or not distinct or any(c.isalnum() or c.isspace() for c in encoding):
            raise _BadMessage("BAD_MSH", f"MSH-2 encoding characters {encoding!r} are not 3-4 distinct symbols")
        for n, line in enumerate(raw.lines[1:], start=2):
            if not SEGMENT_ID.match(line[:3]) or (len(line) > 3 and line[3] != sep):
                raise _BadMessage("UNPARSEABLE_SEGMENT",
                                  f"segment {n} is not an HL7 segment ({line[:40]!r}); expected a 3-character "
                                  f"segment id followed by {sep!r}")
        try:
            # parse what lands (every line was checked above); NK1, OBX, AL1, Z-segments ... stay in raw_message
            return hl7.parse("\r".join(line for line in raw.lines if line[:3] in LANDED_SEGMENTS))
        except Exception as exc:  # the hl7 package raises several types for malformed structure
            raise _BadMessage("UNPARSEABLE_MESSAGE", f"the hl7 parser rejected the message: {exc}") from exc

    def _land(self, raw: RawMessage, msg: hl7.Message, text: str) -> None:
        idx = raw.index
        segs: dict[str, list[hl7.Segment]] = {}
        for seg in msg:
            segs.setdefault(str(seg[0]), []).append(seg)

        def get(seg_id: str, fld: int, comp: int = 1, rep: int = 1, sub: int = 1, n: int = 0) -> str | None:
            found = segs.get(seg_id)
            if not found or n >= len(found):
                return None
            return _field(found[n], fld, comp, rep, sub)

        message_type = get("MSH", 9, 1)
        trigger = get("MSH", 9, 2) or get("EVN", 1)
        if not message_type:
            raise _BadMessage("MISSING_MESSAGE_TYPE", "MSH-9 (message type) is empty")
        if message_type != "ADT":
            raise _BadMessage("UNSUPPORTED_MESSAGE_TYPE",
                              f"MSH-9 is {message_type}^{trigger or ''}, not an ADT message")
        if not trigger:
            self.finding(idx, "warning", "MISSING_TRIGGER_EVENT", "MSH-9.2 and EVN-1 are empty", "MSH-9")
        elif trigger not in KNOWN_EVENTS:
            self.finding(idx, "info", "UNMODELLED_TRIGGER_EVENT", f"trigger event {trigger} lands but is not one the "
                         f"warehouse models ({', '.join(KNOWN_EVENTS)})", "MSH-9")
        control_id = get("MSH", 10)
        if not control_id:
            self.finding(idx, "warning", "MISSING_CONTROL_ID", "MSH-10 (message control id) is empty", "MSH-10")
        elif control_id in self.control_ids:
            self.finding(idx, "warning", "DUPLICATE_CONTROL_ID",
                         f"MSH-10 {control_id} repeats message {self.control_ids[control_id]} in this file; both land",
                         "MSH-10")
        else:
            self.control_ids[control_id] = idx
        if "PID" not in segs:
            self.finding(idx, "warning", "MISSING_PID", "no PID segment", "PID")
        if "PV1" not in segs and trigger != "A40":
            self.finding(idx, "warning", "MISSING_PV1", "no PV1 segment", "PV1")
        if "EVN" not in segs:
            self.finding(idx, "info", "MISSING_EVN", "no EVN segment", "EVN")
        if trigger == "A40" and "MRG" not in segs:
            self.finding(idx, "warning", "MISSING_MRG", "A40 merge without an MRG segment", "MRG")
        visit = get("PV1", 19)
        if "PV1" in segs and not visit:
            self.finding(idx, "warning", "MISSING_VISIT_NUMBER", "PV1-19 (visit number) is empty", "PV1-19")

        def ts(value: str | None, where: str) -> datetime | None:
            if not value:
                return None
            parsed, had_offset = parse_hl7_timestamp(value)
            if parsed is None:
                self.finding(idx, "warning", "BAD_TIMESTAMP",
                             f"{where} {value!r} is not an HL7 timestamp; landed as null", where)
            elif had_offset:
                self.finding(idx, "info", "TIMEZONE_OFFSET_DROPPED",
                             f"{where} {value!r}: the UTC offset was dropped (sender wall-clock time kept)", where)
            return parsed

        birth = get("PID", 7)
        birth_date: date | None = None
        if birth:
            parsed_birth, _ = parse_hl7_timestamp(birth)
            if parsed_birth is None:
                self.finding(idx, "warning", "BAD_DATE", f"PID-7 {birth!r} is not an HL7 date; landed as null", "PID-7")
            else:
                birth_date = parsed_birth.date()

        mrn = self._mrn(segs.get("PID", [None])[0])
        phone = get("PID", 13, 1) or get("PID", 13, 12) or _join_phone(get("PID", 13, 6), get("PID", 13, 7))
        h = record_hash(text)
        self.rows["messages"].append({
            "message_control_id": control_id, "message_type": message_type, "trigger_event": trigger,
            "message_at": ts(get("MSH", 7), "MSH-7"),
            "event_at": ts(get("EVN", 6), "EVN-6") or ts(get("EVN", 2), "EVN-2"),
            "sending_application": get("MSH", 3), "sending_facility": get("MSH", 4), "hl7_version": get("MSH", 12),
            "patient_mrn": mrn, "patient_family_name": get("PID", 5, 1), "patient_given_name": get("PID", 5, 2),
            "birth_date": birth_date, "sex": get("PID", 8), "address_line": get("PID", 11, 1),
            "city": get("PID", 11, 3), "state": get("PID", 11, 4), "zip": get("PID", 11, 5), "phone": phone,
            "ssn": get("PID", 19), "visit_number": visit, "patient_class": get("PV1", 2),
            "point_of_care": get("PV1", 3, 1), "room": get("PV1", 3, 2), "bed": get("PV1", 3, 3),
            "location_facility": get("PV1", 3, 4), "attending_npi": get("PV1", 7, 1),
            "hospital_service": get("PV1", 10), "admit_source": get("PV1", 14),
            "discharge_disposition": get("PV1", 36), "admit_at": ts(get("PV1", 44), "PV1-44"),
            "discharge_at": ts(get("PV1", 45), "PV1-45"),
            "admit_reason": get("PV2", 3, 2) or get("PV2", 3, 1),
            "prior_mrn": get("MRG", 1, 1), "prior_visit_number": get("MRG", 5, 1),
            "raw_message": text, "_source_record": idx, "_record_hash": h,
        })

        def set_id(seg_id: str, n: int) -> int | None:
            value = get(seg_id, 1, n=n)
            if value is None:
                return None
            if not value.strip().isdigit():
                self.finding(idx, "warning", "BAD_SET_ID", f"{seg_id}-1 {value!r} is not a number; landed as null",
                             f"{seg_id}[{n + 1}]-1")
                return None
            return int(value)

        common = {"message_control_id": control_id, "visit_number": visit, "_source_record": idx, "_record_hash": h}
        for n, _ in enumerate(segs.get("DG1", [])):
            self.rows["diagnoses"].append({
                **common, "set_id": set_id("DG1", n), "diagnosis_code": get("DG1", 3, 1, n=n),
                "coding_system": get("DG1", 3, 3, n=n) or get("DG1", 2, n=n),
                "description": get("DG1", 3, 2, n=n) or get("DG1", 4, n=n), "diagnosis_type": get("DG1", 6, n=n),
            })
        for n, _ in enumerate(segs.get("PR1", [])):
            self.rows["procedures"].append({
                **common, "set_id": set_id("PR1", n), "procedure_code": get("PR1", 3, 1, n=n),
                "coding_system": get("PR1", 3, 3, n=n) or get("PR1", 2, n=n),
                "procedure_at": ts(get("PR1", 5, n=n), f"PR1[{n + 1}]-5"),
                "surgeon_npi": get("PR1", 11, 1, n=n) or get("PR1", 12, 1, n=n),
            })
        for n, _ in enumerate(segs.get("IN1", [])):
            self.rows["insurance"].append({
                **common, "set_id": set_id("IN1", n), "plan_id": get("IN1", 2, 1, n=n),
                "company_id": get("IN1", 3, 1, n=n), "company_name": get("IN1", 4, 1, n=n),
                "group_number": get("IN1", 8, n=n), "member_id": get("IN1", 36, n=n) or get("IN1", 49, 1, n=n),
            })

    @staticmethod
    def _mrn(pid: hl7.Segment | None) -> str | None:
        """PID-3: the repetition whose identifier type (CX.5) is MR, else the first."""
        if pid is None:
            return None
        first = _field(pid, 3, 1, 1)
        for rep in range(1, 6):
            value = _field(pid, 3, 1, rep)
            if value is None:
                break
            if _field(pid, 3, 5, rep) == "MR":
                return value
        return first

    def frames(self) -> dict[str, pl.DataFrame]:
        schemas = {"messages": MESSAGE_SCHEMA, "diagnoses": DIAGNOSIS_SCHEMA, "procedures": PROCEDURE_SCHEMA,
                   "insurance": INSURANCE_SCHEMA}
        return {k: pl.DataFrame(self.rows[k], schema=schemas[k], orient="row") if self.rows[k]
                else pl.DataFrame(schema=schemas[k]) for k in TABLES}


def _field(seg: hl7.Segment, fld: int, comp: int = 1, rep: int = 1, sub: int = 1) -> str | None:
    """One value of a segment (HL7 1-based numbering, unescaped), or None when absent or empty.

    Walks python-hl7's containers directly (the same rules as ``Segment.extract_field``
    without its accessor objects, which dominate the cost on large files).
    """
    if fld >= len(seg):
        return None
    field = seg(fld)
    if not isinstance(field, hl7.Field):
        value = field if comp == 1 and rep == 1 and sub == 1 else None
    else:
        if rep > len(field):
            return None
        value = field(rep)
        if isinstance(value, hl7.Repetition):
            if comp > len(value):
                return None
            value = value(comp)
            if isinstance(value, hl7.Component):
                value = value(sub) if sub <= len(value) else None
            elif sub != 1:
                value = None
        elif comp != 1 or sub != 1:
            value = None
    if not value:
        return None
    value = str(value)
    if seg.esc in value:
        value = hl7_unescape(seg, value)
    value = value.strip()
    return value or None


def _join_phone(area: str | None, local: str | None) -> str | None:
    if not area and not local:
        return None
    return f"{area or ''}{local or ''}"


def _add_prior_control_id_findings(ctx: LoadContext, parsed: ParsedADT) -> None:
    """An MSH-10 already landed by an earlier batch is reported (the message still lands)."""
    frame = parsed.tables["messages"]
    if frame.height == 0:
        return
    ids = frame["message_control_id"].drop_nulls().unique().to_list()
    if not ids:
        return
    rows = ctx.con.execute(
        "select message_control_id, min(_source_file) from raw_ehr.adt_messages "
        "where message_control_id in (select unnest(?::varchar[])) and _batch_id <> ? group by 1 order by 1",
        [ids, ctx.batch_id],
    ).fetchall()
    first_index = dict(zip(frame["message_control_id"].to_list(), frame["_source_record"].to_list(), strict=True))
    for n, (control_id, source_file) in enumerate(rows):
        if n >= MAX_FINDINGS_PER_RULE:
            break
        ctx.finding(first_index.get(control_id, 0), "warning", "CONTROL_ID_ALREADY_LANDED",
                    f"{ctx.path.name}: MSH-10 {control_id} was already landed from {source_file}", "MSH-10")
