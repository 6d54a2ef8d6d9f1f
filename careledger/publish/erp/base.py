"""What every ERP adapter shares: the export batch, rendered files, validation, formatting.

An adapter turns an :class:`ExportBatch` (the journals :func:`careledger.publish.posting.plan_postings`
decided to export) into one or more files' bytes. Rendering is pure and deterministic:
same batch -> byte-identical files (sorted rows, fixed decimals, no timestamps).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from careledger.publish.posting import PostingJournal

ZERO = Decimal("0.00")


class ExportValidationError(ValueError):
    """A journal misses a field the target ERP requires; names the journal and the field."""

    def __init__(self, target: str, journal_id: str, field: str, problem: str) -> None:
        self.target = target
        self.journal_id = journal_id
        self.field = field
        super().__init__(f"{target} export: journal {journal_id}: field {field} {problem}")


@dataclass(frozen=True)
class ExportBatch:
    """The journals of one publish run for one target."""

    target: str
    date_from: date
    date_to: date
    journals: tuple[PostingJournal, ...]

    @property
    def batch_id(self) -> str:
        """Deterministic id of this batch: hash of the journals it carries."""
        raw = "|".join(f"{j.journal_id}:{j.content_hash}" for j in self.journals)
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:16]

    def subset(self, journals: Iterable[PostingJournal]) -> ExportBatch:
        return ExportBatch(self.target, self.date_from, self.date_to, tuple(journals))


@dataclass(frozen=True)
class RenderedFile:
    """One output file: its name (no folder), its bytes, and the journals it carries."""

    name: str
    content: bytes
    journal_ids: tuple[str, ...]


class ErpAdapter(Protocol):
    target: str

    def render(self, batch: ExportBatch) -> list[RenderedFile]:
        """Validate and render the batch; raise :class:`ExportValidationError` on a gap."""
        ...


# ---------------------------------------------------------------------------- helpers


def file_name(target: str, batch: ExportBatch, content: bytes, extension: str, *, qualifier: str | None = None) -> str:
    """``<target>[_<qualifier>]_<from>_<to>_<sha256[:12]>.<ext>``: no run timestamps."""
    digest = hashlib.sha256(content).hexdigest()[:12]
    parts = [
        target,
        *([qualifier] if qualifier else []),
        batch.date_from.strftime("%Y%m%d"),
        batch.date_to.strftime("%Y%m%d"),
        digest,
    ]
    return "_".join(parts) + "." + extension


def amount(value: Decimal) -> str:
    """Fixed two decimals, no thousands separator, '.' decimal point."""
    return f"{value:.2f}"


def amount_or_blank(value: Decimal) -> str:
    return "" if value == 0 else amount(value)


def require(target: str, journal_id: str, record: Mapping[str, Any], fields: Sequence[str]) -> None:
    """Every field in ``fields`` present and non-empty in ``record``."""
    for name in fields:
        value = record.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise ExportValidationError(target, journal_id, name, "is required and empty")


def require_max_length(target: str, journal_id: str, record: Mapping[str, Any], limits: Mapping[str, int]) -> None:
    for name, limit in limits.items():
        value = record.get(name)
        if isinstance(value, str) and len(value) > limit:
            raise ExportValidationError(
                target, journal_id, name, f"is {len(value)} characters; the ERP allows {limit} ({value!r})"
            )


def clip(text: str | None, limit: int) -> str:
    """Free text cut to what the ERP stores (descriptions only, never identifiers)."""
    return (text or "")[:limit]


def check_balanced(target: str, journals: Sequence[PostingJournal]) -> tuple[Decimal, Decimal]:
    """Each journal and the whole file balance to the cent; returns (debits, credits)."""
    total_dr = total_cr = ZERO
    for j in journals:
        if j.debit_total != j.credit_total:
            raise ExportValidationError(
                target, j.journal_id, "debit/credit", f"do not balance: {j.debit_total} != {j.credit_total}"
            )
        if not j.lines:
            raise ExportValidationError(target, j.journal_id, "lines", "is empty")
        for ln in j.lines:
            if (ln.debit_amount == 0) == (ln.credit_amount == 0) or ln.debit_amount < 0 or ln.credit_amount < 0:
                raise ExportValidationError(
                    target,
                    j.journal_id,
                    f"line {ln.line_number} debit/credit",
                    "must carry exactly one positive side",
                )
        total_dr += j.debit_total
        total_cr += j.credit_total
    if total_dr != total_cr:
        raise ExportValidationError(
            target, "(file)", "debit/credit", f"file does not balance: {total_dr} != {total_cr}"
        )
    return total_dr, total_cr


def segment(value: str | None, empty_value: str) -> str:
    """A GL segment value; the ERP's configured empty value (e.g. Oracle '000') when absent."""
    return value if value else empty_value


# ---------------------------------------------------------------------------- exact JSON


def dumps_exact(value: Any, indent: int = 2) -> str:
    """Deterministic JSON with :class:`~decimal.Decimal` written as an exact number literal.

    Keys keep their insertion order (adapters build them in a fixed order); strings are
    escaped by :func:`json.dumps`; no floats are accepted (money must stay exact).
    """
    return _dump(value, indent, 0) + "\n"


def _dump(value: Any, indent: int, level: int) -> str:
    pad = " " * (indent * (level + 1))
    end = " " * (indent * level)
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        items = [
            f"{pad}{json.dumps(str(k), ensure_ascii=False)}: {_dump(v, indent, level + 1)}" for k, v in value.items()
        ]
        return "{\n" + ",\n".join(items) + "\n" + end + "}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        return "[\n" + ",\n".join(f"{pad}{_dump(v, indent, level + 1)}" for v in value) + "\n" + end + "]"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        raise TypeError(f"float {value!r} in an export: amounts must be Decimal")
    if isinstance(value, date):
        return json.dumps(value.isoformat())
    return json.dumps(value, ensure_ascii=False)
