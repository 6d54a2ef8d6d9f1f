"""What both X12 835 parsers share: segment ids, element positions, code tables, the frame
shapes of the six remit tables, and the envelope and validation helpers.

The single-pass parser (``x12/remit_835.py``) and the polars parser (``x12/remit_835_polars.py``)
import this module and not each other, so a segment id, an element position or a quarantine
reason is written once. Delimiters come from the ISA segment (element separator = the byte
after ``ISA``, repetition separator = ISA11, component separator = ISA16, segment terminator =
the byte after ISA16). ``parse_with`` does what both parsers do before and after their own
work: strip a BOM, find the ISA (or quarantine the whole file), report text before it, then
check the version (ISA12/GS08) and fill a missing BPR16 payment date from DTM*405, GS04 or
ISA09, each with a finding.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import polars as pl

from careledger.ingest.landing import Finding, QuarantinedRecord, decode_text

AMOUNT_PATTERN = r"^-?(?:\d+(?:\.\d*)?|\.\d+)$"
ENVELOPE_SEGMENTS = ("ISA", "GS", "GE", "IEA")
CAS_GROUP_CODES = ("CO", "CR", "OA", "PI", "PR")
MAX_FINDINGS_PER_RULE = 50
MAX_RAW_TEXT = 1_000_000

TABLES = {
    "payments": "raw_billing.remit_payments",
    "claims": "raw_billing.remit_claims",
    "service_lines": "raw_billing.remit_service_lines",
    "adjustments": "raw_billing.remit_adjustments",
    "remarks": "raw_billing.remit_remarks",
    "provider_adjustments": "raw_billing.remit_provider_adjustments",
}

# Priority of quarantine reasons when one transaction set has several problems.
REASON_PRIORITY = (
    "MISSING_SE",
    "SE_COUNT_MISMATCH",
    "ST_SE_CONTROL_MISMATCH",
    "UNSUPPORTED_TRANSACTION_SET",
    "MISSING_BPR",
    "MISSING_TRN",
    "SEGMENT_OUT_OF_PLACE",
    "MISSING_REQUIRED_ELEMENT",
    "NON_NUMERIC_AMOUNT",
)

# Segment ids the parsers read (a segment is known by its first three characters: a
# three-letter id, or a two-letter id alone or followed by the element separator). The
# envelope segments come last: the polars parser numbers the ids in this order, so
# ``code >= ISA`` means "envelope".
READ_SEGMENTS = (
    "ST",
    "SE",
    "BPR",
    "TRN",
    "DTM",
    "N1",
    "REF",
    "CLP",
    "NM1",
    "AMT",
    "SVC",
    "CAS",
    "LQ",
    "MOA",
    "MIA",
    "PLB",
    "ISA",
    "GS",
    "GE",
    "IEA",
)
# Highest element index read from each segment type inside an ST..SE (MIA24 is the last).
LAST_ELEMENT_READ = {
    "ST": 3,
    "SE": 2,
    "BPR": 16,
    "TRN": 3,
    "DTM": 2,
    "N1": 4,
    "REF": 2,
    "CLP": 14,
    "NM1": 9,
    "AMT": 2,
    "SVC": 7,
    "CAS": 19,
    "LQ": 2,
    "MOA": 9,
    "MIA": 24,
    "PLB": 14,
}
# Unicode White_Space: what is trimmed around a segment (not str.strip(), which also takes
# the \x1c-\x1f separators some senders use as delimiters).
WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000"
)
AMOUNT_RE = re.compile(AMOUNT_PATTERN)
# CCYYMMDD as polars' %Y%m%d parser takes it: whitespace before the month and day allowed,
# a one-digit month only before whitespace, nothing after the day.
DATE_RE = re.compile(r"\s*([0-9]{4})\s*(?:([0-9]{2})\s*([0-9]{1,2})|([0-9])\s+([0-9]{1,2}))\Z", re.ASCII)
ORPHAN_SEGMENTS = ("SVC", "CAS", "LQ", "MOA", "MIA")
REQUIRED_BY_SEGMENT = {"CLP": (1, 2, 3, 4), "SVC": (1, 2, 3), "CAS": (1, 2, 3), "BPR": (2,), "PLB": (1, 2, 3, 4)}
# Elements that must be numbers, in the order a segment's problems are listed.
NUMERIC_ELEMENTS = {
    "BPR": (2,),
    "CLP": (3, 4, 5),
    "SVC": (2, 3, 5),
    "AMT": (2,),
    "CAS": tuple(3 + 3 * k for k in range(6)) + tuple(4 + 3 * k for k in range(6)),
    "PLB": tuple(4 + 2 * k for k in range(6)),
}
# Payee (loop 1000B): N1*PE name and id (N103 XX = NPI, FI = federal tax id), REF*TJ tax id.
PAYEE_NPI_QUALIFIER = "XX"
PAYEE_TAX_ID_QUALIFIER = "FI"
HEAD_QUALIFIERS = {("DTM", "405"), ("N1", "PR"), ("REF", "2U"), ("N1", "PE"), ("REF", "TJ")}
CLAIM_QUALIFIERS = {
    ("NM1", "QC"),
    ("NM1", "IL"),
    ("NM1", "82"),
    ("DTM", "232"),
    ("DTM", "233"),
    ("DTM", "050"),
    ("AMT", "AU"),
}
LINE_QUALIFIERS = {("DTM", "472"), ("DTM", "150"), ("REF", "6R"), ("AMT", "B6")}
REMARK_POSITIONS = {"LQ": (2,), "MOA": (3, 4, 5, 6, 7), "MIA": (5, 20, 21, 22, 23)}
COLUMNS: dict[str, tuple[str, ...]] = {
    "payments": (
        "interchange_control_number",
        "group_control_number",
        "transaction_set_control_number",
        "interchange_sender_id",
        "interchange_receiver_id",
        "transaction_handling_code",
        "payment_amount",
        "credit_debit_flag",
        "payment_method",
        "payment_date",
        "trace_number",
        "originating_company_id",
        "production_date",
        "payer_id",
        "payer_name",
        "payee_name",
        "payee_npi",
        "payee_id_qualifier",
        "payee_id",
        "payee_tax_id",
        "claim_count",
    ),
    "claims": (
        "interchange_control_number",
        "transaction_set_control_number",
        "trace_number",
        "claim_seq",
        "patient_control_number",
        "claim_status_code",
        "total_charge_amount",
        "payment_amount",
        "patient_responsibility_amount",
        "claim_filing_indicator",
        "payer_claim_control_number",
        "facility_type_code",
        "claim_frequency_code",
        "drg_code",
        "patient_family_name",
        "patient_given_name",
        "member_id",
        "rendering_npi",
        "statement_from_date",
        "statement_to_date",
        "received_date",
        "coverage_amount",
    ),
    "service_lines": (
        "interchange_control_number",
        "transaction_set_control_number",
        "trace_number",
        "claim_seq",
        "line_seq",
        "procedure_qualifier",
        "procedure_code",
        "modifiers",
        "charge_amount",
        "payment_amount",
        "revenue_code",
        "units",
        "service_date",
        "line_item_control_number",
        "allowed_amount",
    ),
    "adjustments": (
        "interchange_control_number",
        "transaction_set_control_number",
        "trace_number",
        "claim_seq",
        "line_seq",
        "adjustment_level",
        "triplet_seq",
        "group_code",
        "carc_code",
        "amount",
        "quantity",
    ),
    "remarks": (
        "interchange_control_number",
        "transaction_set_control_number",
        "trace_number",
        "claim_seq",
        "line_seq",
        "source_segment",
        "remark_code",
    ),
    "provider_adjustments": (
        "interchange_control_number",
        "transaction_set_control_number",
        "trace_number",
        "provider_id",
        "fiscal_period_date",
        "reason_code",
        "reference_id",
        "amount",
    ),
}


@dataclass(frozen=True)
class Delimiters:
    """The four X12 delimiters, read from the ISA segment."""

    element: str
    repetition: str | None
    component: str
    segment: str


@dataclass
class Parsed835:
    """The result of parsing one 835 file: table frames plus what to report."""

    tables: dict[str, pl.DataFrame]
    records_read: int
    quarantined: list[QuarantinedRecord] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    delimiters: Delimiters | None = None

    @property
    def records_accepted(self) -> int:
        return self.records_read - len({q.record_index for q in self.quarantined})


class Bad835(Exception):
    """The file has no usable interchange at all (reason code, message)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def decode_835_bytes(data: bytes, source_name: str = "<bytes>") -> tuple[str, list[Finding]]:
    """Decode 835 bytes: UTF-8, falling back to latin-1 with a finding (a BOM stays in the text:
    the parser strips it and reports it)."""
    return decode_text(data, source_name)


def parse_with(parser: Callable[..., Any], text: str, source_name: str) -> Parsed835:
    """What both parsers do before their own work: strip a BOM, find the ISA and its delimiters
    (or quarantine the whole file), report text before the ISA, then run
    ``parser(body, delimiters, source_name, findings)``."""
    findings: list[Finding] = []
    if text.startswith("\ufeff"):
        text = text[1:]
        findings.append(Finding(0, "info", "BOM_STRIPPED", f"{source_name}: UTF-8 byte-order mark removed", "file"))
    bare = bare_transaction_delimiters(text)
    if bare is not None:
        start, delims = bare
        findings.append(
            Finding(
                0,
                "warning",
                "MISSING_ENVELOPE",
                f"{source_name}: no ISA/GS envelope, the file starts at an ST..SE: delimiters taken from the "
                f"segments (element {delims.element!r}, segment {delims.segment!r}, component {delims.component!r}); "
                f"interchange and group control numbers and sender/receiver ids land as null",
                "file",
            )
        )
        parsed = parser(text[start:], delims, source_name, findings).run()
        check_version_and_dates(parsed, text[start:], delims, source_name)
        return parsed
    try:
        start, delims = find_delimiters(text)
    except Bad835 as bad:
        return whole_file_quarantined(text, source_name, bad.reason, bad.message, findings)
    if text[:start].strip():
        findings.append(
            Finding(
                0,
                "warning",
                "TEXT_BEFORE_ISA",
                f"{source_name}: {len(text[:start].strip())} characters before the ISA segment were ignored",
                "file",
            )
        )
    parsed = parser(text[start:], delims, source_name, findings).run()
    check_version_and_dates(parsed, text[start:], delims, source_name)
    return parsed


# Implementation guides the parser reads (GS08). 4010A1 lands with the 5010 layout: the elements
# read here are the same in both (BPR, TRN, CLP, CAS, SVC, DTM, PLB); its documented differences
# that matter to landing are handled: ISA11 is the standards identifier "U" (no repetition
# separator, see find_delimiters), NM1*QC/IL may carry no identifier, and MIA/MOA and the payee
# N1*PE id qualifier FI (tax id) are common. Each 4010 group gets an info finding naming it.
IMPLEMENTATION_GUIDES = {
    "005010X221A1": "00501",
    "005010X221": "00501",
    "004010X091A1": "00401",
    "004010X091": "00401",
}
ENVELOPE_RE_TEMPLATE = r"(?:\A|{seg})[{ws}]*(ISA|GS){el}([^{seg}]*)"


def _envelopes(body: str, d: Delimiters) -> tuple[list[list[str]], list[tuple[int, list[str]]]]:
    """The ISA and GS segments of the interchange body, in file order (each GS with the index of
    its ISA): one regular-expression pass, so both parsers share it."""
    pattern = ENVELOPE_RE_TEMPLATE.format(
        seg=re.escape(d.segment), el=re.escape(d.element), ws=re.escape(WHITESPACE.replace(d.segment, ""))
    )
    isas: list[list[str]] = []
    gss: list[tuple[int, list[str]]] = []
    for match in re.finditer(pattern, body):
        elements = [match[1], *match[2].split(d.element)]
        elements = [e.strip(WHITESPACE) for e in elements]
        if match[1] == "ISA":
            isas.append(elements)
        else:
            gss.append((len(isas) - 1, elements))
    return isas, gss


def _envelope_date(value: str | None, *, yymmdd: bool = False) -> date | None:
    if not value:
        return None
    if yymmdd:
        return to_date("20" + value) if len(value) == 6 and value.isdigit() else None
    return to_date(value)


def check_version_and_dates(parsed: Parsed835, body: str, d: Delimiters, source_name: str) -> None:
    """After either parser: the version check (ISA12, GS08) and the payment date fallback.

    A group whose GS08 is 4010A1 lands with an info finding; a GS08 that is no 835 guide the
    parser knows, or one that disagrees with its ISA12, is a warning (the records still land: the
    elements read are the same). A payment with no BPR16 date takes the DTM*405 production date,
    else the GS04 date, else the ISA09 date, each with a finding naming the transaction set."""
    isas, gss = _envelopes(body, d)
    findings = parsed.findings
    for isa_index, gs in gss:
        gs08 = gs[8] if len(gs) > 8 else ""
        isa = isas[isa_index] if 0 <= isa_index < len(isas) else []
        isa12 = isa[12] if len(isa) > 12 else ""
        where = f"GS06 {gs[6] if len(gs) > 6 else ''}"
        expected_isa12 = IMPLEMENTATION_GUIDES.get(gs08)
        if expected_isa12 is None:
            findings.append(
                Finding(
                    0,
                    "warning",
                    "X12_VERSION_UNKNOWN",
                    f"{source_name}: GS08 {gs08!r} is not an 835 implementation guide the parser knows "
                    f"(005010X221A1, 004010X091A1); landed with the 5010 layout, check the rows",
                    where,
                )
            )
        elif expected_isa12 == "00401":
            findings.append(
                Finding(
                    0,
                    "info",
                    "X12_VERSION_4010",
                    f"{source_name}: GS08 {gs08!r} is the 4010A1 835; landed with the 5010 layout "
                    f"(same elements for payments, claims, lines and adjustments)",
                    where,
                )
            )
        if expected_isa12 is not None and isa12 and isa12 != expected_isa12:
            findings.append(
                Finding(
                    0,
                    "warning",
                    "X12_VERSION_MISMATCH",
                    f"{source_name}: ISA12 {isa12!r} and GS08 {gs08!r} disagree (GS08 {gs08} goes with ISA12 "
                    f"{expected_isa12}); landed as GS08 says",
                    where,
                )
            )
    payments = parsed.tables.get("payments")
    if payments is None or payments.height == 0 or payments["payment_date"].null_count() == 0:
        return
    gs_dates = {}
    for _, gs in gss:
        if len(gs) > 6:
            gs_dates.setdefault(gs[6] or None, _envelope_date(gs[4] if len(gs) > 4 else None))
    isa_dates = {}
    for isa in isas:
        if len(isa) > 13:
            isa_dates.setdefault(isa[13] or None, _envelope_date(isa[9], yymmdd=True))
    dates: list[date | None] = []
    n = 0
    for row in payments.select(
        "payment_date",
        "production_date",
        "group_control_number",
        "interchange_control_number",
        "transaction_set_control_number",
        "_source_record",
    ).iter_rows():
        paid_on, produced, gcn, icn, st02, seg_no = row
        if paid_on is not None:
            dates.append(paid_on)
            continue
        source, value = "DTM*405 production date", produced
        if value is None:
            source, value = "GS04 date", gs_dates.get(gcn)
        if value is None:
            source, value = "ISA09 date", isa_dates.get(icn)
        dates.append(value)
        n += 1
        if n > MAX_FINDINGS_PER_RULE:
            continue
        if value is None:
            findings.append(
                Finding(
                    0,
                    "warning",
                    "PAYMENT_DATE_MISSING",
                    f"{source_name}: transaction set ST02 {st02}: no BPR16 payment date and no DTM*405, GS04 "
                    f"or ISA09 date to take instead; the payment and its claims land without a date and show "
                    f"in the reconciliation exceptions",
                    f"segment {seg_no}",
                )
            )
        else:
            findings.append(
                Finding(
                    0,
                    "warning",
                    "PAYMENT_DATE_FALLBACK",
                    f"{source_name}: transaction set ST02 {st02}: BPR16 (payment date) is empty or not a "
                    f"date; took the {source} {value.isoformat()}",
                    f"segment {seg_no}",
                )
            )
    parsed.tables["payments"] = payments.with_columns(pl.Series("payment_date", dates, dtype=pl.Date))


BARE_ST_RE = re.compile(r"[\s]*ST([^A-Za-z0-9\s])835\1")


def bare_transaction_delimiters(text: str) -> tuple[int, Delimiters] | None:
    """The delimiters of a bare ST..SE (no ISA before it), or None when the text does not start
    with ``ST<sep>835<sep>``: element = the byte after ST, segment terminator = the first
    character after ST02 that is no letter, digit, element separator or space, component =
    the first punctuation inside SVC01 (else ``:``, else ``>``)."""
    match = BARE_ST_RE.match(text)
    if match is None:
        return None
    element = match[1]
    pos = match.end()
    while pos < len(text) and (text[pos].isalnum() or text[pos] in (element, " ")):
        pos += 1
    if pos >= len(text):
        return None
    segment = text[pos]
    component = None
    svc = re.search(rf"(?:^|{re.escape(segment)})\s*SVC{re.escape(element)}([^{re.escape(element + segment)}]*)", text)
    if svc is not None:
        component = next((c for c in svc[1] if not c.isalnum() and not c.isspace()), None)
    if component is None:
        component = ":" if ":" not in (element, segment) else ">"
    if len({element, segment, component}) != 3:
        return None
    return match.start(1) - 2, Delimiters(element=element, repetition=None, component=component, segment=segment)


def find_delimiters(text: str) -> tuple[int, Delimiters]:
    """Locate the first ISA and read its delimiters; raise ``Bad835`` when there is none."""
    start = text.find("ISA")
    if start < 0:
        raise Bad835("MISSING_ISA", "no ISA segment: this is not an X12 interchange")
    if start + 4 > len(text):
        raise Bad835("BAD_ISA", "the ISA segment is truncated")
    element = text[start + 3]
    if element.isalnum() or element.isspace():
        raise Bad835("BAD_ISA", f"ISA element separator {element!r} is a letter, digit or space")
    pos = start + 3
    for _ in range(15):
        pos = text.find(element, pos + 1)
        if pos < 0:
            raise Bad835("BAD_ISA", "the ISA segment has fewer than 16 elements")
    # pos is the separator before ISA16; ISA16 is one character, the terminator follows it.
    if pos + 2 >= len(text):
        raise Bad835("BAD_ISA", "the ISA segment is truncated before the segment terminator")
    component = text[pos + 1]
    segment = text[pos + 2]
    if segment in "\r\n":
        # Some senders put each segment on its own line with the terminator leading the next one
        # ("...*:\n~GS*..."): the terminator is the punctuation before the GS, not the line break.
        j = pos + 2
        while j < len(text) and text[j] in "\r\n\t ":
            j += 1
        lead = text[j] if j < len(text) else ""
        if lead and not lead.isalnum() and lead not in (element, component) and text[j + 1 : j + 3] == "GS":
            segment = lead
    elements = text[start : pos + 2].split(element)
    repetition = elements[11] if len(elements) > 12 and elements[12].strip() >= "00501" else None
    if repetition is not None and (len(repetition) != 1 or repetition.isalnum()):
        repetition = None
    chars = [element, component, segment]
    if len(set(chars)) != 3 or component.isalnum() or segment.isalnum() or component.isspace():
        raise Bad835(
            "BAD_ISA",
            f"ISA delimiters are not distinct punctuation: element {element!r}, "
            f"component {component!r}, segment {segment!r}",
        )
    return start, Delimiters(element=element, repetition=repetition, component=component, segment=segment)


def whole_file_quarantined(
    text: str, source_name: str, reason: str, message: str, findings: list[Finding]
) -> Parsed835:
    raw = text if len(text) <= MAX_RAW_TEXT else text[:MAX_RAW_TEXT]
    q = QuarantinedRecord(1, reason, f"{source_name} record 1 (whole file): {message}", raw)
    return Parsed835(tables=empty_tables(), records_read=1, quarantined=[q], findings=findings)


def empty_tables() -> dict[str, pl.DataFrame]:
    return {key: pl.DataFrame() for key in TABLES}


def claim_out_of_balance_message(
    txn: int, seg_no: int, raw: str, claim_seq: int, charge: object, paid: object, adjusted: object, diff: object
) -> str:
    """The CLAIM_OUT_OF_BALANCE finding (both parsers): the claim lands with its difference named, so
    the ERA's payments still add up to BPR02; dbt posts the difference to remittance suspense."""
    return (
        f"transaction set {txn} segment {seg_no} ({raw[:80]}): claim {claim_seq} charge {charge} != paid "
        f"{paid} + adjustments {adjusted} (off by {diff}); the claim lands with this difference"
    )


def readable_amount(value: str | None) -> Decimal | None:
    """An amount element as a 4-place decimal when it is a plain X12 number, else None (both
    parsers use it for the amounts of quarantined claim loops)."""
    if value is None or not value.isascii() or not AMOUNT_RE.match(value):
        return None
    return Decimal(value).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def quarantined_claim_loop(
    index: int,
    source_name: str,
    txn: int,
    st02: str | None,
    clp01: str | None,
    first_seg: int,
    last_seg: int,
    problems: list[tuple[str, str]],
    text: str,
) -> QuarantinedRecord:
    """One malformed claim loop's quarantine record (record ``index`` = the number of transaction
    sets + its place among the file's quarantined claim loops): the reason of highest priority,
    a message naming the file, ST02 and CLP01, and the loop's raw text."""
    items = sorted(problems, key=lambda p: REASON_PRIORITY.index(p[0]))
    head = (
        f"{source_name} record {index}: claim loop CLP01 {clp01!r} of transaction set {txn} (ST02 {st02!s}, "
        f"segments {first_seg}-{last_seg}) quarantined, the other claims of the transaction set land"
    )
    message = head + ": " + "; ".join(m for _, m in items[:5])
    if len(items) > 5:
        message += f"; and {len(items) - 5} more problems"
    return QuarantinedRecord(index, items[0][0], message, text[:MAX_RAW_TEXT])


def payment_out_of_balance_message(
    txn: int, total: object, paid: object, plb: object, loops: list[tuple[str | None, Decimal | None]]
) -> str:
    """The PAYMENT_OUT_OF_BALANCE finding (both parsers): BPR02 against the landed claims' CLP04 and
    the PLB amounts, naming the quarantined claim loops of the transaction set and their CLP04."""
    message = f"transaction set {txn}: BPR02 {total} != sum(CLP04) {paid} - sum(PLB amounts) {plb}"
    if not loops:
        return message
    named = ", ".join(
        f"CLP01 {clp01!r} (CLP04 {amount if amount is not None else 'not readable'})" for clp01, amount in loops
    )
    readable = [a for _, a in loops if a is not None]
    message += f" of the landed claims; quarantined claim loop(s) not counted: {named}"
    if len(readable) == len(loops):
        message += f", together {sum(readable, Decimal('0.0000'))}"
    return message


def to_date(value: str | None) -> date | None:
    """CCYYMMDD as a date, as polars' ``%Y%m%d`` reads it (the parser this replaced)."""
    if value is None:
        return None
    if len(value) == 8 and value.isascii() and value.isdigit():
        y, m, d = int(value[:4]), int(value[4:6]), int(value[6:])
    else:
        match = DATE_RE.match(value)
        if match is None:
            return None
        y, m, d = int(match[1]), int(match[2] or match[4]), int(match[3] or match[5])
    try:
        return date(y, m, d)
    except ValueError:
        return None


class ParserBase:
    """What both 835 parsers hold: the interchange body, its delimiters, the findings (capped at
    MAX_FINDINGS_PER_RULE per rule) and the quarantined transaction sets."""

    def __init__(self, body: str, delims: Delimiters, source_name: str, findings: list[Finding]) -> None:
        self.body = body
        self.d = delims
        self.src = source_name
        self.findings = findings
        self.quarantined: list[QuarantinedRecord] = []
        self._rule_counts: dict[str, int] = {}

    def finding(self, index: int, severity: str, rule: str, message: str, location: str | None) -> None:
        n = self._rule_counts.get(rule, 0) + 1
        self._rule_counts[rule] = n
        if n <= MAX_FINDINGS_PER_RULE:
            self.findings.append(Finding(index, severity, rule, f"{self.src}: {message}", location))
        elif n == MAX_FINDINGS_PER_RULE + 1:
            self.findings.append(Finding(index, "info", rule, f"{self.src}: more {rule} findings suppressed", location))


def quarantined_transaction_set(txn: int, problems: list[tuple[str, str]], text: str) -> QuarantinedRecord:
    """One transaction set's quarantine record: the reason of highest priority, and up to five
    of its problems' messages."""
    items = sorted(problems, key=lambda p: REASON_PRIORITY.index(p[0]))
    message = "; ".join(m for _, m in items[:5])
    if len(items) > 5:
        message += f"; and {len(items) - 5} more problems"
    return QuarantinedRecord(txn, items[0][0], message, text[:MAX_RAW_TEXT])


def check_envelopes(
    outside: Iterable[dict], st_per_gs: Mapping[int, int], element: str, finding: Callable[..., None]
) -> None:
    """ISA/GS/GE/IEA pairing and counts over the segments outside any ST..SE, as findings (both
    parsers call this: rows carry ``seg_no``, ``sid``, ``txn``, ``gs_seq`` and ``raw``;
    ``st_per_gs`` counts the transaction sets per functional group)."""
    isa: dict | None = None
    gs: dict | None = None
    for row in outside:
        sid, n = row["sid"], row["seg_no"]
        e = row["raw"].split(element)
        get = lambda i, e=e: e[i].strip() if len(e) > i else ""  # noqa: E731
        loc = f"segment {n}"
        if sid == "ISA":
            if isa is not None:
                finding(0, "warning", "MISSING_IEA", f"interchange {isa['control']} has no IEA trailer", loc)
            isa = {"control": get(13), "gs": 0}
        elif sid == "GS":
            if gs is not None:
                finding(0, "warning", "MISSING_GE", f"functional group {gs['control']} has no GE trailer", loc)
            gs = {"control": get(6), "seq": row["gs_seq"]}
            if isa is not None:
                isa["gs"] += 1
        elif sid == "GE":
            if gs is None:
                finding(0, "warning", "GE_WITHOUT_GS", f"GE at segment {n} has no GS", loc)
                continue
            count = st_per_gs.get(gs["seq"], 0)
            if get(1) != str(count):
                finding(
                    0,
                    "warning",
                    "GE_COUNT_MISMATCH",
                    f"GE01 says {get(1)!r} transaction sets in group {gs['control']}, counted {count}",
                    loc,
                )
            if get(2) != gs["control"]:
                finding(
                    0,
                    "warning",
                    "GS_GE_CONTROL_MISMATCH",
                    f"GE02 {get(2)!r} does not match GS06 {gs['control']!r}",
                    loc,
                )
            gs = None
        elif sid == "IEA":
            if isa is None:
                finding(0, "warning", "IEA_WITHOUT_ISA", f"IEA at segment {n} has no ISA", loc)
                continue
            if gs is not None:
                finding(0, "warning", "MISSING_GE", f"functional group {gs['control']} has no GE trailer", loc)
                gs = None
            if get(1) != str(isa["gs"]):
                finding(
                    0,
                    "warning",
                    "IEA_COUNT_MISMATCH",
                    f"IEA01 says {get(1)!r} functional groups in interchange {isa['control']}, counted {isa['gs']}",
                    loc,
                )
            if get(2) != isa["control"]:
                finding(
                    0,
                    "warning",
                    "ISA_IEA_CONTROL_MISMATCH",
                    f"IEA02 {get(2)!r} does not match ISA13 {isa['control']!r}",
                    loc,
                )
            isa = None
        else:
            finding(
                row["txn"],
                "warning",
                "SEGMENT_OUTSIDE_TRANSACTION",
                f"segment {n} ({row['raw'][:60]}) is outside any ST..SE and was ignored",
                loc,
            )
    if gs is not None:
        finding(0, "warning", "MISSING_GE", f"functional group {gs['control']} has no GE trailer", "end of file")
    if isa is not None:
        finding(0, "warning", "MISSING_IEA", f"interchange {isa['control']} has no IEA trailer", "end of file")
