"""``deliver_json``: send what ``publish erp --target json`` wrote to a webhook, one journal per
POST, exactly once per journal, every try recorded in ``publish.delivery_attempts``.

Request: ``POST <endpoint>`` with the journal object of the published file as the body
(``application/json``), ``Idempotency-Key: <journal idempotency_key>`` (the receiver keeps the
first answer per key, so a resend after a timeout never doubles), ``X-Careledger-Timestamp``
(Unix seconds) and ``X-Careledger-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">``
with the secret ``CARELEDGER_WEBHOOK_SECRET`` (or the file ``CARELEDGER_WEBHOOK_SECRET_FILE``).
Answers: 2xx accepted (document id = ``id`` of the JSON answer), 409 accepted (the receiver
already has the key), other 4xx a business rejection (its text recorded, not retried);
429/5xx/timeouts retried by :mod:`careledger.publish.delivery.transport`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from careledger.config import secret
from careledger.publish.delivery.transport import CircuitOpenError, TransientError, Transport, safe_endpoint
from careledger.publish.posting import LEDGER_SCHEMA, ensure_ledger

log = logging.getLogger(__name__)
TARGET = "json"


class DeliveryError(RuntimeError):
    """Delivery cannot start (no secret, no file); one sentence saying what to do."""


@dataclass
class DeliveryResult:
    target: str
    accepted: list[str] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    already_accepted: int = 0
    circuit_open: bool = False

    def summary(self) -> str:
        text = (
            f"{self.target}: {len(self.accepted)} accepted, {len(self.rejected)} rejected, "
            f"{len(self.failed)} not delivered, {self.already_accepted} already accepted before"
        )
        return text + ("; circuit open, the rest waits for the next run" if self.circuit_open else "")


def sign(secret_value: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret_value.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def deliver_json(
    warehouse: Path,
    endpoint: str,
    exports_dir: Path,
    *,
    transport: Transport | None = None,
    clock: Callable[[], float] = time.time,
) -> DeliveryResult:
    """Send every journal the ledger says was published for ``json`` and the ERP has not accepted."""
    webhook_secret = secret("webhook_secret")
    if not webhook_secret:
        raise DeliveryError("set CARELEDGER_WEBHOOK_SECRET (or CARELEDGER_WEBHOOK_SECRET_FILE) to sign the webhook")
    transport = transport or Transport()
    run_id = uuid.uuid4().hex[:12]
    result = DeliveryResult(TARGET)
    con = duckdb.connect(str(warehouse))
    try:
        ensure_ledger(con)
        rows = con.execute(
            f"""
            select l.journal_id, l.idempotency_key, l.file_name
            from {LEDGER_SCHEMA}.posting_ledger l
            where l.target = ? order by l.accounting_date, l.journal_id
            """,
            [TARGET],
        ).fetchall()
        done = {
            r[0]
            for r in con.execute(
                f"select distinct journal_id from {LEDGER_SCHEMA}.delivery_attempts "
                "where target = ? and outcome in ('accepted', 'rejected')",
                [TARGET],
            ).fetchall()
        }
        documents: dict[str, dict] = {}
        for journal_id, key, file_name in rows:
            if journal_id in done:
                result.already_accepted += 1
                continue
            if file_name not in documents:
                path = Path(exports_dir) / TARGET / file_name
                if not path.exists():
                    raise DeliveryError(f"{path} (named by the posting ledger) is missing; publish it again first")
                documents[file_name] = {
                    j["journal_id"]: j for j in json.loads(path.read_text(encoding="utf-8"))["journals"]
                }
            body = json.dumps(documents[file_name][journal_id], separators=(",", ":")).encode("utf-8")
            if result.circuit_open:
                result.failed[journal_id] = "not sent: circuit open"
                continue
            _send(con, transport, endpoint, run_id, journal_id, key, body, webhook_secret, clock, result)
    finally:
        con.close()
    log.info(result.summary())
    return result


def _send(con, transport, endpoint, run_id, journal_id, key, body, webhook_secret, clock, result) -> None:
    policy = transport.policy
    for attempt in range(1, policy.max_attempts + 1):
        started = _now()
        timestamp = str(int(clock()))
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": key,
            "X-Careledger-Timestamp": timestamp,
            "X-Careledger-Signature": sign(webhook_secret, timestamp, body),
        }
        try:
            response = transport.try_once("POST", endpoint, content=body, headers=headers)
        except CircuitOpenError as exc:
            result.circuit_open = True
            result.failed[journal_id] = str(exc)
            return
        except TransientError as exc:
            last = attempt == policy.max_attempts or transport.breaker.is_open
            outcome = "failed" if last else ("in_doubt" if exc.in_doubt else "retry")
            _record(con, journal_id, key, run_id, attempt, endpoint, started, outcome, exc.http_status, None, str(exc))
            if last:
                result.failed[journal_id] = str(exc)
                result.circuit_open = transport.breaker.is_open
                return
            transport.sleep(policy.delay(attempt, exc.retry_after, transport.rng))
            continue
        status = response.status_code
        if 200 <= status < 300 or status == 409:
            try:
                doc_id = str(response.json().get("id") or "")
            except ValueError:
                doc_id = ""
            _record(con, journal_id, key, run_id, attempt, endpoint, started, "accepted", status, doc_id or None, None)
            result.accepted.append(journal_id)
        else:
            text = response.text[:2000]
            _record(con, journal_id, key, run_id, attempt, endpoint, started, "rejected", status, None, text)
            result.rejected[journal_id] = text
        return


def _record(con, journal_id, key, run_id, attempt, endpoint, started, outcome, http_status, doc_id, message) -> None:
    con.execute(
        f"insert into {LEDGER_SCHEMA}.delivery_attempts values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            TARGET,
            journal_id,
            key,
            run_id,
            attempt,
            safe_endpoint(endpoint),
            started,
            _now(),
            outcome,
            http_status,
            doc_id,
            message,
        ],
    )
