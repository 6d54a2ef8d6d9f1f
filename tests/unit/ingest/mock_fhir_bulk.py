"""A FHIR Bulk Data export server on 127.0.0.1 for the ``careledger fetch fhir`` tests, speaking
the Bulk Data Access IG (v2) and SMART Backend Services as the client must meet them:

- ``GET /.well-known/smart-configuration`` names ``/auth/token``;
- ``POST /auth/token`` checks the client-credentials form and verifies the JWT client
  assertion (RS384/ES384, ``iss`` = ``sub`` = the client id, ``aud`` = the token URL, ``exp``
  at most five minutes ahead, ``kid``) with the registered public key, and issues a token;
- ``GET /$export`` and ``GET /Group/<id>/$export`` need ``Prefer: respond-async`` and
  ``Accept: application/fhir+json`` and a valid bearer token, record ``_since`` / ``_type`` and
  answer 202 with ``Content-Location: /status/<job>``;
- ``GET /status/<job>`` answers from the job's script (``status_script``: ``202`` with
  ``Retry-After`` and ``X-Progress``, ``429``, ``503``, ``fail`` (500 with a non-transient
  OperationOutcome), then the manifest (``requiresAccessToken: true``, each export's own
  ``transactionTime``);
- ``GET /files/<job>/<name>`` serves the NDJSON (bearer token required);
- ``DELETE /status/<job>`` forgets the job (a later GET is 404).

``expire_tokens()`` revokes every token issued so far (the next request is 401, as when a token
expired early). Every request is recorded in ``requests`` as (method, path, query).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import jwt

CLIENT_ID = "careledger-test-client"
KEY_ID = "careledger-test-key-1"


def patient(pid: str) -> dict:
    return {"resourceType": "Patient", "id": pid, "meta": {"lastUpdated": "2026-03-01T10:00:00Z"}, "gender": "female"}


def encounter(eid: str, pid: str) -> dict:
    return {
        "resourceType": "Encounter",
        "id": eid,
        "meta": {"lastUpdated": "2026-03-01T10:00:00Z"},
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": f"Patient/{pid}"},
        "period": {"start": "2026-02-27T09:00:00Z", "end": "2026-02-27T10:00:00Z"},
    }


def outcome(severity: str, code: str, text: str) -> dict:
    return {"resourceType": "OperationOutcome", "issue": [{"severity": severity, "code": code, "diagnostics": text}]}


def ndjson(resources: list[dict]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in resources).encode("utf-8")


#: what the export serves: two output files and one error file
FILES = {
    "Patient": ndjson([patient("P1"), patient("P2")]),
    "Encounter": ndjson([encounter("E1", "P1"), encounter("E2", "P2"), encounter("E3", "P1")]),
}
ERRORS = ndjson(
    [
        outcome("error", "processing", "Patient/P3 could not be exported: record locked"),
        outcome("warning", "incomplete", "Encounter E9 skipped: no subject"),
    ]
)


@dataclass
class Job:
    job_id: str
    query: dict
    transaction_time: str
    script: list[str]
    polls: int = 0


@dataclass
class State:
    jobs: dict[str, Job] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=set)
    tokens_issued: int = 0
    assertions: list[dict] = field(default_factory=list)
    kickoffs: list[dict] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    downloads: list[str] = field(default_factory=list)
    requests: list[tuple[str, str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class BulkServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        public_key,
        *,
        status_script: list[str] | None = None,
        open_server: bool = False,
        refuse_tokens: bool = False,
    ) -> None:
        self.public_key = public_key
        self.status_script = list(status_script or ["202", "429", "503", "202", "done"])
        self.open_server = open_server  # no authorization at all
        self.refuse_tokens = refuse_tokens  # every token is refused (401) by the data endpoints
        self.state = State()
        self._jobs = 0
        super().__init__(("127.0.0.1", 0), _Handler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/fhir"

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def expire_tokens(self) -> None:
        with self.state.lock:
            self.state.tokens.clear()

    # -- routes
    def answer(self, method: str, path: str, query: dict, headers, body: bytes) -> tuple[int, dict, bytes]:
        self.state.requests.append((method, path, json.dumps(query, sort_keys=True)))
        if not path.startswith("/fhir"):
            return 404, {}, b""
        path = path[len("/fhir") :]
        if path == "/.well-known/smart-configuration":
            return _json(
                200, {"token_endpoint": f"{self.base}/auth/token", "grant_types_supported": ["client_credentials"]}
            )
        if path == "/auth/token" and method == "POST":
            return self.token(parse_qs(body.decode("utf-8")))
        if not self.authorized(headers):
            return _json(401, outcome("error", "login", "bearer token missing, expired or revoked"))
        if path.endswith("/$export") and method == "GET":
            return self.kick_off(path, query, headers)
        if path.startswith("/status/"):
            job_id = path.rsplit("/", 1)[-1]
            if method == "DELETE":
                with self.state.lock:
                    gone = self.state.jobs.pop(job_id, None)
                    self.state.deleted.append(job_id)
                return (202, {}, b"") if gone else (404, {}, b"")
            return self.status(job_id)
        if path.startswith("/files/"):
            _, _, job_id, name = path.split("/")
            if job_id not in self.state.jobs:
                return 404, {}, b""
            self.state.downloads.append(name)
            data = ERRORS if name == "errors" else FILES[name]
            return 200, {"Content-Type": "application/fhir+ndjson"}, data
        return 404, {}, b""

    def authorized(self, headers) -> bool:
        if self.open_server:
            return True
        auth = headers.get("Authorization") or ""
        with self.state.lock:
            return not self.refuse_tokens and auth.startswith("Bearer ") and auth[7:] in self.state.tokens

    def token(self, form: dict[str, list[str]]) -> tuple[int, dict, bytes]:
        one = {k: v[0] for k, v in form.items()}
        if one.get("grant_type") != "client_credentials" or one.get("client_assertion_type") != (
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        ):
            return _json(400, {"error": "invalid_request"})
        assertion = one.get("client_assertion", "")
        try:
            header = jwt.get_unverified_header(assertion)
            claims = jwt.decode(
                assertion,
                self.public_key,
                algorithms=["RS384", "ES384"],
                audience=f"{self.base}/auth/token",
                options={"require": ["iss", "sub", "aud", "exp", "jti"]},
            )
        except jwt.PyJWTError:
            return _json(401, {"error": "invalid_client"})
        if claims["iss"] != CLIENT_ID or claims["sub"] != CLIENT_ID or header.get("kid") != KEY_ID:
            return _json(401, {"error": "invalid_client"})
        if claims["exp"] > time.time() + 300 + 5:
            return _json(401, {"error": "invalid_client", "error_description": "exp too far ahead"})
        with self.state.lock:
            self.state.tokens_issued += 1
            token = f"access-{self.state.tokens_issued}"
            self.state.tokens.add(token)
            self.state.assertions.append({"header": header, "claims": claims, "scope": one.get("scope")})
        return _json(200, {"access_token": token, "token_type": "bearer", "expires_in": 300, "scope": one.get("scope")})

    def kick_off(self, path: str, query: dict, headers) -> tuple[int, dict, bytes]:
        if headers.get("Prefer") != "respond-async" or headers.get("Accept") != "application/fhir+json":
            return _json(400, outcome("error", "invalid", "Prefer: respond-async and Accept: application/fhir+json"))
        with self.state.lock:
            self._jobs += 1
            job = Job(
                f"job{self._jobs}",
                {"path": path, **{k: v[0] for k, v in query.items()}},
                f"2026-03-0{self._jobs}T12:00:00.000+00:00",
                list(self.status_script),
            )
            self.state.jobs[job.job_id] = job
            self.state.kickoffs.append(job.query)
        return 202, {"Content-Location": f"{self.base}/status/{job.job_id}"}, b""

    def status(self, job_id: str) -> tuple[int, dict, bytes]:
        job = self.state.jobs.get(job_id)
        if job is None:
            return 404, {}, b""
        job.polls += 1
        step = job.script.pop(0) if job.script else "done"
        if step == "202":
            return 202, {"Retry-After": "2", "X-Progress": f"{min(90, 30 * job.polls)}% done"}, b""
        if step == "429":
            return 429, {"Retry-After": "3"}, b""
        if step == "503":
            return 503, {"Content-Type": "text/plain"}, b"Service Unavailable"
        if step == "fail":
            return _json(500, outcome("fatal", "exception", "export job crashed: disk full"))
        files = "Patient,Encounter".split(",")
        types = job.query.get("_type")
        wanted = [t for t in files if not types or t in types.split(",")]
        return _json(
            200,
            {
                "transactionTime": job.transaction_time,
                "request": f"{self.base}{job.query['path']}",
                "requiresAccessToken": True,
                "output": [
                    {"type": t, "url": f"{self.base}/files/{job_id}/{t}", "count": FILES[t].count(b"\n")}
                    for t in wanted
                ],
                "error": [{"type": "OperationOutcome", "url": f"{self.base}/files/{job_id}/errors"}],
            },
        )


def _json(status: int, data: dict) -> tuple[int, dict, bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(data).encode("utf-8")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _serve(self, method: str) -> None:
        srv: BulkServer = self.server  # type: ignore[assignment]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        parts = urlsplit(self.path)
        status, headers, data = srv.answer(method, parts.path, parse_qs(parts.query), self.headers, body)
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

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def log_message(self, *args) -> None:
        pass
