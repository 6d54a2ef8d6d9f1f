"""SAP S/4HANA Cloud: ``JournalEntryBulkCreateRequest`` SOAP payloads.

Service ``JournalEntryCreateRequestConfirmation_In`` (synchronous, communication scenario
SAP_COM_0002 *Finance - Posting Integration*), namespace ``http://sap.com/xi/SAPSCORE/SFIN``.
One file per run holds one SOAP envelope with a bulk message header and one
``JournalEntryCreateRequest`` per careledger journal (each with its own message header, so
SAP confirms it on its own); ``careledger deliver erp --target sap`` sends each journal as
its own bulk request so that a rejection or a retry concerns one journal only.

Per journal: ``OriginalReferenceDocumentType`` BKPFF, ``BusinessTransactionType`` RFBU,
``AccountingDocumentType`` SA, ``CompanyCode`` (legal entity), ``DocumentDate`` (the source
posting date), ``PostingDate`` (the accounting date careledger placed it on),
``CreatedByUser``, ``DocumentReferenceID`` (16 characters: :func:`document_reference`, kept
in ``publish.erp_references``) and ``DocumentHeaderText`` (25). Items: ``GLAccount`` (10,
zero-padded), ``AmountInTransactionCurrency`` with ``currencyCode`` (credits negative),
``DebitCreditCode`` S (debit) / H (credit), ``DocumentItemText`` (50) and
``AccountAssignment`` (cost center, profit center = facility, segment = service line).

Company code, profit center, cost center and segment come from
``seeds/sap_account_assignment.csv``; a value with no seed row goes out as careledger has it
when it fits SAP's field (a cost center drops its ``CC-`` prefix and dashes first), and a
journal with a value that does not fit is refused by pre-validation, never clipped.

Every payload is validated against ``publish/erp_schemas/sap_journal_entry.xsd`` (written
from SAP's public API documentation) and against what SAP rejects: empty message or
reference ids, a journal that does not balance to zero in transaction currency, a debit
with a negative amount or a credit with a positive one, and field lengths.
"""

from __future__ import annotations

import csv
import re
import uuid
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape, quoteattr

from careledger.config import SEEDS_DIR
from careledger.publish.erp.base import (
    ZERO,
    ExportBatch,
    ExportValidationError,
    RenderedFile,
    amount,
    check_balanced,
    clip,
    file_name,
)
from careledger.publish.posting import PostingJournal

TARGET = "sap"
SFIN_NS = "http://sap.com/xi/SAPSCORE/SFIN"
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
XSD_PATH = Path(__file__).resolve().parents[1] / "erp_schemas" / "sap_journal_entry.xsd"
ASSIGNMENT_SEED = SEEDS_DIR / "sap_account_assignment.csv"

# SAP field lengths (ABAP data elements) careledger fills from its own codes.
FIELD_LENGTHS = {
    "CompanyCode": 4,
    "DocumentReferenceID": 16,
    "GLAccount": 10,
    "CostCenter": 10,
    "ProfitCenter": 10,
    "Segment": 10,
    "CreatedByUser": 12,
}
DIMENSIONS = ("company_code", "profit_center", "cost_center", "segment")
REVERSAL_WORD = {"original": "", "reversal": "REV ", "replacement": "REPL "}
_JOURNAL_ID = re.compile(r"^CL-([0-9A-F]{12})-(\d+)$")
_BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_UUID_NAMESPACE = uuid.UUID("6f1c1d2e-0c1a-5b8e-9d3a-2f4e5a6b7c8d")


def document_reference(journal_id: str) -> str:
    """careledger's journal id (``CL-<12 hex>-<seq>``, 20 characters) as a 16-character
    ``DocumentReferenceID``: ``CL`` + the 12 hex digits + the posting sequence in two base-36
    digits (up to 1,295 postings of one journal). Pure, so the same journal always gets the
    same reference; the posting ledger keeps the mapping (``publish.erp_references``)."""
    m = _JOURNAL_ID.match(journal_id)
    if m is None or int(m.group(2)) >= 36 * 36:
        raise ExportValidationError(
            TARGET, journal_id, "DocumentReferenceID", "cannot be derived: not a CL-<12 hex>-<seq> journal id"
        )
    seq = int(m.group(2))
    return f"CL{m.group(1)}{_BASE36[seq // 36]}{_BASE36[seq % 36]}"


def message_uuid(key: str) -> str:
    """A UUID for a message header, derived from careledger's id (same input, same bytes)."""
    return str(uuid.uuid5(_UUID_NAMESPACE, key))


@lru_cache(maxsize=4)
def _load_assignment_seed(path: Path) -> dict[str, dict[str, str]]:
    maps: dict[str, dict[str, str]] = {d: {} for d in DIMENSIONS}
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            dim = row["dimension"].strip()
            if dim not in maps:
                raise ValueError(f"{path}: dimension {dim!r} is not one of {', '.join(DIMENSIONS)}")
            maps[dim][row["careledger_value"].strip()] = row["sap_value"].strip()
    return maps


@dataclass(frozen=True)
class SapConfig:
    created_by_user: str = "CARELEDGER"
    # dimension -> careledger value -> SAP value (seeds/sap_account_assignment.csv by default)
    assignment: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: _load_assignment_seed(ASSIGNMENT_SEED))


@dataclass(frozen=True)
class SapItem:
    line_number: int
    gl_account: str
    amount: Decimal  # signed: debit positive, credit negative
    debit_credit_code: str
    text: str
    cost_center: str | None
    profit_center: str | None
    segment: str | None


@dataclass(frozen=True)
class SapJournalEntry:
    journal_id: str
    idempotency_key: str
    reference: str
    header_text: str
    company_code: str
    document_date: str
    posting_date: str
    currency: str
    created_by: str
    items: tuple[SapItem, ...]


def gl_account(account_id: str) -> str:
    """SAP's 10-character GL account: numeric accounts zero-padded (``1200`` -> ``0000001200``)."""
    return account_id.zfill(10) if account_id.isdigit() else account_id.upper()


def default_cost_center(cost_center_id: str) -> str:
    """careledger's ``CC-F100-0001`` as SAP cost center ``F1000001`` when the seed has no row."""
    value = cost_center_id.removeprefix("CC-")
    return value.replace("-", "").upper()


class SapJournalEntryAdapter:
    target = TARGET
    prevalidation_rule = "SAP_LEN"

    def __init__(self, config: SapConfig | None = None) -> None:
        self.config = config or SapConfig()

    # ------------------------------------------------------------------ mapping

    def assigned(self, dimension: str, value: str | None) -> str | None:
        if not value:
            return None
        mapped = self.config.assignment.get(dimension, {}).get(value)
        if mapped:
            return mapped
        return default_cost_center(value) if dimension == "cost_center" else value

    def problems(self, journal: PostingJournal) -> list[tuple[str, str]]:
        """(field, problem) for every value SAP would reject on this journal (pre-validation)."""
        found: list[tuple[str, str]] = []

        def fits(name: str, value: str | None, origin: str) -> None:
            limit = FIELD_LENGTHS[name]
            if value is not None and len(value) > limit:
                found.append(
                    (
                        name,
                        f"{origin} gives {name} {value!r} ({len(value)} characters; SAP allows {limit}); "
                        f"map it in {ASSIGNMENT_SEED.name}",
                    )
                )

        fits("CompanyCode", self.assigned("company_code", journal.legal_entity_id), "legal entity")
        fits("CreatedByUser", self.config.created_by_user, "SapConfig.created_by_user")
        try:
            document_reference(journal.journal_id)
        except ExportValidationError as exc:
            found.append(("DocumentReferenceID", str(exc)))
        fits("ProfitCenter", self.assigned("profit_center", journal.facility_id), f"facility {journal.facility_id}")
        for ln in journal.lines:
            fits("GLAccount", gl_account(ln.account_id), f"line {ln.line_number} account {ln.account_id}")
            fits("CostCenter", self.assigned("cost_center", ln.cost_center_id), f"line {ln.line_number} cost center")
            fits("Segment", self.assigned("segment", ln.service_line_code), f"line {ln.line_number} service line")
        return found

    def entry(self, j: PostingJournal) -> SapJournalEntry:
        for name, problem in self.problems(j):
            raise ExportValidationError(TARGET, j.journal_id, name, problem)
        company_code = self.assigned("company_code", j.legal_entity_id)
        profit_center = self.assigned("profit_center", j.facility_id)
        source = "".join(w[0] for w in j.journal_source.split("_")).upper()
        items = []
        for ln in j.lines:
            is_debit = ln.debit_amount > 0
            items.append(
                SapItem(
                    line_number=ln.line_number,
                    gl_account=gl_account(ln.account_id),
                    amount=ln.debit_amount if is_debit else -ln.credit_amount,
                    debit_credit_code="S" if is_debit else "H",
                    text=clip(ln.description, 50),
                    cost_center=self.assigned("cost_center", ln.cost_center_id),
                    profit_center=profit_center,
                    segment=self.assigned("segment", ln.service_line_code),
                )
            )
        return SapJournalEntry(
            journal_id=j.journal_id,
            idempotency_key=j.idempotency_key,
            reference=document_reference(j.journal_id),
            header_text=clip(
                f"{REVERSAL_WORD.get(j.posting_type, '')}{source} {j.facility_id} {j.posting_date.isoformat()}", 25
            ),
            company_code=company_code or "",
            document_date=j.posting_date.isoformat(),
            posting_date=j.accounting_date.isoformat(),
            currency=j.currency_code,
            created_by=self.config.created_by_user,
            items=tuple(items),
        )

    def references(self, journals: list[PostingJournal] | tuple[PostingJournal, ...]) -> dict[str, str]:
        """journal_id -> DocumentReferenceID, for the posting ledger."""
        return {j.journal_id: document_reference(j.journal_id) for j in journals}

    # ------------------------------------------------------------------ rendering

    def render(self, batch: ExportBatch) -> list[RenderedFile]:
        check_balanced(TARGET, batch.journals)
        entries = [self.entry(j) for j in batch.journals]
        created = f"{batch.date_to.isoformat()}T00:00:00Z"
        content = envelope(f"CL{batch.batch_id}", created, entries).encode("utf-8")
        validate_payload(content)
        return [
            RenderedFile(file_name(TARGET, batch, content, "xml"), content, tuple(j.journal_id for j in batch.journals))
        ]


# ---------------------------------------------------------------------------- XML


def _header(message_id: str, created: str) -> str:
    return (
        f"<MessageHeader><ID>{escape(message_id)}</ID><UUID>{message_uuid(message_id)}</UUID>"
        f"<CreationDateTime>{created}</CreationDateTime></MessageHeader>"
    )


def _tag(name: str, value: str | None) -> str:
    return "" if value is None else f"<{name}>{escape(value)}</{name}>"


def request_xml(entry: SapJournalEntry, created: str) -> str:
    """One ``JournalEntryCreateRequest`` element (its message header ID = the idempotency key)."""
    items = []
    for it in entry.items:
        assignment = "".join(
            _tag(n, v)
            for n, v in (("CostCenter", it.cost_center), ("ProfitCenter", it.profit_center), ("Segment", it.segment))
        )
        items.append(
            "      <Item>"
            f"<ReferenceDocumentItem>{it.line_number}</ReferenceDocumentItem>"
            f"<GLAccount>{escape(it.gl_account)}</GLAccount>"
            f"<AmountInTransactionCurrency currencyCode={quoteattr(entry.currency)}>{amount(it.amount)}</AmountInTransactionCurrency>"
            f"<DebitCreditCode>{it.debit_credit_code}</DebitCreditCode>"
            f"{_tag('DocumentItemText', it.text) if it.text else ''}"
            f"{f'<AccountAssignment>{assignment}</AccountAssignment>' if assignment else ''}"
            "</Item>\n"
        )
    return (
        "    <JournalEntryCreateRequest>\n"
        f"      {_header(entry.idempotency_key, created)}\n"
        "      <JournalEntry>\n"
        "      <OriginalReferenceDocumentType>BKPFF</OriginalReferenceDocumentType>"
        "<BusinessTransactionType>RFBU</BusinessTransactionType>"
        "<AccountingDocumentType>SA</AccountingDocumentType>\n"
        f"      <DocumentReferenceID>{escape(entry.reference)}</DocumentReferenceID>"
        f"<DocumentHeaderText>{escape(entry.header_text)}</DocumentHeaderText>\n"
        f"      <CreatedByUser>{escape(entry.created_by)}</CreatedByUser><CompanyCode>{escape(entry.company_code)}</CompanyCode>"
        f"<DocumentDate>{entry.document_date}</DocumentDate><PostingDate>{entry.posting_date}</PostingDate>\n"
        + "".join(items)
        + "      </JournalEntry>\n"
        "    </JournalEntryCreateRequest>\n"
    )


def envelope(message_id: str, created: str, entries: list[SapJournalEntry]) -> str:
    return wrap_requests(message_id, created, "".join(request_xml(e, created) for e in entries))


def wrap_requests(message_id: str, created: str, requests: str) -> str:
    """A SOAP envelope around ``JournalEntryCreateRequest`` elements."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_NS}" xmlns:sfin="{SFIN_NS}">\n'
        "<soapenv:Header/>\n<soapenv:Body>\n"
        "  <sfin:JournalEntryBulkCreateRequest>\n"
        f"    {_header(message_id, created)}\n"
        f"{requests}"
        "  </sfin:JournalEntryBulkCreateRequest>\n"
        "</soapenv:Body>\n</soapenv:Envelope>\n"
    )


@lru_cache(maxsize=1)
def schema():
    import xmlschema

    return xmlschema.XMLSchema(str(XSD_PATH))


def body_element(payload: bytes) -> ET.Element:
    """The one element inside ``soapenv:Body``."""
    try:
        root = ET.fromstring(payload)
    except ET.ParseError as exc:
        raise ExportValidationError(TARGET, "(file)", "(xml)", f"is not well-formed XML: {exc}") from exc
    body = root.find(f"{{{SOAP_NS}}}Body")
    if root.tag != f"{{{SOAP_NS}}}Envelope" or body is None or len(body) != 1:
        raise ExportValidationError(
            TARGET, "(file)", "soapenv:Body", "must hold exactly one element in a SOAP envelope"
        )
    return body[0]


def validate_payload(payload: bytes, journal_of: Mapping[str, str] | None = None) -> list[ET.Element]:
    """Validate a request envelope against the XSD and SAP's posting rules; return its
    ``JournalEntryCreateRequest`` elements. Raises :class:`ExportValidationError` naming the
    journal (``journal_of``: DocumentReferenceID -> journal id, else the reference itself)."""
    body = body_element(payload)
    if body.tag != f"{{{SFIN_NS}}}JournalEntryBulkCreateRequest":
        raise ExportValidationError(
            TARGET, "(file)", "soapenv:Body", f"holds {body.tag}, not JournalEntryBulkCreateRequest"
        )
    errors = list(schema().iter_errors(body))
    if errors:
        err = errors[0]
        raise ExportValidationError(
            TARGET, "(file)", str(err.path or "(root)"), f"violates the SAP schema: {err.reason}"
        )
    requests = body.findall("JournalEntryCreateRequest")
    seen: set[str] = set()
    for req in requests:
        je = req.find("JournalEntry")
        ref = je.findtext("DocumentReferenceID", "")
        jid = (journal_of or {}).get(ref, ref)
        msg_id = req.findtext("MessageHeader/ID", "").strip()
        if msg_id in seen:
            raise ExportValidationError(TARGET, jid, "MessageHeader/ID", f"{msg_id} appears twice in one request")
        seen.add(msg_id)
        totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for item in je.findall("Item"):
            amt_el = item.find("AmountInTransactionCurrency")
            value = Decimal(amt_el.text or "0")
            code = item.findtext("DebitCreditCode")
            line = item.findtext("ReferenceDocumentItem")
            if value == 0 or (code == "S") != (value > 0):
                raise ExportValidationError(
                    TARGET,
                    jid,
                    f"Item {line} AmountInTransactionCurrency",
                    f"{value} does not match DebitCreditCode {code}",
                )
            totals[amt_el.get("currencyCode", "")] += value
        for currency, total in sorted(totals.items()):
            if total != 0:
                raise ExportValidationError(
                    TARGET, jid, "AmountInTransactionCurrency", f"items do not balance in {currency}: sum {total:.2f}"
                )
    return requests


def split_requests(payload: bytes) -> list[tuple[str, str]]:
    """(DocumentReferenceID, serialized JournalEntryCreateRequest) for each journal of a file."""
    out = []
    for req in body_element(payload).findall("JournalEntryCreateRequest"):
        out.append((req.findtext("JournalEntry/DocumentReferenceID", ""), ET.tostring(req, encoding="unicode")))
    return out
