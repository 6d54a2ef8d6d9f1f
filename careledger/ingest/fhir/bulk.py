"""``careledger fetch fhir``: a FHIR Bulk Data (v2, "Flat FHIR") ``$export`` client.

One run, as the Bulk Data Access IG describes it:

1. **Kick-off**: ``GET <base>/$export`` (system level) or ``<base>/Group/<id>/$export`` with
   ``Accept: application/fhir+json`` and ``Prefer: respond-async``, ``_type`` and ``_since``
   as asked; the server answers 202 with the status URL in ``Content-Location``. The export is
   recorded in ``raw_meta.fhir_bulk_exports`` (state ``polling``) before anything else, so a
   run interrupted from here on (Ctrl-C, SIGKILL, a reboot) resumes it: the next run for the
   same base, group and types polls that status URL instead of kicking off again.
2. **Polling** the status URL: 202 (``X-Progress`` shown) waits ``Retry-After`` seconds (else
   the transport's back-off); 429 waits at least its ``Retry-After``; 500/502/503/504 and
   dropped connections are retried with back-off (a 5xx whose OperationOutcome is not
   ``transient`` is the export failing); 200 is the manifest (``transactionTime``,
   ``requiresAccessToken``, ``output``, ``error``). A status URL that is gone (404/410) when
   resuming is marked ``expired`` and a new export is kicked off.
3. **Download** of every ``output`` and ``error`` file into the landing folder,
   ``ehr/fhir/bulk/<export id>/`` (``.part`` then renamed: a file there is complete), with the
   bearer token when the manifest requires one.
4. **Landing** through ingest (:func:`careledger.ingest.run.land_file`), one transaction per
   file: the same batch lineage, quarantine, findings and sha256 idempotency as a dropped
   NDJSON; the error files' OperationOutcomes become ``OPERATION_OUTCOME`` findings
   (:mod:`careledger.ingest.fhir.loader`). The files stay in the landing folder, where a
   ``refresh`` finds them already landed.
5. The export's row gets ``state = landed`` and the manifest's ``transactionTime``: the
   ``_since`` of the next run for the same base, group and types. Then ``DELETE`` of the
   status URL tells the server it may drop the files.

Authorization is SMART Backend Services (``SmartToken``): a JWT client assertion signed with
the registered key (RS384 for RSA, ES384 for EC P-384) exchanged at the token endpoint for an
access token (client-credentials grant), cached until a minute before it expires and fetched
again on a 401; a second 401 stops the run. Without ``CARELEDGER_FHIR_CLIENT_ID`` requests go
unauthenticated (an open server). Secrets come from ``config.secret`` only and are never logged.

Expected failures raise :class:`FetchError`: one sentence, and ``remote`` says whether the
server (unreachable, credentials refused, export failed) or the request is at fault.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from careledger import config
from careledger.config import secret, secret_variable
from careledger.ingest.formats import FORMATS
from careledger.ingest.landing import FileResult, LandedFiles, connect, ensure_schema
from careledger.ingest.run import land_file
from careledger.transport import (
    CircuitOpenError,
    ClientCredentialsToken,
    RetryPolicy,
    TransientError,
    Transport,
    retry_after,
    safe_endpoint,
)

log = logging.getLogger(__name__)

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
EXPORTS = "raw_meta.fhir_bulk_exports"
#: where downloaded files go, under the landing folder: the FHIR format's folder
BULK_FOLDER = Path(FORMATS["fhir"].folder) / "bulk"
#: seconds between status checks when the server sends no Retry-After
DEFAULT_POLL_SECONDS = 5.0
#: the longest wait between two status checks, whatever Retry-After says
MAX_POLL_SECONDS = 300.0
_TYPE_NAME = re.compile(r"^[A-Za-z]{1,64}$")


class FetchError(RuntimeError):
    """A run that cannot go on: one sentence saying what to do. ``remote``: the server is at
    fault (unreachable, credentials refused, the export failed), not the request."""

    def __init__(self, message: str, *, remote: bool = True) -> None:
        super().__init__(message)
        self.remote = remote


class ExportFailed(FetchError):
    """The server reports that the export itself failed: it is not resumed."""


# ---------------------------------------------------------------------------- SMART token


class SmartToken(ClientCredentialsToken):
    """SMART Backend Services: a signed JWT client assertion exchanged for an access token."""

    refusal = FetchError

    def __init__(self, token_url: str, client_id: str, key_id: str | None, pem: str, *, clock=time.time) -> None:
        self.url = token_url
        self.clock = clock
        self.client_id = client_id
        self.key_id = key_id
        self.scope = config.fhir_scope()
        try:
            self.key = load_pem_private_key(pem.encode("utf-8"), password=None)
        except (ValueError, TypeError):
            raise FetchError(
                f"{secret_variable('fhir_private_key')} is not an unencrypted PEM private key; export the key "
                "registered with the FHIR server as PKCS#8 PEM",
                remote=False,
            ) from None
        if isinstance(self.key, rsa.RSAPrivateKey):
            self.algorithm = "RS384"
        elif isinstance(self.key, ec.EllipticCurvePrivateKey) and self.key.curve.name == "secp384r1":
            self.algorithm = "ES384"
        else:
            raise FetchError(
                f"{secret_variable('fhir_private_key')} must be an RSA key (RS384) or an EC P-384 key (ES384), "
                "the two algorithms SMART Backend Services requires servers to support",
                remote=False,
            )

    def assertion(self) -> str:
        now = int(self.clock())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.url,
            "exp": now + 300,  # SMART: no more than five minutes in the future
            "jti": uuid.uuid4().hex,
        }
        headers = {"typ": "JWT", **({"kid": self.key_id} if self.key_id else {})}
        return jwt.encode(claims, self.key, algorithm=self.algorithm, headers=headers)

    def form(self) -> dict[str, str]:
        return {
            "grant_type": "client_credentials",
            "scope": self.scope,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self.assertion(),
        }

    def refused(self, status: int) -> str:
        return (
            f"the token endpoint {safe_endpoint(self.url)} refused careledger's client assertion (HTTP {status}); "
            f"check {secret_variable('fhir_client_id')}, {secret_variable('fhir_key_id')} and the public key "
            "registered for that client at the FHIR server"
        )


def smart_token(base: str, transport: Transport, *, clock=time.time) -> SmartToken | None:
    """The token from the ``CARELEDGER_FHIR_*`` secrets, or None when no client id is set (an
    open server). The endpoint is ``CARELEDGER_FHIR_TOKEN_URL`` or discovered from
    ``<base>/.well-known/smart-configuration``."""
    client_id = secret("fhir_client_id")
    if not client_id:
        return None
    pem = secret("fhir_private_key")
    if not pem:
        raise FetchError(
            f"{secret_variable('fhir_client_id')} is set but {secret_variable('fhir_private_key')} is not: set it "
            "(or its _FILE variant) to the PEM key registered for that client",
            remote=False,
        )
    token_url = config.fhir_token_url() or _discover_token_url(base, transport)
    return SmartToken(token_url, client_id, secret("fhir_key_id"), pem, clock=clock)


def _discover_token_url(base: str, transport: Transport) -> str:
    url = f"{base}/.well-known/smart-configuration"
    try:
        response = transport.request("GET", url, headers={"Accept": "application/json"})
    except (TransientError, CircuitOpenError) as exc:
        raise FetchError(f"cannot reach the FHIR server at {safe_endpoint(base)} ({exc}); check --base") from None
    try:
        endpoint = response.json()["token_endpoint"] if response.status_code == 200 else None
    except (ValueError, KeyError, TypeError):
        endpoint = None
    if not endpoint:
        raise FetchError(
            f"{safe_endpoint(url)} names no token_endpoint (HTTP {response.status_code}); set "
            f"{config.FHIR_TOKEN_URL_VARIABLE} to the server's SMART token endpoint",
            remote=False,
        )
    return urljoin(url, endpoint)


# ---------------------------------------------------------------------------- the export's record


@dataclass(frozen=True)
class Request:
    """What is asked: the server, the group (None: system level), the types (None: all), ``_since``."""

    base: str
    group: str | None = None
    types: tuple[str, ...] | None = None
    since: str | None = None

    @property
    def types_text(self) -> str | None:
        return ",".join(self.types) if self.types else None

    def kick_off_url(self) -> str:
        return f"{self.base}/Group/{self.group}/$export" if self.group else f"{self.base}/$export"


@dataclass
class Export:
    """One row of ``raw_meta.fhir_bulk_exports``."""

    export_id: str
    status_url: str
    since: str | None
    kicked_off_at: datetime
    resumed: bool = False


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class ExportLog:
    """``raw_meta.fhir_bulk_exports``, written in short transactions under the warehouse lock
    (a long export never holds the warehouse while it waits for the server)."""

    def __init__(self, warehouse: Path, writer_lock: Callable[[], AbstractContextManager]) -> None:
        self.warehouse = Path(warehouse)
        self.writer_lock = writer_lock

    @contextlib.contextmanager
    def _con(self):
        with self.writer_lock():
            con = connect(self.warehouse, wait_seconds=60)
            try:
                ensure_schema(con)
                yield con
            finally:
                con.close()

    def _key(self, request: Request) -> tuple[str, list]:
        return (
            "base_url = ? and group_id is not distinct from ? and resource_types is not distinct from ?",
            [request.base, request.group, request.types_text],
        )

    def next_since(self, request: Request) -> str | None:
        """The ``transactionTime`` of the latest export landed for this base, group and types."""
        where, params = self._key(request)
        with self._con() as con:
            row = con.execute(
                f"select transaction_time from {EXPORTS} where {where} and state = 'landed' "
                "order by finished_at desc limit 1",
                params,
            ).fetchone()
        return row[0] if row else None

    def unfinished(self, request: Request) -> Export | None:
        """An export of this base, group and types kicked off but not landed (a run interrupted)."""
        where, params = self._key(request)
        with self._con() as con:
            row = con.execute(
                f"select export_id, status_url, since, kicked_off_at from {EXPORTS} where {where} "
                "and state = 'polling' order by kicked_off_at desc limit 1",
                params,
            ).fetchone()
        return Export(*row, resumed=True) if row else None

    def started(self, request: Request, since: str | None, status_url: str) -> Export:
        export = Export(f"x_{datetime.now(UTC):%Y%m%dT%H%M%S}_{uuid.uuid4().hex[:8]}", status_url, since, _now())
        with self._con() as con:
            con.execute(
                f"insert into {EXPORTS} (export_id, base_url, group_id, resource_types, since, status_url, state, "
                "kicked_off_at) values (?, ?, ?, ?, ?, ?, 'polling', ?)",
                [
                    export.export_id,
                    request.base,
                    request.group,
                    request.types_text,
                    since,
                    status_url,
                    export.kicked_off_at,
                ],
            )
        return export

    def update(self, export_id: str, **values) -> None:
        with self._con() as con:
            sets = ", ".join(f"{k} = ?" for k in values)
            con.execute(f"update {EXPORTS} set {sets} where export_id = ?", [*values.values(), export_id])

    def land(self, paths: list[Path]) -> list[FileResult]:
        """Land the files in one connection, one transaction each (ingest's landing core)."""
        with self._con() as con:
            landed = LandedFiles(con)
            return [land_file(con, path, source="fhir", landed=landed) for path in paths]

    def findings(self, batch_ids: list[str]) -> int:
        if not batch_ids:
            return 0
        with self._con() as con:
            return int(
                con.execute(
                    "select count(*) from raw_meta.validation_findings where list_contains(?, batch_id)", [batch_ids]
                ).fetchone()[0]
            )


# ---------------------------------------------------------------------------- the client


@dataclass
class FetchResult:
    export_id: str
    status_url: str
    resumed: bool
    since: str | None
    transaction_time: str
    files: list[FileResult] = field(default_factory=list)
    error_files: int = 0
    findings: int = 0
    deleted: bool = False

    @property
    def totals(self) -> dict[str, int]:
        landed = [f for f in self.files if f.status in ("landed", "quarantined")]
        return {
            "files": len(self.files),
            "files_landed": len(landed),
            "files_skipped": sum(f.status == "skipped" for f in self.files),
            "error_files": self.error_files,
            "records_read": sum(f.records_read for f in landed),
            "records_accepted": sum(f.records_accepted for f in landed),
            "records_quarantined": sum(f.records_quarantined for f in landed),
            "findings": self.findings,
        }

    def summary(self) -> str:
        t = self.totals
        return (
            f"export {self.export_id} (transactionTime {self.transaction_time}): {t['files']} files, "
            f"{t['files_landed']} landed, {t['files_skipped']} already landed; {t['records_accepted']} resources "
            f"accepted, {t['records_quarantined']} quarantined, {t['findings']} findings "
            f"({self.error_files} error files); next --since {self.transaction_time}"
        )

    def as_dict(self) -> dict:
        return {
            "export_id": self.export_id,
            "status_url": safe_endpoint(self.status_url),
            "resumed": self.resumed,
            "since": self.since,
            "transaction_time": self.transaction_time,
            "deleted": self.deleted,
            "files": [f.as_dict() for f in self.files],
            "totals": self.totals,
        }


def _outcome_text(response: httpx.Response) -> str:
    """The diagnostics of an OperationOutcome answer, else the start of the body."""
    try:
        data = response.json()
    except ValueError:
        return response.text[:300].strip() or "(no body)"
    if isinstance(data, dict) and data.get("resourceType") == "OperationOutcome":
        texts = [
            ((i.get("details") or {}).get("text") or i.get("diagnostics") or i.get("code") or "")
            for i in data.get("issue") or []
            if isinstance(i, dict)
        ]
        return "; ".join(t for t in texts if t)[:500] or "OperationOutcome without text"
    return json.dumps(data)[:300]


def _is_transient_outcome(response: httpx.Response | None) -> bool:
    """A 5xx is transient unless its OperationOutcome says otherwise (a code other than
    ``transient``): that is the server telling us the export itself failed."""
    if response is None:
        return True
    try:
        data = response.json()
    except ValueError:
        return True
    if not isinstance(data, dict) or data.get("resourceType") != "OperationOutcome":
        return True
    codes = {i.get("code") for i in data.get("issue") or [] if isinstance(i, dict)}
    return not codes or codes <= {"transient", "throttled", "timeout"}


class BulkClient:
    """The HTTP side: kick-off, status polling, downloads and the DELETE, with the token."""

    def __init__(
        self,
        base: str,
        transport: Transport,
        token: SmartToken | None,
        *,
        echo: Callable[[str], None],
        poll_seconds: float = DEFAULT_POLL_SECONDS,
    ) -> None:
        self.base = base
        self.transport = transport
        self.token = token
        self.echo = echo
        self.poll_seconds = poll_seconds

    # -- one request with the bearer token; a 401 refetches it once
    def authorized(self, method: str, url: str, *, auth: bool = True, **kwargs) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        for refetched in (False, True):
            if auth and self.token is not None:
                headers["Authorization"] = f"Bearer {self.token.get(self.transport)}"
            response = self.transport.try_once(method, url, headers=headers, **kwargs)
            if response.status_code != 401:
                return response
            if self.token is None:
                raise FetchError(
                    f"{safe_endpoint(url)} asks for authorization (HTTP 401): set "
                    f"{secret_variable('fhir_client_id')}, {secret_variable('fhir_key_id')} and "
                    f"{secret_variable('fhir_private_key')} for SMART Backend Services (docs/ingest.md)"
                )
            if refetched:
                raise FetchError(
                    f"{safe_endpoint(url)} refused a freshly fetched access token (HTTP 401); check the scopes "
                    f"granted to {secret_variable('fhir_client_id')} at the FHIR server"
                )
            log.info("%s answered 401; fetching a new access token", safe_endpoint(url))
            self.token.invalidate()
        raise AssertionError("unreachable")

    def retried(self, method: str, url: str, what: str, **kwargs) -> httpx.Response:
        """An idempotent request, retried on 429/5xx/timeouts with the transport's back-off."""
        policy = self.transport.policy
        for attempt in range(1, policy.max_attempts + 1):
            try:
                return self.authorized(method, url, **kwargs)
            except CircuitOpenError as exc:
                raise FetchError(f"{what}: {exc}") from None
            except TransientError as exc:
                if attempt == policy.max_attempts:
                    raise FetchError(
                        f"{what}: {exc} after {attempt} tries; the FHIR server at {safe_endpoint(self.base)} "
                        "is unreachable or failing, rerun when it is back"
                    ) from None
                wait = policy.delay(attempt, exc.retry_after, self.transport.rng)
                self.echo(f"{what}: {exc}; trying again in {wait:.1f} s")
                self.transport.sleep(wait)
        raise AssertionError("unreachable")

    def kick_off(self, request: Request, since: str | None) -> str:
        params = {}
        if request.types:
            params["_type"] = request.types_text
        if since:
            params["_since"] = since
        url = request.kick_off_url()
        response = self.retried(
            "GET",
            url,
            f"kick-off {safe_endpoint(url)}",
            params=params,
            headers={"Accept": "application/fhir+json", "Prefer": "respond-async"},
        )
        location = response.headers.get("Content-Location")
        if response.status_code != 202 or not location:
            raise FetchError(
                f"the kick-off {safe_endpoint(url)} was refused (HTTP {response.status_code}: "
                f"{_outcome_text(response)}); check --base, --group and --types"
            )
        return urljoin(url, location)

    def poll(self, status_url: str) -> dict | None:
        """The manifest when the export is complete; None when the status URL is gone (404/410)."""
        where = safe_endpoint(status_url)
        policy = self.transport.policy
        failures = 0
        checks = 0
        while True:
            checks += 1
            try:
                response = self.authorized("GET", status_url, headers={"Accept": "application/json"})
            except CircuitOpenError as exc:
                raise FetchError(f"status {where}: {exc}; rerun to resume the export") from None
            except TransientError as exc:
                if exc.http_status and exc.http_status >= 500 and not _is_transient_outcome(exc.response):
                    raise ExportFailed(
                        f"the server reports the export failed (HTTP {exc.http_status}: "
                        f"{_outcome_text(exc.response)}); fix what it says and run again"
                    ) from None
                if exc.http_status == 429:  # the server is there and asks us to wait: not a failure
                    self.transport.breaker.success()
                else:
                    failures += 1
                if failures >= policy.max_attempts:
                    raise FetchError(
                        f"status {where}: {exc}, {failures} times in a row; the FHIR server is unreachable or "
                        "failing: rerun when it is back, the export resumes"
                    ) from None
                wait = policy.delay(max(1, failures), exc.retry_after, self.transport.rng)
                self.echo(f"status check: {exc}; checking again in {wait:.1f} s")
                self.transport.sleep(wait)
                continue
            failures = 0
            if response.status_code == 200:
                try:
                    return response.json()
                except ValueError:
                    raise ExportFailed(f"the manifest at {where} is not JSON; the server's export is broken") from None
            if response.status_code in (404, 410):
                return None
            if response.status_code != 202:
                raise ExportFailed(
                    f"the server reports the export failed (HTTP {response.status_code}: {_outcome_text(response)}); "
                    "fix what it says and run again"
                )
            asked = retry_after(response)
            wait = min(MAX_POLL_SECONDS, asked if asked is not None else self.poll_seconds)
            progress = response.headers.get("X-Progress")
            self.echo(
                f"export in progress{f' ({progress})' if progress else ''}, status check {checks}; next in {wait:.0f} s"
            )
            self.transport.sleep(wait)

    def download(self, url: str, path: Path, *, auth: bool) -> int:
        """``url`` into ``path`` (written as ``.part``, then renamed); bytes written."""
        if path.exists():
            return path.stat().st_size  # a file is there only once complete
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_name("." + path.name + ".part")  # hidden: ingest skips dot files
        response = self.retried(
            "GET",
            url,
            f"download {safe_endpoint(url)}",
            auth=auth,
            sink=part,
            headers={"Accept": "application/fhir+ndjson"},
        )
        if response.status_code != 200:
            raise FetchError(
                f"the download {safe_endpoint(url)} was refused (HTTP {response.status_code}: "
                f"{_outcome_text(response)}); the export's files may have expired: run again"
            )
        with part.open("rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(part, path)
        return path.stat().st_size

    def delete(self, status_url: str) -> bool:
        try:
            response = self.retried("DELETE", status_url, f"DELETE {safe_endpoint(status_url)}")
        except FetchError as exc:
            log.warning("%s", exc)
            self.echo(f"could not DELETE the status URL ({exc}); the server drops the files when they expire")
            return False
        return response.status_code in (200, 202, 204)


# ---------------------------------------------------------------------------- a run


def parse_types(text: str | None) -> tuple[str, ...] | None:
    if not text:
        return None
    types = tuple(t.strip() for t in text.split(",") if t.strip())
    bad = [t for t in types if not _TYPE_NAME.match(t)]
    if bad:
        raise FetchError(
            f"--types {text!r}: {', '.join(bad)} is not a FHIR resource type name; give e.g. Patient,Encounter",
            remote=False,
        )
    return types


def check_since(value: str | None) -> str | None:
    """``--since``: a FHIR instant (with its time zone), passed to the server as given."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise FetchError(
            f"--since {value!r} is not a FHIR instant; give a time with its zone, e.g. 2026-01-01T00:00:00Z",
            remote=False,
        )
    return value


def _manifest_files(manifest: dict, status_url: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(output, error) entries as (type, absolute url)."""

    def entries(key: str) -> list[tuple[str, str]]:
        out = []
        for item in manifest.get(key) or []:
            if not isinstance(item, dict) or not item.get("url"):
                raise ExportFailed(
                    f"the manifest's {key} has an entry without a url ({item!r}); the server's export is broken"
                )
            rtype = str(item.get("type") or "unknown")
            out.append((rtype if _TYPE_NAME.match(rtype) else "unknown", urljoin(status_url, str(item["url"]))))
        return out

    return entries("output"), entries("error")


def fetch_fhir(
    warehouse: Path,
    landing: Path,
    request: Request,
    *,
    writer_lock: Callable[[], AbstractContextManager] = contextlib.nullcontext,
    transport: Transport | None = None,
    echo: Callable[[str], None] = print,
    poll_seconds: float = DEFAULT_POLL_SECONDS,
    clock: Callable[[], float] = time.time,
) -> FetchResult:
    """``careledger fetch fhir``: one Bulk Data export, resumed if an earlier run left one
    polling, landed through ingest; see the module docstring."""
    base = request.base.rstrip("/")
    request = Request(base, request.group, request.types, request.since)
    transport = transport or Transport(policy=RetryPolicy(max_attempts=5))
    exports = ExportLog(warehouse, writer_lock)
    export: Export | None = None
    try:
        token = smart_token(base, transport, clock=clock)
        client = BulkClient(base, transport, token, echo=echo, poll_seconds=poll_seconds)
        export = exports.unfinished(request)
        manifest = None
        if export is not None:
            echo(f"resuming export {export.export_id} kicked off at {export.kicked_off_at:%Y-%m-%d %H:%M:%S} UTC")
            manifest = client.poll(export.status_url)
            if manifest is None:
                exports.update(export.export_id, state="expired", finished_at=_now(), message="status URL gone")
                echo(f"the status URL of export {export.export_id} is gone (expired on the server); kicking off again")
                export = None
        if export is None:
            since = request.since or exports.next_since(request)
            echo(
                f"kick-off {safe_endpoint(request.kick_off_url())}"
                f"{f' _type={request.types_text}' if request.types else ''}"
                f"{f' _since={since}' if since else ' (everything: no earlier export landed)'}"
            )
            status_url = client.kick_off(request, since)
            export = exports.started(request, since, status_url)
            echo(f"export {export.export_id} accepted; polling {safe_endpoint(status_url)}")
            manifest = client.poll(export.status_url)
            if manifest is None:
                exports.update(export.export_id, state="failed", finished_at=_now(), message="status URL gone")
                raise FetchError(
                    f"the status URL {safe_endpoint(status_url)} vanished (HTTP 404) before the export completed; "
                    "run again"
                )
        return _land_manifest(client, exports, export, manifest, landing, echo)
    except ExportFailed as exc:  # recorded, so the next run kicks off anew instead of resuming it
        if export is not None:
            exports.update(export.export_id, state="failed", finished_at=_now(), message=str(exc)[:2000])
        raise
    finally:
        transport.close()


def _land_manifest(
    client: BulkClient,
    exports: ExportLog,
    export: Export,
    manifest: dict,
    landing: Path,
    echo: Callable[[str], None],
) -> FetchResult:
    transaction_time = manifest.get("transactionTime")
    if not isinstance(transaction_time, str) or not transaction_time:
        raise ExportFailed("the manifest has no transactionTime; the server's export is broken, nothing was landed")
    outputs, errors = _manifest_files(manifest, export.status_url)
    auth = bool(manifest.get("requiresAccessToken"))
    if manifest.get("deleted"):
        echo(
            f"the manifest lists {len(manifest['deleted'])} deleted-resource files; careledger does not apply deletions"
        )
    echo(
        f"export complete: transactionTime {transaction_time}, {len(outputs)} output and {len(errors)} error files"
        f"{' (access token required)' if auth else ''}"
    )
    folder = Path(landing) / BULK_FOLDER / export.export_id
    paths: list[Path] = []
    entries = [(f"{i:03d}_{t}.ndjson", url) for i, (t, url) in enumerate(outputs, start=1)]
    entries += [(f"error_{i:03d}_{t}.ndjson", url) for i, (t, url) in enumerate(errors, start=1)]
    for n, (name, url) in enumerate(entries, start=1):
        size = client.download(url, folder / name, auth=auth)
        echo(f"downloaded {n}/{len(entries)} {name} ({size:,} bytes)")
        paths.append(folder / name)
    non_empty = [p for p in paths if p.stat().st_size > 0]
    for p in sorted(set(paths) - set(non_empty)):
        echo(f"{p.name} is empty: nothing to land")
    results = exports.land(non_empty)
    for r in results:
        echo(
            f"{r.status} {Path(r.path).name}: read {r.records_read}, accepted {r.records_accepted}, "
            f"quarantined {r.records_quarantined}{f' ({r.message})' if r.message else ''}"
        )
    result = FetchResult(
        export.export_id,
        export.status_url,
        export.resumed,
        export.since,
        transaction_time,
        results,
        error_files=len(errors),
        findings=exports.findings([r.batch_id for r in results if r.batch_id and r.status != "skipped"]),
    )
    failed = [r for r in results if r.status in ("failed", "unknown")]
    t = result.totals
    if failed:
        message = "; ".join(f"{Path(r.path).name}: {r.message}" for r in failed)[:2000]
        exports.update(export.export_id, state="failed", finished_at=_now(), message=message)
        raise FetchError(
            f"{len(failed)} of the export's files did not land ({message}); _since is not moved on, run again "
            "after fixing them"
        )
    exports.update(
        export.export_id,
        state="landed",
        transaction_time=transaction_time,
        output_files=len(outputs),
        error_files=len(errors),
        records_read=t["records_read"],
        records_accepted=t["records_accepted"],
        records_quarantined=t["records_quarantined"],
        findings=result.findings,
        finished_at=_now(),
    )
    result.deleted = client.delete(export.status_url)
    if result.deleted:
        exports.update(export.export_id, deleted_at=_now())
    return result
