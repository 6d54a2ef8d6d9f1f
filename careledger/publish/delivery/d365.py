"""Dynamics 365 Finance delivery: the data management package REST API (recurring-integration
style import of a data package), not OData.

Why the package API: a general journal of hundreds of lines goes as one import job that D365
validates and posts as a whole voucher set, with its own execution id that makes a resend
recognisable; OData ``LedgerJournalHeaders``/``LedgerJournalLines`` would need one request per
line, a header created first and no way to tell a resent line from a new one.

``--endpoint`` is the environment URL (``https://<env>.operations.dynamics.com``). Per
published file (one legal entity) the journals not answered yet are cut from its CSV and
packed with ``Manifest.xml`` and ``PackageHeader.xml``, then, under
``/data/DataManagementDefinitionGroups/Microsoft.Dynamics.DataEntities.<action>``:

1. ``GetExecutionSummaryStatus`` of the package's execution id (``CL`` + a hash of its
   journals' idempotency keys): anything but ``Unknown`` means D365 already has this import,
   so it is not sent again, only polled;
2. ``GetAzureWriteUrl`` (``uniqueFileName``), then ``PUT`` of the package to the blob URL;
3. ``ImportFromPackage`` (``packageUrl``, ``definitionGroupId``, ``executionId``,
   ``execute`` true, ``overwrite`` true, ``legalEntityId``);
4. ``GetExecutionSummaryStatus`` polled with back-off until Succeeded, PartiallySucceeded,
   Failed or Canceled; on anything but Succeeded, ``GetExecutionErrors`` for D365's messages.

Succeeded: every journal accepted, document id ``DMF <execution id>``. Otherwise a journal
(voucher) named in an error is rejected with it; under PartiallySucceeded the rest are
accepted, under Failed rejected. Authentication: Microsoft Entra client credentials
(``CARELEDGER_D365_TENANT_ID``, ``CARELEDGER_D365_CLIENT_ID``, ``CARELEDGER_D365_CLIENT_SECRET``)
at ``CARELEDGER_D365_AUTHORITY/<tenant>/oauth2/v2.0/token`` with scope ``<endpoint>/.default``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import time
import zipfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from careledger.config import d365_authority, secret, secret_variable
from careledger.publish.delivery.engine import (
    Answer,
    DeliveryError,
    Pending,
    Unit,
    published_files,
)
from careledger.transport import ClientCredentialsToken, TransientError, Transport

TARGET = "d365"
ACTIONS = "/data/DataManagementDefinitionGroups/Microsoft.Dynamics.DataEntities."
DONE = frozenset({"Succeeded", "PartiallySucceeded", "Failed", "Canceled"})
ENTITY = "General journal"

MANIFEST = """<?xml version="1.0" encoding="utf-8"?>
<DataManagementPackageManifest xmlns:i="http://www.w3.org/2001/XMLSchema-instance" \
xmlns="http://schemas.microsoft.com/dynamics/2015/01/DataManagement">
  <DefinitionGroupName>{group}</DefinitionGroupName>
  <PackageEntityList>
    <DataManagementPackageEntityData>
      <DefaultRefreshType>IncrementalPush</DefaultRefreshType>
      <EntityName>{entity}</EntityName>
      <ExecutionUnit>1</ExecutionUnit>
      <LevelInExecutionUnit>1</LevelInExecutionUnit>
      <SequenceInLevel>1</SequenceInLevel>
      <SourceFormat>CSV</SourceFormat>
    </DataManagementPackageEntityData>
  </PackageEntityList>
</DataManagementPackageManifest>
"""
PACKAGE_HEADER = """<?xml version="1.0" encoding="utf-8"?>
<DataManagementPackageHeader xmlns:i="http://www.w3.org/2001/XMLSchema-instance" \
xmlns="http://schemas.microsoft.com/dynamics/2015/01/DataManagement">
  <Description>careledger general journal</Description>
  <ManifestType>Microsoft.Dynamics.AX.Framework.Tools.DataManagement.Serialization.DataManagementPackageManifest</ManifestType>
  <PackageType>DefinitionGroup</PackageType>
  <PackageVersion>2</PackageVersion>
</DataManagementPackageHeader>
"""


def package(csv_bytes: bytes, group: str) -> bytes:
    """The data package: the entity's CSV, the manifest and the package header (fixed times)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in (
            (f"{ENTITY}.csv", csv_bytes),
            ("Manifest.xml", MANIFEST.format(group=group, entity=ENTITY).encode("utf-8")),
            ("PackageHeader.xml", PACKAGE_HEADER.encode("utf-8")),
        ):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return buf.getvalue()


class EntraToken(ClientCredentialsToken):
    """Client-credentials token for the environment, cached until a minute before expiry."""

    refusal = DeliveryError

    def __init__(self, resource: str, *, clock: Callable[[], float] = time.time) -> None:
        values = {n: secret(f"d365_{n}") for n in ("tenant_id", "client_id", "client_secret")}
        missing = [secret_variable(f"d365_{n}") for n, v in values.items() if not v]
        if missing:
            raise DeliveryError(f"set {', '.join(missing)} (or the _FILE variants) for the D365 Entra application")
        self.values = values
        self.url = f"{d365_authority().rstrip('/')}/{values['tenant_id']}/oauth2/v2.0/token"
        self.scope = resource.rstrip("/") + "/.default"
        self.clock = clock

    def form(self) -> dict[str, str]:
        return {
            "grant_type": "client_credentials",
            "client_id": self.values["client_id"],
            "client_secret": self.values["client_secret"],
            "scope": self.scope,
        }

    def refused(self, status: int) -> str:
        return (
            f"Entra refused the D365 token (HTTP {status}); check the application id, its secret "
            "and that it is registered in D365 (Microsoft Entra applications)"
        )


class D365Client:
    target = TARGET
    resend_is_idempotent = True

    def __init__(
        self,
        endpoint: str,
        *,
        dry_run: bool = False,
        definition_group: str = "careledger-general-journal",
        poll_base: float = 5.0,
        poll_max: float = 120.0,
        poll_tries: int = 40,
    ) -> None:
        self.base = endpoint.rstrip("/")
        self.group = definition_group
        self.poll_base, self.poll_max, self.poll_tries = poll_base, poll_max, poll_tries
        self.token = None if dry_run else EntraToken(self.base)

    def units(self, pending: list[Pending], folder: Path) -> list[Unit]:
        units = []
        for _name, text, journals in published_files(pending, folder):
            reader = csv.DictReader(io.StringIO(text))
            wanted = {p.journal_id for p in journals}
            rows = [r for r in reader if r["VOUCHER"] in wanted]
            totals: dict[str, tuple[Decimal, Decimal]] = {}
            for r in rows:
                dr, cr = totals.get(r["VOUCHER"], (Decimal(0), Decimal(0)))
                totals[r["VOUCHER"]] = (dr + Decimal(r["DEBITAMOUNT"] or 0), cr + Decimal(r["CREDITAMOUNT"] or 0))
            buf = io.StringIO()
            writer = csv.DictWriter(buf, fieldnames=reader.fieldnames, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
            keys = "|".join(sorted(p.idempotency_key for p in journals))
            execution_id = "CL" + hashlib.sha256(keys.encode("utf-8")).hexdigest()[:30]
            units.append(
                Unit(
                    journals,
                    package(buf.getvalue().encode("utf-8"), self.group),
                    totals,
                    f"POST {self.base}{ACTIONS}ImportFromPackage executionId {execution_id} "
                    f"legalEntityId {journals[0].legal_entity_id} ({len(journals)} journals, {len(rows)} lines)",
                    {"execution_id": execution_id, "legal_entity": journals[0].legal_entity_id},
                )
            )
        return units

    def _action(self, transport: Transport, action: str, body: dict, execution_id: str) -> str:
        headers = {"Authorization": f"Bearer {self.token.get(transport)}"}
        response = transport.try_once("POST", self.base + ACTIONS + action, json=body, headers=headers)
        if response.status_code != 200:
            raise _Refused(response.status_code, f"{action}: HTTP {response.status_code} {response.text[:1500]}")
        return response.json().get("value", "")

    def send(self, unit: Unit, transport: Transport) -> dict[str, Answer]:
        execution_id = unit.extra["execution_id"]
        try:
            return self._send(unit, transport, execution_id)
        except _Refused as exc:
            return {p.journal_id: Answer("rejected", exc.status, None, str(exc)) for p in unit.journals}

    def _send(self, unit: Unit, transport: Transport, execution_id: str) -> dict[str, Answer]:
        status = self._action(transport, "GetExecutionSummaryStatus", {"executionId": execution_id}, execution_id)
        if status == "Unknown":  # D365 has no import of this id yet
            blob = json.loads(
                self._action(transport, "GetAzureWriteUrl", {"uniqueFileName": f"{execution_id}.zip"}, execution_id)
            )
            put = transport.try_once("PUT", blob["BlobUrl"], content=unit.body, headers={"x-ms-blob-type": "BlockBlob"})
            if put.status_code not in (200, 201):
                raise TransientError(f"PUT of the package to the blob URL: HTTP {put.status_code}")
            self._action(
                transport,
                "ImportFromPackage",
                {
                    "packageUrl": blob["BlobUrl"],
                    "definitionGroupId": self.group,
                    "executionId": execution_id,
                    "execute": True,
                    "overwrite": True,
                    "legalEntityId": unit.extra["legal_entity"],
                },
                execution_id,
            )
            status = "NotRun"
        for i in range(self.poll_tries):
            if status in DONE:
                break
            transport.sleep(min(self.poll_max, self.poll_base * 2**i))
            status = self._action(transport, "GetExecutionSummaryStatus", {"executionId": execution_id}, execution_id)
        else:
            raise TransientError(f"D365 import {execution_id} still {status} after {self.poll_tries} polls")
        document = f"DMF {execution_id}"
        if status == "Succeeded":
            return {p.journal_id: Answer("accepted", 200, document) for p in unit.journals}
        errors = self._action(transport, "GetExecutionErrors", {"executionId": execution_id}, execution_id)
        messages = [str(e.get("ErrorMessage", e)) for e in (json.loads(errors) if errors else [])]
        answers = {}
        for p in unit.journals:
            own = [m for m in messages if p.journal_id in m]
            if own:
                answers[p.journal_id] = Answer("rejected", 200, document, f"D365 {status}: " + "; ".join(own)[:2000])
            elif status == "PartiallySucceeded":
                answers[p.journal_id] = Answer("accepted", 200, document)
            else:
                answers[p.journal_id] = Answer(
                    "rejected", 200, document, f"D365 {status}: " + "; ".join(messages)[:2000]
                )
        return answers


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
