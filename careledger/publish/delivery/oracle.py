"""Oracle Fusion Cloud delivery: the FBDI upload through the ERP Integration REST service.

``--endpoint`` is the pod's base URL (``https://<pod>.fa.<dc>.oraclecloud.com``). Per published
file, the journals not answered yet are cut from its ``GL_INTERFACE`` rows, zipped as
``GlInterface.csv`` and sent:

1. ``POST /fscmRestApi/resources/11.13.18.05/erpintegrations`` with ``OperationName``
   ``importBulkData``, ``DocumentContent`` (the zip, base64), ``ContentType`` zip,
   ``FileName``, ``DocumentAccount`` ``fin$/generalLedger$/import$``, ``JobName`` (Journal
   Import, ``JournalImportLauncher``) and its ``ParameterList``. Oracle answers the ESS
   request id (``ReqstId``).
2. ``getESSJobStatus``: ``GET .../erpintegrations?finder=ESSJobStatusRF;requestId=<id>``,
   polled with exponential back-off until ``RequestStatus`` is SUCCEEDED, WARNING or ERROR.
3. ``downloadESSJobExecutionDetails``: ``GET .../erpintegrations?finder=
   ESSJobExecutionDetailsRF;requestId=<id>,fileType=log``; the log (a zip, base64) is read.

SUCCEEDED: every journal of the upload accepted, document id ``ESS <request id>``. WARNING or
ERROR: a journal whose id appears on a log line is rejected with that line, and the rest are
accepted under WARNING; rejected under ERROR (all with the log text when no line names one).

importBulkData has no idempotency key, so a resend would import the file a second time. Once
Oracle answered a request id, it is recorded with the attempt and a retry or a rerun only polls
that job again. An upload whose answer was lost (a timeout, a dropped connection, a 500/502/504)
is recorded ``in_doubt`` and not sent again: check *Scheduled Processes* for the file, and
rerun with ``--resend-in-doubt`` if it is not there. 429 and 503 mean Oracle did not take it,
so those are retried. Authentication: basic auth with ``CARELEDGER_ORACLE_USER`` and
``CARELEDGER_ORACLE_PASSWORD`` (or their ``_FILE`` variants).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import zipfile
from decimal import Decimal
from pathlib import Path

from careledger.publish.delivery.engine import Answer, Pending, Unit, basic_auth, published_files
from careledger.publish.erp.oracle import GL_INTERFACE_COLUMNS, fbdi_zip
from careledger.transport import TransientError, Transport

TARGET = "oracle"
RESOURCE = "/fscmRestApi/resources/11.13.18.05/erpintegrations"
JOB_NAME = "/oracle/apps/ess/financials/generalLedger/programs/common,JournalImportLauncher"
DOCUMENT_ACCOUNT = "fin$/generalLedger$/import$"
DONE = frozenset({"SUCCEEDED", "WARNING", "ERROR", "CANCELLED"})
_COL = {name: i for i, name in enumerate(GL_INTERFACE_COLUMNS)}


def _log_text(document_b64: str) -> str:
    raw = base64.b64decode(document_b64 or "")
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            return "\n".join(zf.read(n).decode("utf-8", "replace") for n in zf.namelist())
    except zipfile.BadZipFile:
        return raw.decode("utf-8", "replace")


class OracleClient:
    target = TARGET
    resend_is_idempotent = False

    def __init__(
        self,
        endpoint: str,
        *,
        dry_run: bool = False,
        poll_base: float = 5.0,
        poll_max: float = 120.0,
        poll_tries: int = 40,
        data_access_set: str = "#NULL",
        ledger_id: str = "#NULL",
    ) -> None:
        self.url = endpoint.rstrip("/") + RESOURCE
        self.poll_base, self.poll_max, self.poll_tries = poll_base, poll_max, poll_tries
        self.data_access_set, self.ledger_id = data_access_set, ledger_id
        self.auth = basic_auth(
            "oracle", dry_run=dry_run, who="an integration user with the General Accounting Manager role"
        )

    def units(self, pending: list[Pending], folder: Path) -> list[Unit]:
        units = []
        for name, text, journals in published_files(pending, folder):
            wanted = {p.journal_id for p in journals}
            rows = [r for r in csv.reader(io.StringIO(text)) if r]
            rows = [r for r in rows if r[_COL["REFERENCE4"]] in wanted]
            totals: dict[str, tuple[Decimal, Decimal]] = {}
            for r in rows:
                dr, cr = totals.get(r[_COL["REFERENCE4"]], (Decimal(0), Decimal(0)))
                totals[r[_COL["REFERENCE4"]]] = (
                    dr + Decimal(r[_COL["ENTERED_DR"]] or 0),
                    cr + Decimal(r[_COL["ENTERED_CR"]] or 0),
                )
            buf = io.StringIO()
            csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_MINIMAL).writerows(rows)
            content = buf.getvalue().encode("utf-8")
            zip_name = f"{name.removesuffix('.csv')}_{hashlib.sha256(content).hexdigest()[:8]}.zip"
            source = rows[0][_COL["USER_JE_SOURCE_NAME"]] if rows else ""
            group = rows[0][_COL["GROUP_ID"]] if rows else ""
            resume = next((p.resume_id for p in journals if p.resume_id), None)
            units.append(
                Unit(
                    journals,
                    fbdi_zip(content),
                    totals,
                    f"POST {self.url} importBulkData {zip_name} ({len(journals)} journals, {len(rows)} GL_INTERFACE rows)"
                    + (f"; resumes ESS request {resume}" if resume else ""),
                    {
                        "file_name": zip_name,
                        "parameters": f"{self.data_access_set},{source},{self.ledger_id},{group},N,N,N",
                        **({"resume_id": resume} if resume else {}),
                    },
                )
            )
        return units

    def _submit(self, unit: Unit, transport: Transport) -> str | dict[str, Answer]:
        payload = {
            "OperationName": "importBulkData",
            "DocumentContent": base64.b64encode(unit.body).decode("ascii"),
            "ContentType": "zip",
            "FileName": unit.extra["file_name"],
            "DocumentAccount": DOCUMENT_ACCOUNT,
            "JobName": JOB_NAME,
            "ParameterList": unit.extra["parameters"],
            "CallbackURL": "#NULL",
            "NotificationCode": "10",
            "JobOptions": "InterfaceDetails=15,ImportOption=Y,PurgeOption=N,ExtractFileType=ALL",
        }
        try:
            response = transport.try_once("POST", self.url, json=payload, auth=self.auth)
        except TransientError as exc:
            if exc.http_status in (429, 503):
                exc.in_doubt = False  # Oracle refused it before taking it
            raise
        if response.status_code not in (200, 201) or not response.json().get("ReqstId"):
            text = response.text[:2000]
            return {p.journal_id: Answer("rejected", response.status_code, None, text) for p in unit.journals}
        return str(response.json()["ReqstId"])

    def _get(self, transport: Transport, finder: str, request_id: str) -> dict:
        try:
            response = transport.try_once("GET", self.url, params={"finder": finder}, auth=self.auth)
        except TransientError as exc:
            raise TransientError(
                f"{exc} (ESS request {request_id})",
                http_status=exc.http_status,
                retry_after=exc.retry_after,
                in_doubt=True,
                document_id=request_id,
            ) from exc
        items = response.json().get("items") or [{}] if response.status_code == 200 else [{}]
        return items[0]

    def send(self, unit: Unit, transport: Transport) -> dict[str, Answer]:
        request_id = unit.extra.get("resume_id")
        if request_id is None:
            submitted = self._submit(unit, transport)
            if isinstance(submitted, dict):
                return submitted
            request_id = unit.extra["resume_id"] = submitted
        status = ""
        for i in range(self.poll_tries):
            status = self._get(transport, f"ESSJobStatusRF;requestId={request_id}", request_id).get("RequestStatus", "")
            if status in DONE:
                break
            transport.sleep(min(self.poll_max, self.poll_base * 2**i))
        else:
            raise TransientError(
                f"ESS request {request_id} still {status or 'unknown'} after {self.poll_tries} polls",
                in_doubt=True,
                document_id=request_id,
            )
        document = f"ESS {request_id}"
        if status == "SUCCEEDED":
            return {p.journal_id: Answer("accepted", 200, document, None) for p in unit.journals}
        details = self._get(transport, f"ESSJobExecutionDetailsRF;requestId={request_id},fileType=log", request_id)
        log_text = _log_text(details.get("DocumentContent", ""))
        answers = {}
        for p in unit.journals:
            lines = [ln.strip() for ln in log_text.splitlines() if p.journal_id in ln]
            if lines:
                answers[p.journal_id] = Answer("rejected", 200, document, f"ESS {status}: " + "; ".join(lines)[:2000])
            elif status == "WARNING":
                answers[p.journal_id] = Answer("accepted", 200, document, None)
            else:
                answers[p.journal_id] = Answer("rejected", 200, document, f"ESS {status}: {log_text.strip()[:1900]}")
        return answers
