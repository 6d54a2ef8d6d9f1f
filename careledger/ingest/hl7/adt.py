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

Two paths, one result. ``load`` (the loader) works in bulk in DuckDB SQL (``careledger.ingest.hl7.adt_sql``):
the decoded text (segment ends made ``\\r``) is cut into messages and segments, fields and
components are read by position with the delimiters of the file's MSH, values are unescaped
(``\\F\\ \\S\\ \\T\\ \\R\\ \\E\\``) and stripped, timestamps parsed, and the rows inserted with
``insert ... select``. A message SQL does not call clean -- any quarantine reason or finding the
Python path would report (other than a dropped UTC offset, which SQL reports itself), any other
escape sequence, a control id seen twice in the file, another delimiter set -- is parsed by
``_Builder`` with the ``hl7`` package exactly as ``parse_adt_text`` does, so quarantine reasons,
messages and findings (and the per-rule cap, applied over both paths in message order) do not
change. Files with MLLP framing, a NUL or U+FFFF character, or no usable MSH delimiters go
wholly through ``parse_adt_text``; files with FHS/BHS envelopes are cut by ``split_messages``.
``load_python`` keeps the pure-Python path callable; tests/unit/ingest/test_hl7_adt_sql.py lands
fixtures, the bad corpus, edge cases and simulator files through both and compares every table.

Sampling policy (the ``hl7`` package as the reference parser): in every file the
``SAMPLE_PER_FILE`` = 8 SQL-landed messages with the smallest ``_record_hash`` (the same file
always gives the same sample) are parsed again with ``hl7.parse`` and every extracted column,
child row and offset finding is compared; a difference is a ``warning`` finding
``HL7_SAMPLE_MISMATCH`` naming the message index and the field (location ``table.column``).
Measured cost: ~1.5 ms per sampled message (the ``hl7`` parse and row building) plus ~20 ms of
queries per file, about 30 ms a file (~2-3 % of a 1,000-message day file on the SQL path).

The SQL statements are prepared once per connection (per delimiter set and ``is_plain``) on
work tables that are emptied per file; ``statistics_propagation`` and
``compressed_materialization`` are switched off while they run, as a prepared plan must not rest
on the statistics of a previous file's rows, and ``threads`` is 1 (measured: 2 threads cost ~15 %
more CPU and wall on 2 cores). Creating a temporary object (``con.register`` in
``careledger.ingest.landing``) makes DuckDB re-bind them; the statements are short so that costs ~25 ms, not
the ~0.35 s of the first version. Measured per ~1,100-message file: ~0.25 s CPU in all, of which
~0.15 s the SQL statements, ~0.02 s the commit, ~0.03 s the sample check.
"""

from __future__ import annotations

import hashlib
import logging
import re
import weakref
from dataclasses import dataclass, field
from datetime import date, datetime

import duckdb
import hl7
import polars as pl
import pyarrow as pa

from careledger.ingest.hl7.adt_sql import KNOWN_EVENTS, MARK, AdtSql, Delimiters, file_delimiters, is_plain
from careledger.ingest.hl7.transport import (
    ENVELOPE_SEGMENTS,
    MLLP_START,
    RawMessage,
    decode_hl7_bytes,
    parse_hl7_timestamp,
    split_messages,
)
from careledger.ingest.hl7.transport import field_value as _field
from careledger.ingest.landing import (
    Finding,
    LoadContext,
    LoadCounts,
    QuarantinedRecord,
    record_hash,
    sql_literal,
)

log = logging.getLogger(__name__)

SEGMENT_ID = re.compile(r"^[A-Z][A-Z0-9]{2}$")
LANDED_SEGMENTS = frozenset({"MSH", "EVN", "PID", "PV1", "PV2", "MRG", "DG1", "PR1", "IN1"})
MAX_FINDINGS_PER_RULE = 50

TABLES = {
    "messages": "raw_ehr.adt_messages",
    "diagnoses": "raw_ehr.adt_diagnoses",
    "procedures": "raw_ehr.adt_procedures",
    "insurance": "raw_ehr.adt_insurance",
}

MESSAGE_SCHEMA: dict[str, pl.DataType] = {
    "message_control_id": pl.Utf8,
    "message_type": pl.Utf8,
    "trigger_event": pl.Utf8,
    "message_at": pl.Datetime("us"),
    "event_at": pl.Datetime("us"),
    "sending_application": pl.Utf8,
    "sending_facility": pl.Utf8,
    "hl7_version": pl.Utf8,
    "patient_mrn": pl.Utf8,
    "patient_family_name": pl.Utf8,
    "patient_given_name": pl.Utf8,
    "birth_date": pl.Date,
    "sex": pl.Utf8,
    "address_line": pl.Utf8,
    "city": pl.Utf8,
    "state": pl.Utf8,
    "zip": pl.Utf8,
    "phone": pl.Utf8,
    "ssn": pl.Utf8,
    "visit_number": pl.Utf8,
    "patient_class": pl.Utf8,
    "point_of_care": pl.Utf8,
    "room": pl.Utf8,
    "bed": pl.Utf8,
    "location_facility": pl.Utf8,
    "attending_npi": pl.Utf8,
    "hospital_service": pl.Utf8,
    "admit_source": pl.Utf8,
    "discharge_disposition": pl.Utf8,
    "admit_at": pl.Datetime("us"),
    "discharge_at": pl.Datetime("us"),
    "admit_reason": pl.Utf8,
    "prior_mrn": pl.Utf8,
    "prior_visit_number": pl.Utf8,
    "raw_message": pl.Utf8,
    "_source_record": pl.Int64,
    "_record_hash": pl.Utf8,
}
DIAGNOSIS_SCHEMA: dict[str, pl.DataType] = {
    "message_control_id": pl.Utf8,
    "visit_number": pl.Utf8,
    "set_id": pl.Int32,
    "diagnosis_code": pl.Utf8,
    "coding_system": pl.Utf8,
    "description": pl.Utf8,
    "diagnosis_type": pl.Utf8,
    "_source_record": pl.Int64,
    "_record_hash": pl.Utf8,
}
PROCEDURE_SCHEMA: dict[str, pl.DataType] = {
    "message_control_id": pl.Utf8,
    "visit_number": pl.Utf8,
    "set_id": pl.Int32,
    "procedure_code": pl.Utf8,
    "coding_system": pl.Utf8,
    "procedure_at": pl.Datetime("us"),
    "surgeon_npi": pl.Utf8,
    "_source_record": pl.Int64,
    "_record_hash": pl.Utf8,
}
INSURANCE_SCHEMA: dict[str, pl.DataType] = {
    "message_control_id": pl.Utf8,
    "visit_number": pl.Utf8,
    "set_id": pl.Int32,
    "plan_id": pl.Utf8,
    "company_id": pl.Utf8,
    "company_name": pl.Utf8,
    "group_number": pl.Utf8,
    "member_id": pl.Utf8,
    "_source_record": pl.Int64,
    "_record_hash": pl.Utf8,
}


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
    """Land one HL7 v2 ADT file (called by ``careledger.ingest.run.land_file``): the bulk SQL path,
    with the ``hl7``-package path for every message SQL does not call clean (see the docstring)."""
    text, decode_findings = decode_hl7_bytes(ctx.path.read_bytes(), ctx.path.name)
    text = text.lstrip("\ufeff")
    delimiters = file_delimiters(text)
    if MLLP_START in text or "\x00" in text or MARK in text or delimiters is None:
        return _land_parsed(ctx, text, decode_findings)
    return _load_sql(ctx, text, decode_findings, delimiters)


def load_python(ctx: LoadContext) -> LoadCounts:
    """Land one file through ``parse_adt_text`` alone (the reference the SQL path is tested against)."""
    text, decode_findings = decode_hl7_bytes(ctx.path.read_bytes(), ctx.path.name)
    return _land_parsed(ctx, text, decode_findings)


def _land_parsed(ctx: LoadContext, text: str, decode_findings: list[Finding]) -> LoadCounts:
    parsed = parse_adt_text(text, source_name=ctx.path.name)
    ctx.findings.extend(decode_findings)
    ctx.findings.extend(parsed.findings)
    return _insert_parsed(ctx, parsed)


def land_messages(ctx: LoadContext, messages: list[RawMessage]) -> int:
    """Land the ADT messages the HL7 router gives (a file that also holds DFT or BAR messages),
    through the Python path with their file indices; returns how many were accepted."""
    builder = _Builder(ctx.path.name)
    for msg in messages:
        builder.add(msg)
    parsed = ParsedADT(
        builder.frames(), len(messages), builder.quarantined, cap_findings(builder.findings, ctx.path.name)
    )
    ctx.findings.extend(parsed.findings)
    return _insert_parsed(ctx, parsed).records_accepted


def check_message(raw: RawMessage, source_name: str) -> tuple[QuarantinedRecord | None, list[Finding]]:
    """What landing this one message would report (its quarantine reason, or its findings), without
    a database: the MLLP listener's acknowledgement reads it."""
    builder = _Builder(source_name)
    builder.add(raw)
    return (builder.quarantined[0] if builder.quarantined else None), builder.findings


def _insert_parsed(ctx: LoadContext, parsed: ParsedADT) -> LoadCounts:
    ctx.quarantined.extend(parsed.quarantined)
    _add_prior_control_id_findings(ctx, parsed)
    for key, table in TABLES.items():
        frame = parsed.tables[key]
        if frame.height:
            ctx.insert_frame(table, frame)
    return LoadCounts(records_read=parsed.records_read, records_accepted=parsed.records_accepted)


def parse_adt_text(text: str, source_name: str = "<text>") -> ParsedADT:
    """Parse ADT text into the four ``raw_ehr.adt_*`` frames (pure; no database)."""
    messages, findings = split_messages(text, source_name)
    builder = _Builder(source_name)
    for msg in messages:
        builder.add(msg)
    return ParsedADT(
        tables=builder.frames(),
        records_read=len(messages),
        quarantined=builder.quarantined,
        findings=findings + cap_findings(builder.findings, source_name),
    )


def cap_findings(findings: list[Finding], source_name: str) -> list[Finding]:
    """At most MAX_FINDINGS_PER_RULE findings per rule (in message order), then one 'suppressed' note."""
    counts: dict[str, int] = {}
    kept: list[Finding] = []
    for f in findings:
        n = counts[f.rule] = counts.get(f.rule, 0) + 1
        if n <= MAX_FINDINGS_PER_RULE:
            kept.append(f)
        elif n == MAX_FINDINGS_PER_RULE + 1:
            kept.append(
                Finding(f.record_index, "info", f.rule, f"{source_name}: more {f.rule} findings suppressed", None)
            )
    return kept


# ---------------------------------------------------------------------------- helpers


class _Builder:
    """Parses messages with the ``hl7`` package into rows; ``findings`` are per message, not yet
    capped (``cap_findings`` applies MAX_FINDINGS_PER_RULE over the whole file)."""

    def __init__(self, source_name: str) -> None:
        self.src = source_name
        self.findings: list[Finding] = []
        self.quarantined: list[QuarantinedRecord] = []
        self.rows: dict[str, list[dict]] = {k: [] for k in TABLES}
        self.control_ids: dict[str, int] = {}

    def finding(self, index: int, severity: str, rule: str, message: str, location: str | None) -> None:
        self.findings.append(Finding(index, severity, rule, f"{self.src} message {index}: {message}", location))

    def add(self, raw: RawMessage) -> None:
        text = raw.text
        try:
            msg = self._parse(raw)
            self._land(raw, msg, text)
        except _BadMessage as bad:
            self.quarantined.append(
                QuarantinedRecord(raw.index, bad.reason, f"{self.src} message {raw.index}: {bad.message}", text)
            )

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
                raise _BadMessage(
                    "UNPARSEABLE_SEGMENT",
                    f"segment {n} is not an HL7 segment ({line[:40]!r}); expected a 3-character "
                    f"segment id followed by {sep!r}",
                )
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
            raise _BadMessage(
                "UNSUPPORTED_MESSAGE_TYPE", f"MSH-9 is {message_type}^{trigger or ''}, not an ADT message"
            )
        if not trigger:
            self.finding(idx, "warning", "MISSING_TRIGGER_EVENT", "MSH-9.2 and EVN-1 are empty", "MSH-9")
        elif trigger not in KNOWN_EVENTS:
            self.finding(
                idx,
                "info",
                "UNMODELLED_TRIGGER_EVENT",
                f"trigger event {trigger} lands but is not one the warehouse models ({', '.join(KNOWN_EVENTS)})",
                "MSH-9",
            )
        control_id = get("MSH", 10)
        if not control_id:
            self.finding(idx, "warning", "MISSING_CONTROL_ID", "MSH-10 (message control id) is empty", "MSH-10")
        elif control_id in self.control_ids:
            self.finding(
                idx,
                "warning",
                "DUPLICATE_CONTROL_ID",
                f"MSH-10 {control_id} repeats message {self.control_ids[control_id]} in this file; both land",
                "MSH-10",
            )
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
                self.finding(
                    idx, "warning", "BAD_TIMESTAMP", f"{where} {value!r} is not an HL7 timestamp; landed as null", where
                )
            elif had_offset:
                self.finding(
                    idx,
                    "info",
                    "TIMEZONE_OFFSET_DROPPED",
                    f"{where} {value!r}: the UTC offset was dropped (sender wall-clock time kept)",
                    where,
                )
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
        self.rows["messages"].append(
            {
                "message_control_id": control_id,
                "message_type": message_type,
                "trigger_event": trigger,
                "message_at": ts(get("MSH", 7), "MSH-7"),
                "event_at": ts(get("EVN", 6), "EVN-6") or ts(get("EVN", 2), "EVN-2"),
                "sending_application": get("MSH", 3),
                "sending_facility": get("MSH", 4),
                "hl7_version": get("MSH", 12),
                "patient_mrn": mrn,
                "patient_family_name": get("PID", 5, 1),
                "patient_given_name": get("PID", 5, 2),
                "birth_date": birth_date,
                "sex": get("PID", 8),
                "address_line": get("PID", 11, 1),
                "city": get("PID", 11, 3),
                "state": get("PID", 11, 4),
                "zip": get("PID", 11, 5),
                "phone": phone,
                "ssn": get("PID", 19),
                "visit_number": visit,
                "patient_class": get("PV1", 2),
                "point_of_care": get("PV1", 3, 1),
                "room": get("PV1", 3, 2),
                "bed": get("PV1", 3, 3),
                "location_facility": get("PV1", 3, 4),
                "attending_npi": get("PV1", 7, 1),
                "hospital_service": get("PV1", 10),
                "admit_source": get("PV1", 14),
                "discharge_disposition": get("PV1", 36),
                "admit_at": ts(get("PV1", 44), "PV1-44"),
                "discharge_at": ts(get("PV1", 45), "PV1-45"),
                "admit_reason": get("PV2", 3, 2) or get("PV2", 3, 1),
                "prior_mrn": get("MRG", 1, 1),
                "prior_visit_number": get("MRG", 5, 1),
                "raw_message": text,
                "_source_record": idx,
                "_record_hash": h,
            }
        )

        def set_ids(seg_id: str) -> list[int]:
            """The set id of each segment of this type; a missing, non-numeric or repeated one
            (real senders number every AL1/PR1 "1") gets a deterministic key (its position, else
            the next number not taken in the message) and a finding, so the staging key stays
            unique and never null. The first segment with a repeated set id keeps it."""
            values = [get(seg_id, 1, n=k) for k in range(len(segs.get(seg_id, [])))]
            valid = [v is not None and v.strip().isdigit() for v in values]
            used = {int(v) for v, ok in zip(values, valid, strict=True) if ok}
            kept: set[int] = set()
            keys = []
            for k, (value, ok) in enumerate(zip(values, valid, strict=True)):
                if ok and int(value) not in kept:
                    kept.add(int(value))
                    keys.append(int(value))
                    continue
                key = k + 1
                while key in used:
                    key += 1
                used.add(key)
                keys.append(key)
                if value is None:
                    rule, what = "MISSING_SET_ID", "is missing"
                elif ok:
                    rule, what = "DUPLICATE_SET_ID", f"{value!r} repeats an earlier {seg_id}'s"
                else:
                    rule, what = "BAD_SET_ID", f"{value!r} is not a number"
                self.finding(
                    idx,
                    "warning",
                    rule,
                    f"{seg_id}[{k + 1}]-1 (set id) {what}; landed with set id {key} so the segment keeps a unique key",
                    f"{seg_id}[{k + 1}]-1",
                )
            return keys

        common = {"message_control_id": control_id, "visit_number": visit, "_source_record": idx, "_record_hash": h}
        for n, key in enumerate(set_ids("DG1")):
            self.rows["diagnoses"].append(
                {
                    **common,
                    "set_id": key,
                    "diagnosis_code": get("DG1", 3, 1, n=n),
                    "coding_system": get("DG1", 3, 3, n=n) or get("DG1", 2, n=n),
                    "description": get("DG1", 3, 2, n=n) or get("DG1", 4, n=n),
                    "diagnosis_type": get("DG1", 6, n=n),
                }
            )
        for n, key in enumerate(set_ids("PR1")):
            self.rows["procedures"].append(
                {
                    **common,
                    "set_id": key,
                    "procedure_code": get("PR1", 3, 1, n=n),
                    "coding_system": get("PR1", 3, 3, n=n) or get("PR1", 2, n=n),
                    "procedure_at": ts(get("PR1", 5, n=n), f"PR1[{n + 1}]-5"),
                    "surgeon_npi": get("PR1", 11, 1, n=n) or get("PR1", 12, 1, n=n),
                }
            )
        for n, key in enumerate(set_ids("IN1")):
            self.rows["insurance"].append(
                {
                    **common,
                    "set_id": key,
                    "plan_id": get("IN1", 2, 1, n=n),
                    "company_id": get("IN1", 3, 1, n=n),
                    "company_name": get("IN1", 4, 1, n=n),
                    "group_number": get("IN1", 8, n=n),
                    "member_id": get("IN1", 36, n=n) or get("IN1", 49, 1, n=n),
                }
            )

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
        schemas = {
            "messages": MESSAGE_SCHEMA,
            "diagnoses": DIAGNOSIS_SCHEMA,
            "procedures": PROCEDURE_SCHEMA,
            "insurance": INSURANCE_SCHEMA,
        }
        return {
            k: pl.DataFrame(self.rows[k], schema=schemas[k], orient="row")
            if self.rows[k]
            else pl.DataFrame(schema=schemas[k])
            for k in TABLES
        }


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
        ctx.finding(
            first_index.get(control_id, 0),
            "warning",
            "CONTROL_ID_ALREADY_LANDED",
            f"{ctx.path.name}: MSH-10 {control_id} was already landed from {source_file}",
            "MSH-10",
        )


# ---------------------------------------------------------------------------- bulk SQL path

SAMPLE_PER_FILE = 8
SAMPLE_MISMATCH_RULE = "HL7_SAMPLE_MISMATCH"
_SCHEMAS = {
    "messages": MESSAGE_SCHEMA,
    "diagnoses": DIAGNOSIS_SCHEMA,
    "procedures": PROCEDURE_SCHEMA,
    "insurance": INSURANCE_SCHEMA,
}
# per-connection work tables, created once and emptied per file: creating or dropping a temporary
# object makes DuckDB re-bind every prepared statement (~0.3 s for the wide ones)
_WORK_TABLES = (
    "_adt_text",
    "_adt_msgs",
    "_adt_m",
    "_adt_c",
    "_adt_route",
    *(f"_adt_out_{k}" for k in TABLES),
    *(f"_adt_py_{k}" for k in TABLES),
)

_OUT_SQL = {
    "messages": """
select m.msh_10 as message_control_id, m.msh_9_1 as message_type, m.trigger_event, m.t_msh_7 as message_at,
    coalesce(m.t_evn_6, m.t_evn_2) as event_at, m.msh_3 as sending_application, m.msh_4 as sending_facility,
    m.msh_12 as hl7_version,
    case when m.pid_3_1_r1 is null then null when m.pid_3_5_r1 = 'MR' then m.pid_3_1_r1
         when m.pid_3_1_r2 is null then m.pid_3_1_r1 when m.pid_3_5_r2 = 'MR' then m.pid_3_1_r2
         when m.pid_3_1_r3 is null then m.pid_3_1_r1 when m.pid_3_5_r3 = 'MR' then m.pid_3_1_r3
         when m.pid_3_1_r4 is null then m.pid_3_1_r1 when m.pid_3_5_r4 = 'MR' then m.pid_3_1_r4
         when m.pid_3_1_r5 is null then m.pid_3_1_r1 when m.pid_3_5_r5 = 'MR' then m.pid_3_1_r5
         else m.pid_3_1_r1 end as patient_mrn,
    m.pid_5_1 as patient_family_name, m.pid_5_2 as patient_given_name, m.t_pid_7::date as birth_date,
    m.pid_8 as sex, m.pid_11_1 as address_line, m.pid_11_3 as city, m.pid_11_4 as state, m.pid_11_5 as zip,
    coalesce(m.pid_13_1, m.pid_13_12, case when m.pid_13_6 is null and m.pid_13_7 is null then null
             else coalesce(m.pid_13_6, '') || coalesce(m.pid_13_7, '') end) as phone,
    m.pid_19 as ssn, m.pv1_19 as visit_number, m.pv1_2 as patient_class, m.pv1_3_1 as point_of_care,
    m.pv1_3_2 as room, m.pv1_3_3 as bed, m.pv1_3_4 as location_facility, m.pv1_7_1 as attending_npi,
    m.pv1_10 as hospital_service, m.pv1_14 as admit_source, m.pv1_36 as discharge_disposition,
    m.t_pv1_44 as admit_at, m.t_pv1_45 as discharge_at, coalesce(m.pv2_3_2, m.pv2_3_1) as admit_reason,
    m.mrg_1_1 as prior_mrn, m.mrg_5_1 as prior_visit_number, m.raw_message,
    m.idx as _source_record, m.record_hash as _record_hash, 0::bigint as _n
from _adt_m m join _adt_route r using (idx) where not r.to_python
""",
    "diagnoses": """
select m.msh_10 as message_control_id, m.pv1_19 as visit_number, c.set_id, c.code as diagnosis_code,
    c.coding_system, c.description, c.diagnosis_type, c.idx as _source_record, m.record_hash as _record_hash,
    c.n as _n
from _adt_c c join _adt_m m using (idx) join _adt_route r using (idx) where not r.to_python and c.sid = 'DG1'
""",
    "procedures": """
select m.msh_10 as message_control_id, m.pv1_19 as visit_number, c.set_id, c.code as procedure_code,
    c.coding_system, c.at_ts as procedure_at, c.npi as surgeon_npi, c.idx as _source_record,
    m.record_hash as _record_hash, c.n as _n
from _adt_c c join _adt_m m using (idx) join _adt_route r using (idx) where not r.to_python and c.sid = 'PR1'
""",
    "insurance": """
select m.msh_10 as message_control_id, m.pv1_19 as visit_number, c.set_id, c.plan_id, c.company_id,
    c.company_name, c.group_number, c.member_id, c.idx as _source_record, m.record_hash as _record_hash,
    c.n as _n
from _adt_c c join _adt_m m using (idx) join _adt_route r using (idx) where not r.to_python and c.sid = 'IN1'
""",
}

# offsets dropped from timestamps of SQL-landed messages, in the order _Builder._land reports them
_OFFSET_SQL = """
select idx, k, loc, val from (
    select idx, 1 as k, 'MSH-7' as loc, msh_7 as val from _adt_m where z_msh_7 and t_msh_7 is not null
    union all select idx, 2, 'EVN-6', evn_6 from _adt_m where z_evn_6 and t_evn_6 is not null
    union all select idx, 3, 'EVN-2', evn_2 from _adt_m where evn_6 is null and z_evn_2 and t_evn_2 is not null
    union all select idx, 4, 'PV1-44', pv1_44 from _adt_m where z_pv1_44 and t_pv1_44 is not null
    union all select idx, 5, 'PV1-45', pv1_45 from _adt_m where z_pv1_45 and t_pv1_45 is not null
    union all select idx, 5 + n, 'PR1[' || n || ']-5', at_raw from _adt_c
              where sid = 'PR1' and z_at and at_ts is not null
) join _adt_route r using (idx) where not r.to_python order by idx, k
"""


# per connection, the statement keys known to be prepared on work tables that outlived the
# transaction that created them (so no catalog look-up is needed for those any more)
_READY: weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, set[str]] = weakref.WeakKeyDictionary()


def _prepare(con: duckdb.DuckDBPyConnection, sql: AdtSql) -> str:
    """Create the work tables and prepare the statements for these delimiters (and plainness),
    once per connection.

    Returns the suffix of the prepared statement names. A rolled-back first file takes the work
    tables with it; they and the statements are then made again. Work tables found at the start
    of a load were made by a committed transaction and stay: from then on the connection skips
    the catalog look-up (~7 ms a file).
    """
    key = hashlib.md5(f"{sql.d.msh_prefix}{sql.plain}".encode()).hexdigest()[:10]
    if key in _READY.get(con, ()):
        return key
    tables, prepared = con.execute(
        "select (select list(table_name) from duckdb_tables() where temporary), "
        "(select list(name) from duckdb_prepared_statements())"
    ).fetchone()
    tables, prepared = set(tables or ()), set(prepared or ())
    statements = {
        "adt_msgs": ("_adt_msgs", sql.messages_from_text()),
        "adt_m": ("_adt_m", sql.messages()),
        "adt_c": ("_adt_c", sql.children()),
        "adt_route": ("_adt_route", sql.route()),
        **{f"adt_out_{k}": (f"_adt_out_{k}", q) for k, q in _OUT_SQL.items()},
    }
    if set(_WORK_TABLES) <= tables:
        _READY.setdefault(con, set()).add(key)
    else:
        con.execute("create or replace temp table _adt_text (text varchar)")
        for table, select in statements.values():
            con.execute(f"create or replace temp table {table} as {select} limit 0")
        for k in TABLES:
            con.execute(f"create or replace temp table _adt_py_{k} as select * from _adt_out_{k} limit 0")
        for name in prepared:
            if name.startswith("adt_"):
                con.execute(f"deallocate {name}")
        prepared = set()
    if f"adt_m_{key}" not in prepared:
        for name, (table, select) in statements.items():
            con.execute(f"prepare {name}_{key} as insert into {table} {select}")
    return key


def _load_sql(ctx: LoadContext, text: str, decode_findings: list[Finding], delimiters: Delimiters) -> LoadCounts:
    con = ctx.con
    saved = con.execute("select current_setting('disabled_optimizers'), current_setting('threads')").fetchone()
    # the work tables are emptied and refilled per file: no plan may rest on their statistics;
    # one file's statements are too small to gain from threads (scheduling them costs ~30 %)
    con.execute(f"set disabled_optimizers = {_STATS_FREE!r}")
    con.execute("set threads = 1")
    try:
        return _load_sql_prepared(ctx, text, decode_findings, delimiters)
    finally:
        con.execute(f"set disabled_optimizers = {saved[0]!r}")
        con.execute(f"set threads = {int(saved[1])}")


_STATS_FREE = "statistics_propagation,compressed_materialization"


def _load_sql_prepared(
    ctx: LoadContext, text: str, decode_findings: list[Finding], delimiters: Delimiters
) -> LoadCounts:
    con, src = ctx.con, ctx.path.name
    text = text.replace("\r\n", "\r").replace("\n", "\r")
    key = _prepare(con, AdtSql(delimiters, is_plain(text, delimiters)))
    for t in _WORK_TABLES:
        con.execute(f"delete from {t}")
    split_findings: list[Finding] = []
    if any(s in text for s in ENVELOPE_SEGMENTS):  # batch envelopes: cut and counted as before, in Python
        messages, split_findings = split_messages(text, src)
        split = pa.table(  # noqa: F841 (read by name in the SQL below)
            {
                "idx": pa.array([m.index for m in messages], pa.int64()),
                "l": pa.array([m.lines for m in messages], pa.list_(pa.string())),
            }
        )
        con.execute("insert into _adt_msgs select idx, l from split")
    else:
        con.execute("insert into _adt_text values ($text)", {"text": text})
        con.execute(f"execute adt_msgs_{key}")
    for name in ("adt_m", "adt_c", "adt_route"):
        con.execute(f"execute {name}_{key}")
    records_read = int(con.execute("select count(*) from _adt_m").fetchone()[0])
    builder = _python_path(con, src)
    for k in TABLES:
        con.execute(f"execute adt_out_{k}_{key}")
    offsets = [
        Finding(
            idx,
            "info",
            "TIMEZONE_OFFSET_DROPPED",
            f"{src} message {idx}: {loc} {val!r}: the UTC offset was dropped (sender wall-clock time kept)",
            loc,
        )
        for idx, _, loc, val in con.execute(_OFFSET_SQL).fetchall()
    ]
    per_message = sorted(builder.findings + offsets, key=lambda f: f.record_index)
    sample_findings = _check_sample(con, src, offsets)
    ctx.findings.extend(decode_findings)
    ctx.findings.extend(split_findings)
    ctx.findings.extend(cap_findings(per_message, src))
    ctx.findings.extend(cap_findings(sample_findings, src))
    ctx.quarantined.extend(builder.quarantined)
    frames = builder.frames()
    for k, frame in frames.items():
        if frame.height:
            rows = frame.with_row_index("_n").with_columns(pl.col("_n").cast(pl.Int64)).to_arrow()  # noqa: F841
            con.execute(f"insert into _adt_py_{k} by name select * from rows")
    _prior_control_id_findings(ctx)
    for k, table in TABLES.items():
        cols = [c for c in _SCHEMAS[k] if c not in ("_source_record", "_record_hash")]
        ctx.insert_select(
            table,
            cols,
            f"select * from (select * from _adt_out_{k} union all select * from "
            f"_adt_py_{k}) order by _source_record, _n",
        )
    for t in _WORK_TABLES:  # emptied in the same transaction, the work rows cost the commit nothing
        con.execute(f"delete from {t}")
    accepted = records_read - len({q.record_index for q in builder.quarantined})
    return LoadCounts(records_read=records_read, records_accepted=accepted)


def _python_path(con, src: str) -> _Builder:
    """Parse every message SQL did not call clean with the hl7 package, as ``parse_adt_text`` does.

    A control id the Python path lands that SQL saw on a clean message (possible only when SQL
    could not read the other message's MSH-10) sends that message to Python too, so
    DUPLICATE_CONTROL_ID is reported exactly as before; repeated until nothing changes.
    """
    while True:
        builder = _Builder(src)
        rows = con.execute(
            "select idx, l from _adt_msgs where idx in (select idx from _adt_route where to_python) order by idx"
        ).fetchall()
        for idx, lines in rows:
            builder.add(RawMessage(idx, lines, lines[0][:3] == "MSH"))
        if not builder.control_ids:
            return builder
        ids = "[" + ", ".join(sql_literal(c) for c in sorted(builder.control_ids)) + "]"
        clash = con.execute(
            f"select idx from _adt_m join _adt_route using (idx) where not to_python and list_contains({ids}, msh_10)"
        ).fetchall()
        if not clash:
            return builder
        con.execute(f"update _adt_route set to_python = true where list_contains({[i for (i,) in clash]}, idx)")


def _check_sample(con, src: str, offsets: list[Finding]) -> list[Finding]:
    """Parse a deterministic sample of the SQL-landed messages with the hl7 package and compare."""
    sample = con.execute(f"""
        select m.idx, g.l from _adt_m m join _adt_route r using (idx) join _adt_msgs g using (idx)
        where not r.to_python
        order by m.record_hash, m.idx limit {SAMPLE_PER_FILE}
    """).fetchall()
    if not sample:
        return []
    ids = [idx for idx, _ in sample]
    sql_rows: dict[str, dict[int, list[dict]]] = {}
    for key in TABLES:
        cur = con.execute(
            f"select * exclude (_n) from _adt_out_{key} where list_contains({ids}, _source_record) "
            f"order by _source_record, _n"
        )
        names = [c[0] for c in cur.description]
        by_idx: dict[int, list[dict]] = {}
        for row in cur.fetchall():
            rec = dict(zip(names, row, strict=True))
            by_idx.setdefault(rec["_source_record"], []).append(rec)
        sql_rows[key] = by_idx
    mismatches: list[Finding] = []

    def report(idx: int, where: str, sql_value: object, py_value: object) -> None:
        mismatches.append(
            Finding(
                idx,
                "warning",
                SAMPLE_MISMATCH_RULE,
                f"{src} message {idx}: {where}: SQL landed {sql_value!r}, the hl7 package parser gives {py_value!r}",
                where,
            )
        )

    for idx, lines in sample:
        ref = _Builder(src)
        ref.add(RawMessage(idx, lines, True))
        if ref.quarantined:
            report(idx, "quarantine", None, ref.quarantined[0].reason_code)
            continue
        for key in TABLES:
            got, want = sql_rows[key].get(idx, []), ref.rows[key]
            if len(got) != len(want):
                report(idx, f"{TABLES[key]} rows", len(got), len(want))
                continue
            for n, (g, w) in enumerate(zip(got, want, strict=True)):
                for col, value in w.items():
                    if g.get(col) != value:
                        where = f"{TABLES[key]}.{col}" + (f"[{n + 1}]" if key != "messages" else "")
                        report(idx, where, g.get(col), value)
        want_f = [(f.rule, f.location, f.message) for f in ref.findings]
        got_f = [(f.rule, f.location, f.message) for f in offsets if f.record_index == idx]
        if got_f != want_f:
            report(idx, "findings", got_f, want_f)
    log.debug(
        "%s: %d SQL-landed messages re-parsed with the hl7 package, %d mismatches", src, len(sample), len(mismatches)
    )
    return mismatches


def _prior_control_id_findings(ctx: LoadContext) -> None:
    """CONTROL_ID_ALREADY_LANDED for the staged messages (as ``_add_prior_control_id_findings``)."""
    rows = ctx.con.execute(
        "with staged as (select message_control_id, max(_source_record) as idx from (select * from "
        "_adt_out_messages union all select * from _adt_py_messages) where message_control_id is not null "
        "group by 1) "
        "select a.message_control_id, min(a._source_file), any_value(s.idx) from raw_ehr.adt_messages a "
        f"join staged s using (message_control_id) where a._batch_id <> {sql_literal(ctx.batch_id)} "
        f"group by 1 order by 1 limit {MAX_FINDINGS_PER_RULE}",
    ).fetchall()
    for control_id, source_file, idx in rows:
        ctx.finding(
            idx,
            "warning",
            "CONTROL_ID_ALREADY_LANDED",
            f"{ctx.path.name}: MSH-10 {control_id} was already landed from {source_file}",
            "MSH-10",
        )
