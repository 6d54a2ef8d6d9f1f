"""SAP S/4HANA Cloud delivery: the SOAP service ``JournalEntryCreateRequestConfirmation_In``
(communication scenario SAP_COM_0002), one ``JournalEntryBulkCreateRequest`` per journal.

``--endpoint`` is the service URL of the communication arrangement (``https://<host>/sap/bc/srt/
scs_ext/sap/journalentrycreaterequestconfirmation``). Authentication: the communication user,
``CARELEDGER_SAP_USER`` and ``CARELEDGER_SAP_PASSWORD`` (or their ``_FILE`` variants), as HTTP
basic auth. Idempotency: the message header ``ID`` of the request is the journal's idempotency
key (its ``UUID`` derived from it), and the journal carries its 16-character
``DocumentReferenceID``; a resend after a timeout carries the same header, which SAP's web
service runtime treats as the same message.

SAP answers a business failure with HTTP 200 too: its ``JournalEntryCreateConfirmation`` then
holds ``AccountingDocument`` = ``0000000000`` and the reasons in ``Log/Item/Note``. That is
recorded as a rejection (never retried); otherwise the journal is accepted with the document
id ``<CompanyCode>/<AccountingDocument>/<FiscalYear>``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from careledger.publish.delivery.engine import Answer, DeliveryError, Pending, Unit, basic_auth
from careledger.publish.erp.base import ExportValidationError
from careledger.publish.erp.sap import document_reference, split_requests, validate_payload, wrap_requests
from careledger.transport import Transport

TARGET = "sap"
NOT_POSTED = "0000000000"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find_all(root: ET.Element, name: str) -> list[ET.Element]:
    return [e for e in root.iter() if _local(e.tag) == name]


def _child_text(element: ET.Element, name: str) -> str:
    for e in element.iter():
        if _local(e.tag) == name:
            return (e.text or "").strip()
    return ""


def parse_confirmation(content: bytes) -> list[tuple[str, str, str]]:
    """(message header ID, document id or '', log notes) per ``JournalEntryCreateConfirmation``."""
    root = ET.fromstring(content)
    out = []
    for conf in _find_all(root, "JournalEntryCreateConfirmation"):
        inner = [c for c in conf if _local(c.tag) == "JournalEntryCreateConfirmation"]
        if not inner:
            continue  # the inner element of the same name
        header = next((c for c in conf if _local(c.tag) == "MessageHeader"), None)
        message_id = _child_text(header, "ReferenceID") or _child_text(header, "ID") if header is not None else ""
        doc = _child_text(inner[0], "AccountingDocument")
        notes = "; ".join((n.text or "").strip() for n in _find_all(conf, "Note") if (n.text or "").strip())
        document = ""
        if doc and doc != NOT_POSTED:
            document = f"{_child_text(inner[0], 'CompanyCode')}/{doc}/{_child_text(inner[0], 'FiscalYear')}"
        out.append((message_id, document, notes))
    return out


class SapClient:
    target = TARGET
    resend_is_idempotent = True

    def __init__(self, endpoint: str, *, dry_run: bool = False) -> None:
        self.endpoint = endpoint
        self.auth = basic_auth("sap", dry_run=dry_run, who="the communication user of the SAP_COM_0002 arrangement")

    def units(self, pending: list[Pending], folder: Path) -> list[Unit]:
        requests: dict[str, dict[str, str]] = {}
        units = []
        created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        for p in pending:
            if p.file_name not in requests:
                path = folder / p.file_name
                if not path.exists():
                    raise DeliveryError(f"{path} (named by the posting ledger) is missing; publish it again first")
                requests[p.file_name] = dict(split_requests(path.read_bytes()))
            request = requests[p.file_name].get(document_reference(p.journal_id))
            if request is None:
                units.append(Unit([p], b"", {}, f"{p.journal_id}: not in {p.file_name}"))
                continue
            dr = cr = Decimal(0)
            for item in _find_all(ET.fromstring(request), "AmountInTransactionCurrency"):
                value = Decimal(item.text)
                dr, cr = (dr + value, cr) if value > 0 else (dr, cr - value)
            body = wrap_requests(p.idempotency_key, created, request + "\n").encode("utf-8")
            unit = Unit(
                [p],
                body,
                {p.journal_id: (dr, cr)},
                f"POST {self.endpoint} JournalEntryBulkCreateRequest {p.idempotency_key} "
                f"journal {p.journal_id} (DocumentReferenceID {document_reference(p.journal_id)}, {dr:.2f})",
            )
            try:  # the XSD and SAP's own rules again, on the bytes that leave
                validate_payload(body, {document_reference(p.journal_id): p.journal_id})
            except ExportValidationError as exc:
                unit.problems[p.journal_id] = f"SAP_SCHEMA: {exc}"
            units.append(unit)
        return units

    def send(self, unit: Unit, transport: Transport) -> dict[str, Answer]:
        p = unit.journals[0]
        headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": "http://sap.com/xi/SAPSCORE/SFIN"}
        response = transport.try_once("POST", self.endpoint, content=unit.body, headers=headers, auth=self.auth)
        status = response.status_code
        if status != 200:
            return {p.journal_id: Answer("rejected", status, None, response.text[:2000])}
        try:
            confirmations = parse_confirmation(response.content)
        except ET.ParseError:
            return {p.journal_id: Answer("rejected", status, None, "SAP's answer is not XML: " + response.text[:500])}
        if not confirmations:
            return {
                p.journal_id: Answer("rejected", status, None, "SAP's answer holds no JournalEntryCreateConfirmation")
            }
        message_id, document, notes = confirmations[0]
        if message_id and message_id != p.idempotency_key:
            return {
                p.journal_id: Answer(
                    "rejected", status, None, f"SAP confirmed message {message_id}, not {p.idempotency_key}"
                )
            }
        if not document:
            return {p.journal_id: Answer("rejected", status, None, f"AccountingDocument {NOT_POSTED}: {notes}")}
        return {p.journal_id: Answer("accepted", status, document, notes or None)}
