"""The formats careledger lands: one table that detection, the loaders' dispatch, the CLI's
``--source`` choices, the Dagster raw families and replay all read.

Each format says which source system sends it, which raw family (the Dagster raw asset that
lands and replays it) it belongs to, the landing sub-folder its files arrive in, the module
whose ``load(ctx)`` lands it, and what content detection recognizes it by (the content
families ``detect`` sniffs: ``json``, ``hl7``, ``x12``, ``bai2``, ``csv``).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from careledger.ingest.landing import IngestError, Loader


@dataclass(frozen=True)
class Format:
    name: str  # raw_meta.batches.format (before ":kind")
    source_system: str  # ehr | billing | bank | erp
    family: str  # the raw family (Dagster raw asset) that lands and replays it
    folder: str  # where its files arrive in the landing folder
    loader: str  # module with load(ctx: LoadContext) -> LoadCounts
    content: tuple[str, ...]  # content families detection recognizes it by


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("fhir", "ehr", "fhir", "ehr/fhir", "careledger.ingest.fhir.loader", ("json",)),
        Format("hl7", "ehr", "adt", "ehr/adt", "careledger.ingest.hl7.router", ("hl7",)),
        Format("x12-835", "billing", "remittance", "billing/remits", "careledger.ingest.x12.loader", ("x12",)),
        Format("claims", "billing", "claims", "billing/claims", "careledger.ingest.csv.loader", ("csv",)),
        Format("denials", "billing", "denials", "billing/denials", "careledger.ingest.csv.loader", ("csv", "json")),
        Format("payers", "billing", "claims", "billing/payers.csv", "careledger.ingest.csv.loader", ("csv",)),
        Format(
            "patient-transactions",
            "billing",
            "patient_transactions",
            "billing/patient_transactions",
            "careledger.ingest.csv.loader",
            ("csv",),
        ),
        Format("bai2", "bank", "bank", "bank", "careledger.ingest.bai2.loader", ("bai2",)),
        Format("erp", "erp", "erp", "erp", "careledger.ingest.csv.loader", ("csv",)),
    )
}

# --source names kept for compatibility: ``adt`` was the HL7 v2 format's name before DFT and BAR
# (and batches landed then carry it in raw_meta.batches.format)
ALIASES: dict[str, str] = {"adt": "hl7"}

SOURCE_CHOICES = ("auto", *FORMATS, *ALIASES)

#: the formats whose files are CSV exports (their kinds come from the CSV contract)
CSV_FORMATS = tuple(name for name, f in FORMATS.items() if "csv" in f.content)


def canonical(name: str) -> str:
    """The registered format name of a --source value (an alias gives its format)."""
    return ALIASES.get(name, name)


def get(name: str) -> Format:
    """The format of a --source value or a ``raw_meta.batches.format`` (``fmt`` or ``fmt:kind``)."""
    try:
        return FORMATS[canonical(name.split(":")[0])]
    except KeyError:
        raise IngestError(f"unknown format {name!r}; expected one of {', '.join(FORMATS)}") from None


def folders(family: str) -> tuple[str, ...]:
    """The landing sub-folders of one raw family, in registry order."""
    return tuple(f.folder for f in FORMATS.values() if f.family == family)


def loader_for(fmt: str) -> tuple[Loader, str]:
    f = get(fmt)
    module = importlib.import_module(f.loader)
    return module.load, f.source_system
