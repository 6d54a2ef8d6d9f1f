"""Detect a landing file's format from its content, never from its name.

``detect(path, source)`` looks at the first bytes of a file (4 KB for signatures; the first
line in full for a CSV header or an NDJSON record) and answers ``Detected(format, kind,
reason)``:

| content | format | kind |
|---|---|---|
| JSON lines with a FHIR ``resourceType`` | ``fhir`` | ``ndjson`` |
| one JSON document (a Bundle, or a single resource), pretty-printed or not | ``fhir`` | ``json`` |
| ``MSH|`` / ``FHS|`` / ``BHS|`` or an MLLP start block ``\\x0b`` | ``hl7`` (ADT, DFT, BAR, ...) | None |
| ``ISA`` + element separator at byte 4 with an ``ST<sep>835`` | ``x12-835`` | None |
| a bare ``ST<sep>835<sep>`` transaction set (no ISA/GS envelope; lands with ``MISSING_ENVELOPE``) | ``x12-835`` | None |
| a BAI2 ``01,sender,receiver,YYMMDD,HHMM,file id,`` file header | ``bai2`` | None |
| CSV header = the column set of an export in docs/data_contracts.md | ``claims`` / ``denials`` / ``payers`` / ``patient-transactions`` / ``erp`` | the raw table name (``claim_lines``, ``gl_actuals``, ...) |
| JSON lines or a JSON array of objects with the denial event keys | ``denials`` | ``denial_events`` |

Anything else is ``format=None`` with a reason; detection never guesses. ``source`` forces
the family (the kind is still detected from the content, and a forced CSV family accepts a
drifted header whose best match in the family is clear).
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path

from careledger.ingest import formats
from careledger.ingest.csv import contract

SNIFF_BYTES = 4096
MAX_FIRST_LINE = 16 * 1024 * 1024
TOO_DEEP_REASON = (
    "the first JSON value is nested deeper than Python's JSON parser allows (the recursion limit, 1000 "
    "by default); not a FHIR or denial export"
)
UNKNOWN_REASON = "no FHIR resourceType, MSH, ISA, BAI2 01 record or known CSV header in the first 4 KB"

# Auto detection accepts an exact header set, or a drifted header (extra or missing columns)
# whose Jaccard similarity with one export is at least this and clearly the best.
AUTO_DRIFT_MIN_SIMILARITY = 0.7
FORCED_DRIFT_MIN_SIMILARITY = 0.5

_HL7_START = re.compile(r"(MSH|FHS|BHS)[^A-Za-z0-9\s]")
# a BAI2 file header: 01,sender,receiver,YYMMDD,HHMM,file id,...
_BAI2_START = re.compile(r"01,[^,\n]*,[^,\n]*,\d{6},\d{0,4},[^,\n]+,")
_RESOURCE_TYPE = re.compile(r'"resourceType"\s*:\s*"([A-Za-z]+)"')
_BOMS_UNSUPPORTED = {
    b"\xff\xfe": "UTF-16 LE",
    b"\xfe\xff": "UTF-16 BE",
}


@dataclass(frozen=True)
class Detected:
    format: str | None
    kind: str | None
    reason: str


def detect(path: Path, source: str = "auto") -> Detected:
    """Detect the format family and kind of ``path`` from its content."""
    if source not in formats.SOURCE_CHOICES:
        raise ValueError(f"unknown source {source!r}; expected one of {', '.join(formats.SOURCE_CHOICES)}")
    source = formats.canonical(source)  # ``adt``: the HL7 v2 format's former name
    path = Path(path)
    with path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
        if not head:
            return Detected(None, None, f"{path.name}: empty file (0 bytes)")
        if head.startswith(b"\xef\xbb\xbf"):
            head = head[3:]
        for bom, name in _BOMS_UNSUPPORTED.items():
            if head.startswith(bom):
                return Detected(None, None, f"{path.name}: {name} byte-order mark; re-export the file as UTF-8")
        if not head.strip():
            return Detected(None, None, f"{path.name}: only whitespace in the first 4 KB")
        if _looks_binary(head):
            return Detected(None, None, f"{path.name}: binary content (NUL or control bytes) in the first 4 KB")
        text = head.decode("utf-8", errors="replace")
        family = _family(text)
        first_line = _first_line(fh, head)

    if source != "auto" and family is not None and family not in formats.FORMATS[source].content:
        return Detected(None, None, f"{path.name}: --source {source} was given but the content is {family}")

    if family == "hl7":
        return Detected("hl7", None, "HL7 v2 (MSH/FHS/BHS or MLLP block) at the start")
    if family == "x12":
        return _detect_x12(path, text)
    if family == "bai2":
        return Detected("bai2", None, "BAI2 file header (01 record) at the start")
    if family == "json":
        return _detect_json(path, text, first_line, source)
    # CSV (or unknown text)
    return _detect_csv(path, first_line, source)


def _looks_binary(head: bytes) -> bool:
    if b"\x00" in head:
        return True
    allowed = {9, 10, 11, 13, 28}  # tab, LF, MLLP start, CR, MLLP end
    control = sum(1 for b in head if b < 32 and b not in allowed)
    text = head.decode("utf-8", errors="replace")
    replaced = text.count("\ufffd")
    return control > len(head) * 0.01 or replaced > len(text) * 0.1


_BARE_ST = re.compile(r"ST([^A-Za-z0-9\s])835\1")


def _family(text: str) -> str | None:
    if text.startswith("\x0b"):
        return "hl7"
    s = text.lstrip()
    if _HL7_START.match(s):
        return "hl7"
    if s.startswith("ISA") and len(s) > 3 and not s[3].isalnum() and not s[3].isspace():
        return "x12"
    if _BARE_ST.match(s):  # an ST..SE without its ISA/GS envelope
        return "x12"
    if s[:1] in ("{", "["):
        return "json"
    if _BAI2_START.match(s):
        return "bai2"
    return None


def _first_line(fh, head: bytes) -> str:
    """The first line of the file in full (BOM stripped), read past 4 KB if needed."""
    data = head
    if b"\n" not in data:
        data += fh.readline(MAX_FIRST_LINE)
    line = data.split(b"\n", 1)[0]
    return line.decode("utf-8", errors="replace").rstrip("\r")


def _detect_x12(path: Path, text: str) -> Detected:
    s = text.lstrip()
    bare = _BARE_ST.match(s)
    if bare is not None:
        return Detected("x12-835", None, f"X12 ST{bare[1]}835 with no ISA/GS envelope")
    sep = s[3]
    st = re.search(rf"(?:^|[^A-Za-z0-9])ST{re.escape(sep)}(\d{{3}})", s)
    if st is None:
        return Detected(None, None, f"{path.name}: X12 interchange (ISA) but no ST transaction set in the first 4 KB")
    if st.group(1) != "835":
        return Detected(None, None, f"{path.name}: X12 transaction set {st.group(1)}, not an 835 remittance")
    return Detected("x12-835", None, f"X12 ISA with element separator {sep!r} and ST{sep}835")


def _detect_json(path: Path, text: str, first_line: str, source: str) -> Detected:
    s = text.lstrip()
    if s.startswith("["):
        return _detect_json_array(path, s, source)
    try:
        first = json.loads(first_line) if first_line.strip() else None
    except ValueError:
        first = None
    except RecursionError:
        return Detected(None, None, f"{path.name}: {TOO_DEEP_REASON}")
    if isinstance(first, dict):
        rtype = first.get("resourceType")
        if isinstance(rtype, str) and rtype:
            if source not in ("auto", "fhir"):
                return Detected(None, None, f"{path.name}: --source {source} was given but the content is FHIR")
            if rtype == "Bundle":
                return Detected("fhir", "json", "FHIR Bundle document")
            return Detected("fhir", "ndjson", f"FHIR NDJSON (first line resourceType {rtype})")
        kind = _match_keys(first.keys(), "denials" if source in ("auto", "denials") else None)
        if kind and source in ("auto", "denials"):
            return Detected("denials", "denial_events", "NDJSON objects with the denial event keys")
        return Detected(None, None, f"{path.name}: JSON lines without a FHIR resourceType or the denial event keys")
    # a multi-line JSON document: FHIR if a resourceType shows in the first 4 KB
    found = _RESOURCE_TYPE.search(s)
    if found and source in ("auto", "fhir"):
        return Detected("fhir", "json", f"FHIR JSON document (resourceType {found.group(1)})")
    if found:
        return Detected(None, None, f"{path.name}: --source {source} was given but the content is FHIR")
    return Detected(None, None, f"{path.name}: {UNKNOWN_REASON}")


def _detect_json_array(path: Path, s: str, source: str) -> Detected:
    try:
        first, _ = json.JSONDecoder().raw_decode(s[1:].lstrip())
    except ValueError:
        first = None
    except RecursionError:
        return Detected(None, None, f"{path.name}: {TOO_DEEP_REASON}")
    if isinstance(first, dict) and "resourceType" in first:
        return Detected(
            None,
            None,
            f"{path.name}: a JSON array of FHIR resources is not a FHIR exchange format; use NDJSON or a Bundle",
        )
    if isinstance(first, dict) and source in ("auto", "denials") and _match_keys(first.keys(), "denials"):
        return Detected("denials", "denial_events", "JSON array of objects with the denial event keys")
    return Detected(None, None, f"{path.name}: {UNKNOWN_REASON}")


def _detect_csv(path: Path, first_line: str, source: str) -> Detected:
    if source != "auto" and "csv" not in formats.FORMATS[source].content:
        return Detected(None, None, f"{path.name}: --source {source} was given but the content is not {source}")
    try:
        header = next(csv.reader([first_line]))
    except (csv.Error, StopIteration):
        header = []
    names = [h.strip().strip('"').lower() for h in header]
    if len(names) < 2 or any(not n for n in names):
        return Detected(None, None, f"{path.name}: {UNKNOWN_REASON}")
    families = formats.CSV_FORMATS if source == "auto" else (source,)
    kinds = [k for fam in families for k in contract.family_kinds(fam)]
    header_set = set(names)
    for kind in kinds:
        if header_set == set(contract.column_names(kind)):
            return Detected(contract.KINDS[kind][0], kind, f"CSV header is the {kind} export")
    threshold = AUTO_DRIFT_MIN_SIMILARITY if source == "auto" else FORCED_DRIFT_MIN_SIMILARITY
    scored = sorted(((_jaccard(header_set, set(contract.column_names(k))), k) for k in kinds), reverse=True)
    best_score, best = scored[0]
    runner_up = scored[1][0] if len(scored) > 1 else 0.0
    if best_score >= threshold and best_score - runner_up >= 0.2:
        expected = set(contract.column_names(best))
        extra = sorted(header_set - expected)
        missing = sorted(expected - header_set)
        return Detected(
            contract.KINDS[best][0],
            best,
            f"CSV header is the {best} export with drift: extra {extra}, missing {missing}",
        )
    if source != "auto":
        return Detected(
            None, None, f"{path.name}: --source {source} was given but the CSV header matches no {source} export"
        )
    return Detected(None, None, f"{path.name}: {UNKNOWN_REASON}")


def _match_keys(keys, family: str | None) -> str | None:
    if family is None:
        return None
    key_set = {str(k).strip().lower() for k in keys}
    for kind in contract.family_kinds(family):
        expected = set(contract.column_names(kind))
        if key_set == expected or _jaccard(key_set, expected) >= AUTO_DRIFT_MIN_SIMILARITY:
            return kind
    return None


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0
