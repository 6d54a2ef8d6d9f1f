"""Registry of format loaders: format name -> (module with ``load(ctx)``, source system)."""

from __future__ import annotations

import importlib

from ingest.landing import IngestError, Loader

FORMATS: dict[str, tuple[str, str]] = {
    "fhir": ("ingest.fhir", "ehr"),
    "adt": ("ingest.hl7_adt", "ehr"),
    "x12-835": ("ingest.x12_835", "billing"),
    "claims": ("ingest.csv_exports", "billing"),
    "denials": ("ingest.csv_exports", "billing"),
    "payers": ("ingest.csv_exports", "billing"),
    "erp": ("ingest.csv_exports", "erp"),
}

SOURCE_CHOICES = ("auto", *FORMATS)


def loader_for(fmt: str) -> tuple[Loader, str]:
    try:
        module_name, source_system = FORMATS[fmt]
    except KeyError:
        raise IngestError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}") from None
    module = importlib.import_module(module_name)
    return module.load, source_system
