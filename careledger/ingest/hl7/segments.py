"""Reading one HL7 v2 message with the ``hl7`` package, for the loaders of the financial
message types (DFT, BAR), which are small feeds next to ADT and need no bulk SQL path.

``MessageBuilder`` is the part every such loader shares: it checks a message's structure the
way the ADT loader does (MISSING_MSH, BAD_MSH, UNPARSEABLE_SEGMENT, UNPARSEABLE_MESSAGE
quarantine reasons), gives the loader a ``Message`` to read values from by position, and
collects rows per table, findings (capped per rule, in message order) and quarantined
records. ``land`` writes them through the landing core's ``LoadContext``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

import hl7
import polars as pl

from careledger.ingest.hl7.transport import HeaderError, RawMessage, field_value, parse_hl7_timestamp, parse_msh
from careledger.ingest.landing import Finding, LoadContext, QuarantinedRecord, record_hash

SEGMENT_ID = re.compile(r"^[A-Z][A-Z0-9]{2}$")
MAX_FINDINGS_PER_RULE = 50
CENT = Decimal("0.01")


class BadMessage(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass
class Message:
    """One parsed message: segments by id in order; values by HL7 position, unescaped."""

    index: int
    segments: dict[str, list[hl7.Segment]]
    ordered: list[hl7.Segment]
    text: str
    builder: MessageBuilder

    def get(self, seg_id: str, fld: int, comp: int = 1, rep: int = 1, sub: int = 1, n: int = 0) -> str | None:
        found = self.segments.get(seg_id)
        if not found or n >= len(found):
            return None
        return field_value(found[n], fld, comp, rep, sub)

    def of(self, seg: hl7.Segment, fld: int, comp: int = 1, rep: int = 1, sub: int = 1) -> str | None:
        return field_value(seg, fld, comp, rep, sub)

    def mrn(self) -> str | None:
        """PID-3: the repetition whose identifier type (CX.5) is MR, else the first."""
        first = self.get("PID", 3, 1, 1)
        for rep in range(1, 6):
            value = self.get("PID", 3, 1, rep)
            if value is None:
                break
            if self.get("PID", 3, 5, rep) == "MR":
                return value
        return first

    def finding(self, severity: str, rule: str, message: str, location: str | None) -> None:
        self.builder.finding(self.index, severity, rule, message, location)

    def timestamp(self, value: str | None, where: str) -> datetime | None:
        if not value:
            return None
        parsed, had_offset = parse_hl7_timestamp(value)
        if parsed is None:
            self.finding(
                "warning", "BAD_TIMESTAMP", f"{where} {value!r} is not an HL7 timestamp; landed as null", where
            )
        elif had_offset:
            self.finding(
                "info",
                "TIMEZONE_OFFSET_DROPPED",
                f"{where} {value!r}: the UTC offset was dropped (sender wall-clock time kept)",
                where,
            )
        return parsed

    def date(self, value: str | None, where: str) -> date | None:
        parsed = self.timestamp(value, where)
        return parsed.date() if parsed else None

    def decimal(self, value: str | None, where: str, *, places: int = 2) -> Decimal | None:
        """A number as ``decimal(18, places)``; anything else is null with a BAD_NUMBER finding."""
        if value is None:
            return None
        try:
            number = Decimal(value.replace(",", ""))
            if not number.is_finite():
                raise InvalidOperation
            quantum = Decimal(1).scaleb(-places)
            rounded = number.quantize(quantum)
        except (InvalidOperation, ValueError):
            self.finding("warning", "BAD_NUMBER", f"{where} {value!r} is not a number; landed as null", where)
            return None
        if rounded != number:
            self.finding(
                "warning", "NUMBER_ROUNDED", f"{where} {value!r} has more than {places} decimals; rounded", where
            )
        return rounded

    def set_id(self, seg: hl7.Segment, seg_id: str, n: int) -> int | None:
        value = self.of(seg, 1)
        if value is None:
            return None
        if not value.strip().isdigit():
            self.finding(
                "warning", "BAD_SET_ID", f"{seg_id}-1 {value!r} is not a number; landed as null", f"{seg_id}[{n}]-1"
            )
            return None
        return int(value)


class MessageBuilder:
    """Rows, findings and quarantine for the messages of one type in one file."""

    def __init__(self, source_name: str, schemas: dict[str, dict[str, pl.DataType]]) -> None:
        self.src = source_name
        self.schemas = schemas
        self.rows: dict[str, list[dict]] = {k: [] for k in schemas}
        self.findings: list[Finding] = []
        self.quarantined: list[QuarantinedRecord] = []
        self.control_ids: dict[str, int] = {}

    def finding(self, index: int, severity: str, rule: str, message: str, location: str | None) -> None:
        self.findings.append(Finding(index, severity, rule, f"{self.src} message {index}: {message}", location))

    def parse(self, raw: RawMessage) -> Message:
        """Check the structure and parse; raise ``BadMessage`` with a quarantine reason."""
        if not raw.has_msh:
            raise BadMessage("MISSING_MSH", f"segments without an MSH header (starts {raw.lines[0][:40]!r})")
        try:
            header = parse_msh(raw.lines[0])
        except HeaderError as bad:
            raise BadMessage(bad.reason, bad.message) from None
        sep = header.field_separator
        for n, line in enumerate(raw.lines[1:], start=2):
            if not SEGMENT_ID.match(line[:3]) or (len(line) > 3 and line[3] != sep):
                raise BadMessage(
                    "UNPARSEABLE_SEGMENT",
                    f"segment {n} is not an HL7 segment ({line[:40]!r}); expected a 3-character "
                    f"segment id followed by {sep!r}",
                )
        text = raw.text
        try:
            parsed = hl7.parse(text)
        except Exception as exc:  # the hl7 package raises several types for malformed structure
            raise BadMessage("UNPARSEABLE_MESSAGE", f"the hl7 parser rejected the message: {exc}") from exc
        segs: dict[str, list[hl7.Segment]] = {}
        for seg in parsed:
            segs.setdefault(str(seg[0]), []).append(seg)
        return Message(raw.index, segs, list(parsed), text, self)

    def check_control_id(self, msg: Message) -> str | None:
        control_id = msg.get("MSH", 10)
        if not control_id:
            msg.finding("warning", "MISSING_CONTROL_ID", "MSH-10 (message control id) is empty", "MSH-10")
        elif control_id in self.control_ids:
            msg.finding(
                "warning",
                "DUPLICATE_CONTROL_ID",
                f"MSH-10 {control_id} repeats message {self.control_ids[control_id]} in this file; both land",
                "MSH-10",
            )
        else:
            self.control_ids[control_id] = msg.index
        return control_id

    def quarantine(self, raw: RawMessage, bad: BadMessage) -> None:
        self.quarantined.append(
            QuarantinedRecord(raw.index, bad.reason, f"{self.src} message {raw.index}: {bad.message}", raw.text)
        )

    def add_row(self, table: str, msg: Message, row: dict) -> None:
        self.rows[table].append({**row, "_source_record": msg.index, "_record_hash": record_hash(msg.text)})

    def frames(self) -> dict[str, pl.DataFrame]:
        return {
            k: pl.DataFrame(self.rows[k], schema=self.schemas[k], orient="row")
            if self.rows[k]
            else pl.DataFrame(schema=self.schemas[k])
            for k in self.schemas
        }

    def land(self, ctx: LoadContext, tables: dict[str, str]) -> None:
        ctx.findings.extend(cap_findings(self.findings, self.src))
        ctx.quarantined.extend(self.quarantined)
        for key, frame in self.frames().items():
            if frame.height:
                ctx.insert_frame(tables[key], frame)


def cap_findings(findings: list[Finding], source_name: str) -> list[Finding]:
    """At most MAX_FINDINGS_PER_RULE findings per rule (in message order), then one 'suppressed' note."""
    counts: dict[str, int] = {}
    kept: list[Finding] = []
    for f in sorted(findings, key=lambda f: f.record_index):
        n = counts[f.rule] = counts.get(f.rule, 0) + 1
        if n <= MAX_FINDINGS_PER_RULE:
            kept.append(f)
        elif n == MAX_FINDINGS_PER_RULE + 1:
            kept.append(
                Finding(f.record_index, "info", f.rule, f"{source_name}: more {f.rule} findings suppressed", None)
            )
    return kept


def check(raw: RawMessage, source_name: str, schemas: dict, add) -> tuple[QuarantinedRecord | None, list[Finding]]:
    """What landing one message through a loader's ``add(builder, message)`` would report."""
    builder = MessageBuilder(source_name, schemas)
    try:
        add(builder, builder.parse(raw))
    except BadMessage as bad:
        builder.quarantine(raw, bad)
    return (builder.quarantined[0] if builder.quarantined else None), builder.findings


def land_all(ctx: LoadContext, messages: list[RawMessage], schemas: dict, tables: dict[str, str], add) -> int:
    """Land one file's messages of one type (``add`` turns a parsed message into rows); returns how
    many were accepted. The loop every message-type loader shares."""
    builder = MessageBuilder(ctx.path.name, schemas)
    for raw in messages:
        try:
            add(builder, builder.parse(raw))
        except BadMessage as bad:
            builder.quarantine(raw, bad)
    builder.land(ctx, tables)
    return len(messages) - len({q.record_index for q in builder.quarantined})


def check_trigger(m: Message, message_type: str, known_events: tuple[str, ...]) -> str | None:
    """The message's trigger event, with a finding when it is missing or one the warehouse does not
    model (the message lands either way)."""
    trigger = m.get("MSH", 9, 2) or m.get("EVN", 1)
    if not trigger:
        m.finding("warning", "MISSING_TRIGGER_EVENT", "MSH-9.2 and EVN-1 are empty", "MSH-9")
    elif trigger not in known_events:
        m.finding(
            "info",
            "UNMODELLED_TRIGGER_EVENT",
            f"{message_type} trigger event {trigger} lands but is not one the warehouse models "
            f"({', '.join(known_events)})",
            "MSH-9",
        )
    return trigger
