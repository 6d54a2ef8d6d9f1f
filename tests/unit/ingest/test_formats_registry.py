"""The formats are one table (careledger.ingest.formats) that detection, the loaders' dispatch,
the CLI, the Dagster raw families and replay read."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import careledger
from careledger.cli import build_parser
from careledger.ingest import detect, formats
from careledger.orchestration.assets.raw import RAW_FAMILIES

PACKAGE = Path(careledger.__file__).resolve().parent


def test_every_format_belongs_to_a_raw_family_and_every_family_has_a_folder():
    families = {f.name: f for f in RAW_FAMILIES}
    assert {f.family for f in formats.FORMATS.values()} == set(families)
    assert {name: fam.subpaths for name, fam in families.items()} == {
        "fhir": ("ehr/fhir",),
        "adt": ("ehr/adt",),
        "claims": ("billing/claims", "billing/payers.csv"),
        "remittance": ("billing/remits",),
        "denials": ("billing/denials",),
        "patient_transactions": ("billing/patient_transactions",),
        "bank": ("bank",),
        "erp": ("erp",),
    }


@pytest.mark.parametrize("name", list(formats.FORMATS))
def test_every_loader_lands_through_load(name):
    loader, source_system = formats.loader_for(name)
    assert loader is importlib.import_module(formats.FORMATS[name].loader).load
    assert source_system in ("ehr", "billing", "bank", "erp")


def test_batch_formats_and_aliases_name_their_family():
    assert formats.get("claims:claim_lines").family == "claims"
    assert formats.get("payers:payers").family == "claims"
    assert formats.get("adt").family == formats.get("hl7").family == "adt"
    assert formats.get("x12-835").family == "remittance"
    with pytest.raises(formats.IngestError, match="unknown format 'ncpdp'"):
        formats.get("ncpdp")


def test_the_cli_and_detection_accept_the_registry():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    source = next(a for a in sub.choices["ingest"]._actions if a.dest == "source")
    assert tuple(source.choices) == formats.SOURCE_CHOICES
    with pytest.raises(ValueError, match="unknown source 'ncpdp'"):
        detect.detect(Path(__file__), "ncpdp")


def test_no_second_hand_written_list_of_formats():
    """A tuple, list, set or dict literal naming three or more formats outside formats.py is a copy."""
    names = set(formats.FORMATS) | set(formats.ALIASES)
    copies = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == PACKAGE / "ingest" / "formats.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            elts = node.keys if isinstance(node, ast.Dict) else getattr(node, "elts", None)
            if not isinstance(node, ast.Tuple | ast.List | ast.Set | ast.Dict) or not elts:
                continue
            found = {e.value for e in elts if isinstance(e, ast.Constant) and e.value in names}
            if len(found) >= 3:
                copies.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {sorted(found)}")
    assert not copies, "formats listed outside careledger/ingest/formats.py:\n" + "\n".join(copies)
