"""The HL7 v2 transport: what every message type shares, before a loader reads its segments.

- framing: MLLP (``0x0b`` message ``0x1c 0x0d``), ``frame`` to write one and ``MllpDecoder``
  to read frames from a byte stream (the listener); files may hold MLLP frames too;
- bytes -> text: ``decode_hl7_bytes`` (UTF-8 with the BOM stripped, latin-1 fallback with a
  ``NOT_UTF8`` finding);
- message splitting: ``split_messages`` cuts a file into messages at every MSH, with ``\\r``,
  ``\\n`` or ``\\r\\n`` segment ends, MLLP frames and batch envelopes (FHS/BHS ... BTS/FTS,
  counts checked);
- delimiters and the header: ``parse_msh`` reads MSH-1/MSH-2 (the delimiters) and the fields
  routing and acknowledgement need (sender, receiver, MSH-9 type/trigger/structure, MSH-10,
  MSH-11 processing id, MSH-12 version, MSH-15/16 acknowledgement types);
- ``field_value`` reads one value of a segment parsed by the ``hl7`` package.

Routing by message type (MSH-9.1) to one loader per type is ``careledger.ingest.hl7.router``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import hl7
from hl7.util import unescape as hl7_unescape

from careledger.ingest.landing import Finding, decode_text

MLLP_START = "\x0b"
MLLP_END = "\x1c"
MLLP_START_BYTE = b"\x0b"
MLLP_END_BYTES = b"\x1c\r"
ENVELOPE_SEGMENTS = ("FHS", "BHS", "BTS", "FTS")
MAX_FRAME_BYTES = 16 * 1024 * 1024
TS_PATTERN = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,6}))?([+-]\d{4})?$")


@dataclass
class RawMessage:
    """One message cut out of the file: its 1-based index and its segment lines."""

    index: int
    lines: list[str]
    has_msh: bool

    @property
    def text(self) -> str:
        return "\r".join(self.lines)


def decode_hl7_bytes(data: bytes, source_name: str = "<bytes>") -> tuple[str, list[Finding]]:
    """Decode HL7 bytes: UTF-8 with the BOM stripped, falling back to latin-1 with a finding."""
    findings: list[Finding] = []
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
        findings.append(Finding(0, "info", "BOM_STRIPPED", f"{source_name}: UTF-8 byte-order mark removed", "file"))
    text, decode_findings = decode_text(data, source_name)
    return text, findings + decode_findings


def split_messages(text: str, source_name: str = "<text>") -> tuple[list[RawMessage], list[Finding]]:
    """Cut a file into messages: MLLP frames, batch envelopes and any segment ending.

    Returns the messages (1-based index) and envelope findings (batch counts).
    """
    findings: list[Finding] = []
    text = text.lstrip("\ufeff")
    if MLLP_START in text:
        unterminated = sum(1 for b in text.split(MLLP_START)[1:] if MLLP_END not in b)
        if unterminated:
            findings.append(
                Finding(
                    0,
                    "warning",
                    "MLLP_FRAME_UNTERMINATED",
                    f"{source_name}: {unterminated} MLLP frame(s) without the 0x1c end block; "
                    f"read to the next start block or end of file",
                    "file",
                )
            )
        blocks = [b.split(MLLP_END, 1)[0] for b in text.split(MLLP_START)]
        outside = "".join(b.split(MLLP_END, 1)[1] if MLLP_END in b else "" for b in text.split(MLLP_START)[1:])
        outside += text.split(MLLP_START, 1)[0]
        if outside.strip():
            findings.append(
                Finding(
                    0,
                    "warning",
                    "TEXT_OUTSIDE_MLLP_FRAME",
                    f"{source_name}: {len(outside.strip())} characters outside MLLP frames were ignored",
                    "file",
                )
            )
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
                        findings.append(
                            Finding(0, "warning", "BTS_WITHOUT_BHS", f"{source_name}: BTS without a BHS", "BTS")
                        )
                    elif declared and declared != str(batch_open["messages"]):
                        findings.append(
                            Finding(
                                0,
                                "warning",
                                "BATCH_COUNT_MISMATCH",
                                f"{source_name}: BTS-1 says {declared} messages, counted {batch_open['messages']}",
                                "BTS",
                            )
                        )
                    batch_open = None
                else:  # FTS
                    declared = parts[1].strip() if len(parts) > 1 else ""
                    if file_open is None:
                        findings.append(
                            Finding(0, "warning", "FTS_WITHOUT_FHS", f"{source_name}: FTS without an FHS", "FTS")
                        )
                    elif declared and declared != str(file_open["batches"]):
                        findings.append(
                            Finding(
                                0,
                                "warning",
                                "FILE_BATCH_COUNT_MISMATCH",
                                f"{source_name}: FTS-1 says {declared} batches, counted {file_open['batches']}",
                                "FTS",
                            )
                        )
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
        findings.append(
            Finding(0, "warning", "MISSING_BTS", f"{source_name}: BHS batch has no BTS trailer", "end of file")
        )
    if file_open is not None:
        findings.append(
            Finding(0, "warning", "MISSING_FTS", f"{source_name}: FHS file has no FTS trailer", "end of file")
        )
    return messages, findings


def field_value(seg: hl7.Segment, fld: int, comp: int = 1, rep: int = 1, sub: int = 1) -> str | None:
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


# ---------------------------------------------------------------------------- MLLP framing


def frame(message: bytes) -> bytes:
    """One MLLP frame: start block, the message, end block and carriage return."""
    return MLLP_START_BYTE + message + MLLP_END_BYTES


class FrameTooLarge(ValueError):
    """A frame grew past MAX_FRAME_BYTES without an end block."""


class MllpDecoder:
    """Reads MLLP frames from a byte stream fed in arbitrary chunks.

    ``feed`` returns the complete frames' payloads (without the blocks) in order. Bytes between
    frames (line noise, a sender's keep-alive newline) are counted in ``skipped`` and dropped; a
    frame that grows past ``max_bytes`` raises ``FrameTooLarge`` (the caller closes the
    connection rather than buffer without bound).
    """

    def __init__(self, max_bytes: int = MAX_FRAME_BYTES) -> None:
        self._buf = bytearray()
        self._in_frame = False
        self.max_bytes = max_bytes
        self.skipped = 0

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        out: list[bytes] = []
        while True:
            if not self._in_frame:
                start = self._buf.find(MLLP_START_BYTE)
                if start < 0:
                    self.skipped += len(self._buf)
                    self._buf.clear()
                    return out
                self.skipped += start
                del self._buf[: start + 1]
                self._in_frame = True
            end = self._buf.find(b"\x1c")
            if end < 0:
                if len(self._buf) > self.max_bytes:
                    raise FrameTooLarge(f"an MLLP frame passed {self.max_bytes} bytes without the 0x1c end block")
                return out
            if end + 1 >= len(self._buf):
                return out  # wait for the carriage return after the end block
            out.append(bytes(self._buf[:end]))
            drop = end + 2 if self._buf[end + 1 : end + 2] == b"\r" else end + 1
            del self._buf[:drop]
            self._in_frame = False

    @property
    def pending(self) -> int:
        """Bytes of an incomplete frame held."""
        return len(self._buf) if self._in_frame else 0


# ---------------------------------------------------------------------------- the MSH header


class HeaderError(ValueError):
    """An MSH that cannot be read: ``reason`` is a quarantine/ACK reason code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Header:
    """What routing and acknowledgement read from MSH (values unescaped, components kept raw)."""

    field_separator: str
    encoding_characters: str
    sending_application: str
    sending_facility: str
    receiving_application: str
    receiving_facility: str
    message_at: str
    message_type: str
    trigger_event: str
    message_structure: str
    control_id: str
    processing_id: str
    version: str
    accept_ack_type: str
    application_ack_type: str
    fields: tuple[str, ...]

    @property
    def component_separator(self) -> str:
        return self.encoding_characters[0]

    @property
    def enhanced_mode(self) -> bool:
        """MSH-15 or MSH-16 valued: the sender asked for enhanced acknowledgement."""
        return bool(self.accept_ack_type or self.application_ack_type)

    def field(self, n: int) -> str:
        """MSH-n as sent (MSH-1 is the field separator, MSH-2 the encoding characters)."""
        if n == 1:
            return self.field_separator
        return self.fields[n - 1] if n - 1 < len(self.fields) else ""


def parse_msh(line: str) -> Header:
    """Read an MSH segment line; raise ``HeaderError`` when its delimiters are unusable."""
    line = line.strip()
    if not line.startswith("MSH"):
        raise HeaderError("MISSING_MSH", f"the message does not start with MSH ({line[:40]!r})")
    if len(line) < 8 or line[3].isalnum() or line[3].isspace():
        raise HeaderError("BAD_MSH", f"MSH has no usable field separator and encoding characters ({line[:20]!r})")
    sep = line[3]
    parts = line.split(sep)
    encoding = parts[1]
    distinct = len(set(encoding)) == len(encoding) and sep not in encoding
    if not 3 <= len(encoding) <= 5 or not distinct or any(c.isalnum() or c.isspace() for c in encoding):
        raise HeaderError("BAD_MSH", f"MSH-2 encoding characters {encoding!r} are not 3-4 distinct symbols")
    comp = encoding[0]
    escape = encoding[2] if len(encoding) > 2 else ""

    def msh(n: int) -> str:
        value = parts[n - 1] if n - 1 < len(parts) else ""
        return _unescape(value, sep, encoding, escape).strip()

    def component(n: int, c: int) -> str:
        pieces = (parts[n - 1] if n - 1 < len(parts) else "").split(comp)
        value = pieces[c - 1] if c - 1 < len(pieces) else ""
        return _unescape(value, sep, encoding, escape).strip()

    return Header(
        field_separator=sep,
        encoding_characters=encoding,
        sending_application=msh(3),
        sending_facility=msh(4),
        receiving_application=msh(5),
        receiving_facility=msh(6),
        message_at=msh(7),
        message_type=component(9, 1),
        trigger_event=component(9, 2),
        message_structure=component(9, 3),
        control_id=msh(10),
        processing_id=component(11, 1),
        version=component(12, 1),
        accept_ack_type=msh(15),
        application_ack_type=msh(16),
        fields=tuple(parts),
    )


def _unescape(value: str, sep: str, encoding: str, escape: str) -> str:
    if not escape or escape not in value:
        return value
    table = {"F": sep, "S": encoding[0], "R": encoding[1], "E": escape}
    if len(encoding) > 3:
        table["T"] = encoding[3]
    out: list[str] = []
    pieces = value.split(escape)
    out.append(pieces[0])
    i = 1
    while i < len(pieces):
        if i + 1 < len(pieces) and pieces[i] in table:
            out.append(table[pieces[i]] + pieces[i + 1])
            i += 2
        else:
            out.append(escape + pieces[i])
            i += 1
    return "".join(out)


def message_type(raw: RawMessage) -> str | None:
    """MSH-9.1 of a message cut out by ``split_messages`` (None when it has no readable MSH)."""
    if not raw.has_msh:
        return None
    try:
        return parse_msh(raw.lines[0]).message_type or None
    except HeaderError:
        return None


def parse_hl7_timestamp(value: str) -> tuple[datetime | None, bool]:
    """HL7 TS/DTM -> naive datetime (sender's wall clock); second item: an offset was dropped."""
    m = TS_PATTERN.match(value.strip())
    if not m:
        return None, False
    year, month, day, hour, minute, second, frac, offset = m.groups()
    try:
        dt = datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((frac or "0").ljust(6, "0")),
        )
    except ValueError:
        return None, False
    return dt, offset is not None
