"""Registry of format loaders: format name -> (module with ``load(ctx)``, source system)."""

from __future__ import annotations

import importlib

from careledger.ingest.landing import IngestError, Loader

FORMATS: dict[str, tuple[str, str]] = {
    "fhir": ("careledger.ingest.fhir.loader", "ehr"),
    "hl7": ("careledger.ingest.hl7.router", "ehr"),
    "x12-835": ("careledger.ingest.x12.loader", "billing"),
    "claims": ("careledger.ingest.csv.loader", "billing"),
    "denials": ("careledger.ingest.csv.loader", "billing"),
    "payers": ("careledger.ingest.csv.loader", "billing"),
    "patient-transactions": ("careledger.ingest.csv.loader", "billing"),
    "bai2": ("careledger.ingest.bai2.loader", "bank"),
    "erp": ("careledger.ingest.csv.loader", "erp"),
}

# --source names kept for compatibility: ``adt`` was the HL7 v2 format's name before DFT and BAR
ALIASES: dict[str, str] = {"adt": "hl7"}

SOURCE_CHOICES = ("auto", *FORMATS, *ALIASES)


def canonical(name: str) -> str:
    """The registered format name of a --source value (an alias gives its format)."""
    return ALIASES.get(name, name)


def loader_for(fmt: str) -> tuple[Loader, str]:
    try:
        module_name, source_system = FORMATS[canonical(fmt)]
    except KeyError:
        raise IngestError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}") from None
    module = importlib.import_module(module_name)
    return module.load, source_system
