"""NetSuite REST delivery: one upsert per journal, ``PUT <account>/services/rest/record/v1/
journalEntry/eid:<externalId>``, so a resend of the same journal updates the record NetSuite
already has instead of creating a second one.

``--endpoint`` is the account's REST domain (``https://<account>.suitetalk.api.netsuite.com``).
Authentication is OAuth 2.0 client credentials (machine to machine): a JWT client assertion
signed with the private key of the certificate uploaded to the integration record (PS256 for
an RSA key, ES256 for an EC key), exchanged at ``/services/rest/auth/oauth2/v1/token``
(``grant_type=client_credentials``, ``client_assertion_type=urn:ietf:params:oauth:
client-assertion-type:jwt-bearer``). The access token is cached until a minute before it
expires and fetched again on a 401. Secrets: ``CARELEDGER_NETSUITE_CLIENT_ID``,
``CARELEDGER_NETSUITE_CERTIFICATE_ID`` and ``CARELEDGER_NETSUITE_PRIVATE_KEY`` (PEM), each or
its ``_FILE`` variant.

Answers: 204 (or 200/201) accepted, the record's internal id read from the ``Location``
header; any other 4xx a business rejection, recorded with NetSuite's ``o:errorDetails``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from careledger.config import secret, secret_variable
from careledger.publish.delivery.engine import Answer, DeliveryError, Pending, Unit
from careledger.publish.delivery.webhook import read_json_file
from careledger.publish.erp.base import dumps_exact
from careledger.transport import ClientCredentialsToken, Transport

TARGET = "netsuite"
TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"
RECORD_PATH = "/services/rest/record/v1/journalEntry"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class NetSuiteToken(ClientCredentialsToken):
    """The OAuth 2.0 client-credentials token, cached until shortly before it expires."""

    refusal = DeliveryError

    def __init__(self, base: str, *, clock: Callable[[], float] = time.time) -> None:
        self.url = base.rstrip("/") + TOKEN_PATH
        self.clock = clock
        self.client_id = secret("netsuite_client_id")
        self.certificate_id = secret("netsuite_certificate_id")
        pem = secret("netsuite_private_key")
        missing = [
            secret_variable(name)
            for name, value in (
                ("netsuite_client_id", self.client_id),
                ("netsuite_certificate_id", self.certificate_id),
                ("netsuite_private_key", pem),
            )
            if not value
        ]
        if missing:
            raise DeliveryError(f"set {', '.join(missing)} (or the _FILE variants) for NetSuite's OAuth 2.0 M2M flow")
        try:
            self.key = load_pem_private_key(pem.encode("utf-8"), password=None)
        except (ValueError, TypeError) as exc:
            raise DeliveryError(
                f"{secret_variable('netsuite_private_key')} is not an unencrypted PEM private key ({type(exc).__name__}); "
                "export the key of the certificate uploaded to NetSuite as PKCS#8 PEM"
            ) from None
        if isinstance(self.key, ec.EllipticCurvePrivateKey):
            self.algorithm = "ES256"  # NetSuite accepts PS256 (RSA) and ES256 (EC P-256) client assertions
        elif isinstance(self.key, rsa.RSAPrivateKey):
            self.algorithm = "PS256"
        else:
            raise DeliveryError(
                f"{secret_variable('netsuite_private_key')} must be an RSA (PS256) or EC P-256 (ES256) key"
            )

    def assertion(self) -> str:
        now = int(self.clock())
        claims = {
            "iss": self.client_id,
            "scope": ["rest_webservices"],
            "aud": self.url,
            "iat": now,
            "exp": now + 3600,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self.key, algorithm=self.algorithm, headers={"kid": self.certificate_id})

    def form(self) -> dict[str, str]:
        return {
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self.assertion(),
        }

    def refused(self, status: int) -> str:
        return (
            f"NetSuite refused the OAuth 2.0 token (HTTP {status}); check the integration record, "
            "the certificate id and the role of the client credentials mapping"
        )


def _error_text(response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:2000]
    details = data.get("o:errorDetails") or []
    text = "; ".join(f"{d.get('o:errorCode', '')}: {d.get('detail', '')}" for d in details)
    return (text or data.get("title") or response.text)[:2000]


class NetSuiteClient:
    target = TARGET
    resend_is_idempotent = True

    def __init__(self, endpoint: str, *, dry_run: bool = False, clock: Callable[[], float] = time.time) -> None:
        self.base = endpoint.rstrip("/")
        self.token = None if dry_run else NetSuiteToken(self.base, clock=clock)

    def url(self, external_id: str) -> str:
        return f"{self.base}{RECORD_PATH}/eid:{quote(external_id, safe='')}"

    def units(self, pending: list[Pending], folder: Path) -> list[Unit]:
        documents: dict[str, dict] = {}
        units = []
        for p in pending:
            if p.file_name not in documents:
                records = read_json_file(folder, p.file_name, parse_float=Decimal)["records"]
                documents[p.file_name] = {r["tranId"]: r for r in records}
            record = documents[p.file_name].get(p.journal_id)
            if record is None:
                units.append(Unit([p], b"", {}, f"{p.journal_id}: not in {p.file_name}"))
                continue
            body = {k: v for k, v in record.items() if k != "externalId"}  # the external id is the URL's
            items = record["line"]["items"]
            dr = sum((Decimal(str(i.get("debit", 0))) for i in items), Decimal(0))
            cr = sum((Decimal(str(i.get("credit", 0))) for i in items), Decimal(0))
            units.append(
                Unit(
                    [p],
                    dumps_exact(body).encode("utf-8"),
                    {p.journal_id: (dr, cr)},
                    f"PUT {self.url(record['externalId'])} journal {p.journal_id} ({len(items)} lines, {dr:.2f})",
                    {"external_id": record["externalId"]},
                )
            )
        return units

    def send(self, unit: Unit, transport: Transport) -> dict[str, Answer]:
        p = unit.journals[0]
        url = self.url(unit.extra["external_id"])
        for _ in range(2):  # a 401 means the cached token expired early: fetch one more, once
            headers = {
                "Authorization": f"Bearer {self.token.get(transport)}",
                "Content-Type": "application/json",
            }
            response = transport.try_once("PUT", url, content=unit.body, headers=headers)
            if response.status_code != 401:
                break
            self.token.invalidate()
        status = response.status_code
        if status in (200, 201, 204):
            location = response.headers.get("Location", "")
            return {p.journal_id: Answer("accepted", status, location.rstrip("/").rsplit("/", 1)[-1] or None)}
        return {p.journal_id: Answer("rejected", status, None, _error_text(response))}
