"""Mock ERP servers on 127.0.0.1, one per target, speaking the request and response shapes of
each ERP's public API documentation (docs/erp_posting.md, "Delivery"), for the delivery tests.

Every mock keeps ``books``: journal id -> how many times the ERP booked it (the test's
"exactly once" check), which survives a restart (pass the same ``Books`` to a new server).
Faults are scripted per request kind: ``faults={"post": ["429", "ok"]}`` answers the first
posting request with 429 and the second normally. A fault is one of
``ok`` | ``429`` (Retry-After: 1) | ``503`` | ``slow`` (process, then answer after
``slow_seconds``: the client times out) | ``die`` (process, then drop the connection and stop
listening: the server died mid-batch). ``reject``: journal ids the ERP refuses as a business
rule, with its own kind of message.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import threading
import time
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit
from xml.etree import ElementTree as ET

import jwt

from careledger.publish.erp.oracle import GL_INTERFACE_COLUMNS

SFIN = "http://sap.com/xi/SAPSCORE/SFIN"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"


@dataclass
class Books:
    """What the ERP holds; shared by the servers of one test (a restart keeps it)."""

    booked: Counter = field(default_factory=Counter)  # journal id -> times booked
    records: dict = field(default_factory=dict)  # the ERP's own keys (externalId, message id, ...)
    jobs: dict = field(default_factory=dict)  # Oracle ESS requests / D365 executions
    blobs: dict = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def book(self, journal_id: str) -> None:
        self.booked[journal_id] += 1


Reply = tuple[int, dict[str, str], bytes] | None  # None: drop the connection


class MockErp(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        books: Books | None = None,
        *,
        faults: dict[str, list[str]] | None = None,
        reject: set[str] | frozenset[str] = frozenset(),
        slow_seconds: float = 0.6,
    ) -> None:
        self.books = books or Books()
        self.faults = {k: list(v) for k, v in (faults or {}).items()}
        self.reject = set(reject)
        self.slow_seconds = slow_seconds
        self.hits: Counter = Counter()  # request kind -> requests received
        self.dead = False
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def next_fault(self, kind: str) -> str:
        self.hits[kind] += 1
        queue = self.faults.get(kind) or []
        return queue.pop(0) if queue else "ok"

    def die(self) -> None:
        self.dead = True

        def stop() -> None:
            self.shutdown()
            self.server_close()

        threading.Thread(target=stop, daemon=True).start()

    def handle_request_(self, method: str, path: str, query: str, headers, body: bytes) -> Reply:
        """Each mock ERP answers its own routes; the base knows none (HTTP 404)."""
        return 404, {"Content-Type": "text/plain"}, f"no route {method} {path}".encode()

    def faulted(self, kind: str, process) -> Reply:
        """Apply the next scripted fault of ``kind`` around ``process()`` (which books)."""
        fault = self.next_fault(kind)
        if fault == "429":
            return 429, {"Retry-After": "1", "Content-Type": "application/json"}, b'{"error": "too many requests"}'
        if fault == "503":
            return 503, {"Content-Type": "text/plain"}, b"Service Unavailable"
        reply = process()
        if fault == "slow":
            time.sleep(self.slow_seconds)
        if fault == "die":
            self.die()
            return None
        return reply


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _serve(self, method: str) -> None:
        srv: MockErp = self.server  # type: ignore[assignment]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        parts = urlsplit(self.path)
        reply = srv.handle_request_(method, unquote(parts.path), unquote(parts.query), self.headers, body)
        if reply is None:
            self.close_connection = True
            return
        status, headers, data = reply
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def log_message(self, *args) -> None:
        pass


def _json(status: int, payload, headers: dict[str, str] | None = None) -> Reply:
    return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(payload).encode()


def _basic_ok(headers, user: str, password: str) -> bool:
    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    return headers.get("Authorization") == expected


# ---------------------------------------------------------------------------- NetSuite


class NetSuiteMock(MockErp):
    """``POST /services/rest/auth/oauth2/v1/token`` (client credentials with a JWT assertion,
    checked against the certificate's public key) and ``PUT /services/rest/record/v1/
    journalEntry/eid:<externalId>`` (upsert: 204 + Location, or 400 with o:errorDetails)."""

    def __init__(self, books=None, *, public_key, client_id: str, certificate_id: str, token_uses: int = 0, **kw):
        super().__init__(books, **kw)
        self.public_key, self.client_id, self.certificate_id = public_key, client_id, certificate_id
        self.token_uses = token_uses  # > 0: a token stops working after that many uses (an early expiry)
        self.tokens: dict[str, int] = {}
        self.algorithms: list[str] = []

    def handle_request_(self, method, path, query, headers, body):
        if method == "POST" and path == "/services/rest/auth/oauth2/v1/token":
            return self._token(body)
        prefix = "/services/rest/record/v1/journalEntry/eid:"
        if method == "PUT" and path.startswith(prefix):
            token = (headers.get("Authorization") or "").removeprefix("Bearer ")
            if token not in self.tokens or (self.token_uses and self.tokens[token] >= self.token_uses):
                return _json(
                    401,
                    {"title": "Unauthorized", "status": 401, "o:errorDetails": [{"detail": "Invalid login attempt."}]},
                )
            self.tokens[token] += 1
            return self.faulted("post", lambda: self._upsert(path.removeprefix(prefix), json.loads(body)))
        return _json(404, {"title": "Not Found"})

    def _token(self, body: bytes) -> Reply:
        self.hits["token"] += 1
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        assert form["grant_type"] == "client_credentials"
        assert form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        assertion = form["client_assertion"]
        header = jwt.get_unverified_header(assertion)
        if header.get("kid") != self.certificate_id or header.get("alg") not in ("PS256", "ES256"):
            return _json(400, {"error": "invalid_grant"})
        self.algorithms.append(header["alg"])
        try:
            claims = jwt.decode(
                assertion,
                self.public_key,
                algorithms=[header["alg"]],
                audience=f"{self.base}/services/rest/auth/oauth2/v1/token",
            )
        except jwt.InvalidTokenError:
            return _json(400, {"error": "invalid_grant"})
        if claims["iss"] != self.client_id or "rest_webservices" not in claims["scope"]:
            return _json(400, {"error": "invalid_client"})
        token = f"ns-token-{len(self.tokens) + 1}"
        self.tokens[token] = 0
        return _json(200, {"access_token": token, "token_type": "bearer", "expires_in": 3600})

    def _upsert(self, external_id: str, record: dict) -> Reply:
        assert "externalId" not in record  # the external id is the URL's
        journal_id = record["tranId"]
        if journal_id in self.reject:
            return _json(
                400,
                {
                    "type": "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.1",
                    "title": "Bad Request",
                    "status": 400,
                    "o:errorDetails": [
                        {
                            "detail": f"Invalid account reference key 1200 for subsidiary {record['subsidiary']['id']}.",
                            "o:errorCode": "INVALID_KEY_OR_REF",
                        }
                    ],
                },
            )
        with self.books.lock:
            internal = self.books.records.get(external_id)
            if internal is None:  # a new record; a known externalId is updated in place
                internal = str(1000 + len(self.books.records))
                self.books.records[external_id] = internal
                self.books.book(journal_id)
        return 204, {"Location": f"{self.base}/services/rest/record/v1/journalEntry/{internal}"}, b""


# ---------------------------------------------------------------------------- SAP


class SapMock(MockErp):
    """``POST /sap/bc/srt/scs_ext/sap/journalentrycreaterequestconfirmation`` with a SOAP
    ``JournalEntryBulkCreateRequest``: HTTP 200 with ``JournalEntryBulkCreateConfirmation``,
    ``AccountingDocument`` = ``0000000000`` and log notes for a business failure. A message
    header ID it has seen is answered with the confirmation it gave (idempotent service)."""

    PATH = "/sap/bc/srt/scs_ext/sap/journalentrycreaterequestconfirmation"

    def __init__(self, books=None, *, user: str, password: str, **kw):
        super().__init__(books, **kw)
        self.user, self.password = user, password

    @property
    def url(self) -> str:
        return self.base + self.PATH

    def handle_request_(self, method, path, query, headers, body):
        if method != "POST" or path != self.PATH:
            return 404, {}, b""
        if not _basic_ok(headers, self.user, self.password):
            return 401, {"WWW-Authenticate": "Basic"}, b"Unauthorized"
        return self.faulted("post", lambda: self._create(body))

    def _create(self, body: bytes) -> Reply:
        root = ET.fromstring(body)
        bulk = root.find(f"{{{SOAP}}}Body/{{{SFIN}}}JournalEntryBulkCreateRequest")
        confirmations = []
        for req in bulk.findall("JournalEntryCreateRequest"):
            message_id = req.findtext("MessageHeader/ID")
            je = req.find("JournalEntry")
            reference = je.findtext("DocumentReferenceID")
            company = je.findtext("CompanyCode")
            year = je.findtext("PostingDate")[:4]
            with self.books.lock:
                if message_id not in self.books.records:
                    if reference in self.reject:
                        doc, year_out = "0000000000", "0000"
                        notes = [
                            f"Account 0000001200 is blocked for posting in company code {company}",
                            "Document not posted; check the journal entry",
                        ]
                    else:
                        doc, year_out, notes = f"{100000001 + len(self.books.booked):010d}", year, []
                        self.books.book(reference)
                    self.books.records[message_id] = (doc, company, year_out, notes)
                doc, company_out, year_out, notes = self.books.records[message_id]
            log = "".join(
                f"<Item><TypeID>F5(702)</TypeID><SeverityCode>3</SeverityCode><Note>{n}</Note></Item>" for n in notes
            )
            confirmations.append(
                "<JournalEntryCreateConfirmation>"
                f"<MessageHeader><ID>C{message_id[:30]}</ID><ReferenceID>{message_id}</ReferenceID>"
                "<CreationDateTime>2026-12-03T08:00:00Z</CreationDateTime></MessageHeader>"
                f"<JournalEntryCreateConfirmation><AccountingDocument>{doc}</AccountingDocument>"
                f"<CompanyCode>{company_out if doc != '0000000000' else ''}</CompanyCode><FiscalYear>{year_out}</FiscalYear>"
                "</JournalEntryCreateConfirmation>"
                f"<Log><MaximumLogItemSeverityCode>{3 if notes else 1}</MaximumLogItemSeverityCode>{log}</Log>"
                "</JournalEntryCreateConfirmation>"
            )
        answer = (
            f'<?xml version="1.0" encoding="utf-8"?><soap-env:Envelope xmlns:soap-env="{SOAP}"><soap-env:Header/>'
            f'<soap-env:Body><n0:JournalEntryBulkCreateConfirmation xmlns:n0="{SFIN}">'
            "<MessageHeader><ID>BULKCONF</ID><CreationDateTime>2026-12-03T08:00:00Z</CreationDateTime></MessageHeader>"
            + "".join(confirmations)
            + "</n0:JournalEntryBulkCreateConfirmation></soap-env:Body></soap-env:Envelope>"
        )
        return 200, {"Content-Type": "text/xml; charset=utf-8"}, answer.encode()


# ---------------------------------------------------------------------------- Oracle


class OracleMock(MockErp):
    """``/fscmRestApi/resources/11.13.18.05/erpintegrations``: POST ``importBulkData`` (the
    FBDI zip, base64) answers ``ReqstId``; GET ``finder=ESSJobStatusRF;requestId=<id>`` answers
    RUNNING, then SUCCEEDED (WARNING when a journal was rejected); GET
    ``finder=ESSJobExecutionDetailsRF;requestId=<id>,fileType=log`` the log zip, base64."""

    PATH = "/fscmRestApi/resources/11.13.18.05/erpintegrations"

    def __init__(self, books=None, *, user: str, password: str, running_polls: int = 1, **kw):
        super().__init__(books, **kw)
        self.user, self.password, self.running_polls = user, password, running_polls

    def handle_request_(self, method, path, query, headers, body):
        if path != self.PATH:
            return _json(404, {})
        if not _basic_ok(headers, self.user, self.password):
            return _json(401, {"title": "Unauthorized"})
        if method == "POST":
            return self.faulted("post", lambda: self._import(json.loads(body)))
        finder = parse_qs(query).get("finder", [""])[0]
        name, _, params = finder.partition(";")
        args = dict(p.split("=", 1) for p in params.split(","))
        job = self.books.jobs.get(args.get("requestId"))
        if job is None:
            return _json(200, {"items": [], "count": 0})
        if name == "ESSJobStatusRF":
            return self.faulted("poll", lambda: self._status(job))
        if name == "ESSJobExecutionDetailsRF":
            self.hits["log"] += 1
            log = zipfile_bytes({f"{args['requestId']}.log": job["log"].encode()})
            return _json(
                200, {"items": [{"RequestId": args["requestId"], "DocumentContent": base64.b64encode(log).decode()}]}
            )
        return _json(400, {"title": f"unknown finder {name}"})

    def _import(self, payload: dict) -> Reply:
        assert payload["OperationName"] == "importBulkData" and payload["ContentType"] == "zip"
        assert (
            payload["JobName"].endswith("JournalImportLauncher")
            and payload["DocumentAccount"] == "fin$/generalLedger$/import$"
        )
        with zipfile.ZipFile(io.BytesIO(base64.b64decode(payload["DocumentContent"]))) as zf:
            assert zf.namelist() == ["GlInterface.csv"]
            rows = list(csv.reader(io.StringIO(zf.read("GlInterface.csv").decode())))
        ref4 = GL_INTERFACE_COLUMNS.index("REFERENCE4")
        group = GL_INTERFACE_COLUMNS.index("GROUP_ID")
        assert payload["ParameterList"].split(",")[3] == rows[0][group]
        journals = sorted({r[ref4] for r in rows})
        with self.books.lock:
            request_id = str(40000 + len(self.books.jobs) + 1)
            rejected = [j for j in journals if j in self.reject]
            lines = [f"Journal Import: group {rows[0][group]}, {len(rows)} rows read"]
            for j in journals:
                if j in rejected:
                    lines.append(
                        f"EF04 journal {j}: the account combination 01-F100-000-1200-000 fails cross-validation"
                    )
                else:
                    self.books.book(j)
            self.books.jobs[request_id] = {
                "polls": 0,
                "final": "WARNING" if rejected else "SUCCEEDED",
                "log": "\n".join(lines) + "\n",
            }
        return _json(201, {"OperationName": "importBulkData", "ReqstId": request_id, "DocumentContent": None})

    def _status(self, job: dict) -> Reply:
        job["polls"] += 1
        status = "RUNNING" if job["polls"] <= self.running_polls else job["final"]
        return _json(200, {"items": [{"RequestStatus": status}], "count": 1})


def zipfile_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


# ---------------------------------------------------------------------------- D365


class D365Mock(MockErp):
    """Microsoft Entra ``POST /<tenant>/oauth2/v2.0/token`` and the data management package API
    under ``/data/DataManagementDefinitionGroups/Microsoft.Dynamics.DataEntities.``:
    ``GetExecutionSummaryStatus``, ``GetAzureWriteUrl`` (+ ``PUT`` of the blob),
    ``ImportFromPackage``, ``GetExecutionErrors``."""

    ACTIONS = "/data/DataManagementDefinitionGroups/Microsoft.Dynamics.DataEntities."

    def __init__(self, books=None, *, tenant: str, client_id: str, client_secret: str, running_polls: int = 1, **kw):
        super().__init__(books, **kw)
        self.tenant, self.client_id, self.client_secret = tenant, client_id, client_secret
        self.running_polls = running_polls
        self.tokens: set[str] = set()

    def handle_request_(self, method, path, query, headers, body):
        if method == "POST" and path == f"/{self.tenant}/oauth2/v2.0/token":
            self.hits["token"] += 1
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
                return _json(401, {"error": "invalid_client"})
            assert form["grant_type"] == "client_credentials" and form["scope"] == f"{self.base}/.default"
            token = f"entra-{len(self.tokens) + 1}"
            self.tokens.add(token)
            return _json(200, {"access_token": token, "token_type": "Bearer", "expires_in": 3599})
        if method == "PUT" and path.startswith("/blob/"):
            self.books.blobs[path] = body
            return 201, {}, b""
        if not path.startswith(self.ACTIONS):
            return _json(404, {})
        if (headers.get("Authorization") or "").removeprefix("Bearer ") not in self.tokens:
            return _json(401, {"error": "unauthorized"})
        action, args = path.removeprefix(self.ACTIONS), json.loads(body or b"{}")
        if action == "GetExecutionSummaryStatus":
            return self.faulted("poll", lambda: self._status(args["executionId"]))
        if action == "GetAzureWriteUrl":
            blob = {
                "BlobId": "{" + hashlib.md5(args["uniqueFileName"].encode()).hexdigest() + "}",
                "BlobUrl": f"{self.base}/blob/{args['uniqueFileName']}?sv=2014&sig=x",
            }
            return _json(200, {"value": json.dumps(blob)})
        if action == "ImportFromPackage":
            return self.faulted("post", lambda: self._import(args))
        if action == "GetExecutionErrors":
            job = self.books.jobs.get(args["executionId"], {})
            return _json(200, {"value": json.dumps(job.get("errors", []))})
        return _json(400, {"error": f"unknown action {action}"})

    def _status(self, execution_id: str) -> Reply:
        job = self.books.jobs.get(execution_id)
        if job is None:
            return _json(200, {"value": "Unknown"})
        job["polls"] += 1
        return _json(200, {"value": "Executing" if job["polls"] <= self.running_polls else job["final"]})

    def _import(self, args: dict) -> Reply:
        blob = self.books.blobs[urlsplit(args["packageUrl"]).path]
        with zipfile.ZipFile(io.BytesIO(blob)) as zf:
            assert set(zf.namelist()) == {"General journal.csv", "Manifest.xml", "PackageHeader.xml"}
            rows = list(csv.DictReader(io.StringIO(zf.read("General journal.csv").decode())))
        assert args["execute"] is True and args["legalEntityId"]
        execution_id = args["executionId"]
        with self.books.lock:
            if execution_id not in self.books.jobs:  # the same execution id is the same import
                vouchers = sorted({r["VOUCHER"] for r in rows})
                errors = [
                    {"ErrorMessage": f"Voucher {v}: Account 1200 is not valid for legal entity {args['legalEntityId']}"}
                    for v in vouchers
                    if v in self.reject
                ]
                for v in vouchers:
                    if v not in self.reject:
                        self.books.book(v)
                final = "PartiallySucceeded" if errors else "Succeeded"
                self.books.jobs[execution_id] = {"polls": 0, "final": final, "errors": errors}
        return _json(200, {"value": execution_id})
