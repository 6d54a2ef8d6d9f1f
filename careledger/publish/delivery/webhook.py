"""``deliver_json``: send what ``publish erp --target json`` wrote to a webhook, one journal per
POST, exactly once per journal, every try recorded in ``publish.delivery_attempts``.

Request: ``POST <endpoint>`` with the journal object of the published file as the body
(``application/json``), ``Idempotency-Key: <journal idempotency_key>`` (the receiver keeps the
first answer per key, so a resend after a timeout never doubles), ``X-Careledger-Timestamp``
(Unix seconds) and ``X-Careledger-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">``
with the secret ``CARELEDGER_WEBHOOK_SECRET`` (or the file ``CARELEDGER_WEBHOOK_SECRET_FILE``).
Answers: 2xx accepted (document id = ``id`` of the JSON answer), 409 accepted (the receiver
already has the key), other 4xx a business rejection (its text recorded, not retried);
429/5xx/timeouts retried by :mod:`careledger.transport`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import httpx

from careledger.config import secret
from careledger.publish.delivery.engine import Answer, DeliveryError, DeliveryResult, Pending, Unit, deliver
from careledger.transport import Transport

TARGET = "json"
__all__ = ["DeliveryError", "DeliveryResult", "WebhookClient", "deliver_json", "sign"]


def sign(secret_value: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret_value.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def read_json_file(folder: Path, file_name: str, **loads) -> dict:
    path = folder / file_name
    if not path.exists():
        raise DeliveryError(f"{path} (named by the posting ledger) is missing; publish it again first")
    return json.loads(path.read_text(encoding="utf-8"), **loads)


class WebhookClient:
    """One signed POST per journal of the generic JSON file."""

    target = TARGET
    resend_is_idempotent = True

    def __init__(self, endpoint: str, *, clock: Callable[[], float] = time.time, dry_run: bool = False) -> None:
        self.endpoint = endpoint
        self.clock = clock
        self.secret = secret("webhook_secret")
        if not self.secret and not dry_run:
            raise DeliveryError("set CARELEDGER_WEBHOOK_SECRET (or CARELEDGER_WEBHOOK_SECRET_FILE) to sign the webhook")

    def units(self, pending: list[Pending], folder: Path) -> list[Unit]:
        documents: dict[str, dict] = {}
        units = []
        for p in pending:
            if p.file_name not in documents:
                documents[p.file_name] = {j["journal_id"]: j for j in read_json_file(folder, p.file_name)["journals"]}
            journal = documents[p.file_name].get(p.journal_id)
            if journal is None:
                units.append(Unit([p], b"", {}, f"{p.journal_id}: not in {p.file_name}"))
                continue
            body = json.dumps(journal, separators=(",", ":")).encode("utf-8")
            dr = sum((Decimal(ln["debit_amount"]) for ln in journal["lines"]), Decimal(0))
            cr = sum((Decimal(ln["credit_amount"]) for ln in journal["lines"]), Decimal(0))
            units.append(
                Unit(
                    [p],
                    body,
                    {p.journal_id: (dr, cr)},
                    f"POST {self.endpoint} Idempotency-Key: {p.idempotency_key} "
                    f"journal {p.journal_id} ({len(journal['lines'])} lines, {dr:.2f})",
                )
            )
        return units

    def send(self, unit: Unit, transport: Transport) -> dict[str, Answer]:
        p = unit.journals[0]
        timestamp = str(int(self.clock()))
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": p.idempotency_key,
            "X-Careledger-Timestamp": timestamp,
            "X-Careledger-Signature": sign(self.secret, timestamp, unit.body),
        }
        response: httpx.Response = transport.try_once("POST", self.endpoint, content=unit.body, headers=headers)
        status = response.status_code
        if 200 <= status < 300 or status == 409:
            try:
                doc_id = str(response.json().get("id") or "")
            except ValueError:
                doc_id = ""
            return {p.journal_id: Answer("accepted", status, doc_id or None)}
        return {p.journal_id: Answer("rejected", status, None, response.text[:2000])}


def deliver_json(
    warehouse: Path,
    endpoint: str,
    exports_dir: Path,
    *,
    transport: Transport | None = None,
    clock: Callable[[], float] = time.time,
    dry_run: bool = False,
) -> DeliveryResult:
    """Send every journal the ledger says was published for ``json`` and the ERP has not answered."""
    client = WebhookClient(endpoint, clock=clock, dry_run=dry_run)
    return deliver(warehouse, client, endpoint, exports_dir, transport=transport, dry_run=dry_run)
