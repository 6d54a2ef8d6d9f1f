"""The ERP targets careledger posts to: the one registry the CLI, the Dagster assets and the
publisher read (name -> adapter, file kind, description, the client ``careledger deliver`` sends it with).

Adapters and clients are named by module path and imported when one is made, so reading the registry (for
``careledger --help`` or the asset graph) loads no adapter or client code.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from careledger.publish.erp.base import ErpAdapter


@dataclass(frozen=True)
class ErpTarget:
    name: str
    adapter: str  # "module:Class" of the adapter that renders the target's files
    file_kind: str  # what the files are (the Dagster asset's kind)
    description: str
    client: str | None = None  # "module:Class" of the client that `careledger deliver erp` sends it with

    @property
    def deliverable(self) -> bool:
        return self.client is not None

    def make_adapter(self) -> ErpAdapter:
        return _load(self.adapter)()

    def client_class(self) -> type:
        if self.client is None:
            raise ValueError(f"ERP target {self.name!r} has no delivery client")
        return _load(self.client)


def _load(path: str):
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


REGISTRY: dict[str, ErpTarget] = {
    t.name: t
    for t in (
        ErpTarget(
            "oracle",
            "careledger.publish.erp.oracle:OracleFbdiAdapter",
            "csv",
            "Oracle Fusion FBDI GL_INTERFACE CSV (and its upload zip)",
            client="careledger.publish.delivery.oracle:OracleClient",
        ),
        ErpTarget(
            "d365",
            "careledger.publish.erp.d365:D365GeneralJournalAdapter",
            "csv",
            "Dynamics 365 Finance general journal entity CSV, one file per legal entity",
            client="careledger.publish.delivery.d365:D365Client",
        ),
        ErpTarget(
            "netsuite",
            "careledger.publish.erp.netsuite:NetSuiteJournalAdapter",
            "json",
            "NetSuite journal entry JSON",
            client="careledger.publish.delivery.netsuite:NetSuiteClient",
        ),
        ErpTarget(
            "sap",
            "careledger.publish.erp.sap:SapJournalEntryAdapter",
            "xml",
            "SAP S/4HANA Cloud journal entry SOAP payloads",
            client="careledger.publish.delivery.sap:SapClient",
        ),
        ErpTarget(
            "json",
            "careledger.publish.erp.generic_json:GenericJsonAdapter",
            "json",
            "generic JSON with a JSON Schema, deliverable to a signed webhook",
            client="careledger.publish.delivery.webhook:WebhookClient",
        ),
    )
}

#: target names, in registry order (CLI choices, one Dagster asset each)
TARGETS: tuple[str, ...] = tuple(REGISTRY)
#: the targets ``careledger deliver erp`` can send
DELIVERABLE: tuple[str, ...] = tuple(t.name for t in REGISTRY.values() if t.deliverable)


def target(name: str) -> ErpTarget:
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown ERP target {name!r}; choose one of {', '.join(TARGETS)}") from None


def make_adapter(name: str) -> ErpAdapter:
    return target(name).make_adapter()


def help_text() -> str:
    """One line per target, for ``--help``."""
    return "; ".join(f"{t.name}: {t.description}" for t in REGISTRY.values())
