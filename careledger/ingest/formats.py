"""Registry of format loaders: format name -> (module with ``load(ctx)``, source system)."""

from __future__ import annotations

import importlib

from careledger.ingest.landing import IngestError, Loader

FORMATS: dict[str, tuple[str, str]] = {
    "fhir": ("careledger.ingest.fhir.loader", "ehr"),
    "adt": ("careledger.ingest.hl7.adt", "ehr"),
    "x12-835": ("careledger.ingest.x12.remit_835", "billing"),
    "claims": ("careledger.ingest.csv.loader", "billing"),
    "denials": ("careledger.ingest.csv.loader", "billing"),
    "payers": ("careledger.ingest.csv.loader", "billing"),
    "patient-transactions": ("careledger.ingest.csv.loader", "billing"),
    "bai2": ("careledger.ingest.bai2.loader", "bank"),
    "erp": ("careledger.ingest.csv.loader", "erp"),
}

SOURCE_CHOICES = ("auto", *FORMATS)


def loader_for(fmt: str) -> tuple[Loader, str]:
    try:
        module_name, source_system = FORMATS[fmt]
    except KeyError:
        raise IngestError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}") from None
    module = importlib.import_module(module_name)
    return module.load, source_system
