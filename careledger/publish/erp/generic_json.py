"""Generic JSON journals, validated against ``publish/erp_schemas/journal.schema.json``.

For ERPs without a dedicated adapter and for audit. Amounts are strings with exactly two
decimals (``"1234.50"``) so no reader turns money into a float.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from careledger.publish.erp.base import (
    ExportBatch,
    ExportValidationError,
    RenderedFile,
    amount,
    check_balanced,
    dumps_exact,
    file_name,
)

TARGET = "json"
SCHEMA_VERSION = "1.0"
SCHEMA_PATH = Path(__file__).resolve().parents[1] / "erp_schemas" / "journal.schema.json"


@lru_cache(maxsize=1)
def journal_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def _inline_refs(node: Any, defs: dict[str, Any]) -> Any:
    """The schema with its local ``#/$defs/...`` references inlined: same meaning, and
    jsonschema validates it several times faster than resolving refs per line."""
    if isinstance(node, list):
        return [_inline_refs(x, defs) for x in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    rest = {k: _inline_refs(v, defs) for k, v in node.items() if k not in ("$ref", "$defs")}
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        target = _inline_refs(defs[ref.removeprefix("#/$defs/")], defs)
        if set(rest) - {"description"}:
            return {**rest, "allOf": [target, *rest.get("allOf", [])]}
        return {**target, **rest}
    return rest


@lru_cache(maxsize=1)
def _validator():
    import jsonschema

    schema = journal_schema()
    return jsonschema.Draft202012Validator(_inline_refs(schema, schema.get("$defs", {})))


def validate_document(document: dict[str, Any]) -> None:
    """Raise :class:`ExportValidationError` naming the journal and field on a schema error."""
    validator = _validator()
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        path = list(err.absolute_path)
        journal_id = "(file)"
        if len(path) >= 2 and path[0] == "journals" and isinstance(path[1], int):
            journal_id = document["journals"][path[1]].get("journal_id", f"#{path[1]}")
        raise ExportValidationError(TARGET, journal_id, "/".join(map(str, path)) or "(root)", err.message)


class GenericJsonAdapter:
    target = TARGET

    def document(self, batch: ExportBatch) -> dict[str, Any]:
        debit, credit = check_balanced(TARGET, batch.journals)
        journals = []
        for j in batch.journals:
            journals.append(
                {
                    "journal_id": j.journal_id,
                    "idempotency_key": j.idempotency_key,
                    "posting_type": j.posting_type,
                    "original_journal_id": j.original_journal_id,
                    "reverses_journal_id": j.reverses_journal_id,
                    "journal_source": j.journal_source,
                    "legal_entity_id": j.legal_entity_id,
                    "ledger_name": j.ledger_name,
                    "facility_id": j.facility_id,
                    "posting_date": j.posting_date.isoformat(),
                    "accounting_date": j.accounting_date.isoformat(),
                    "period_id": j.period_id,
                    "currency_code": j.currency_code,
                    "description": j.description,
                    "correlation_id": j.correlation_id,
                    "source_journal_id": j.source_journal_id,
                    "source_idempotency_key": j.source_idempotency_key,
                    "content_hash": j.content_hash,
                    "debit_total": amount(j.debit_total),
                    "credit_total": amount(j.credit_total),
                    "lines": [
                        {
                            "line_number": ln.line_number,
                            "segments": {
                                "legal_entity": j.legal_entity_id,
                                "facility": j.facility_id,
                                "cost_center": ln.cost_center_id,
                                "account": ln.account_id,
                                "service_line": ln.service_line_code,
                            },
                            "debit_amount": amount(ln.debit_amount),
                            "credit_amount": amount(ln.credit_amount),
                            "description": ln.description,
                            "source_record_count": ln.source_record_count,
                            "source_first_id": ln.source_first_id,
                            "source_last_id": ln.source_last_id,
                            "source_id_set_hash": ln.source_id_set_hash,
                            "correlation_id": ln.correlation_id,
                        }
                        for ln in j.lines
                    ],
                }
            )
        document = {
            "schema_version": SCHEMA_VERSION,
            "target": TARGET,
            "batch_id": batch.batch_id,
            "date_from": batch.date_from.isoformat(),
            "date_to": batch.date_to.isoformat(),
            "journal_count": len(journals),
            "line_count": sum(len(j["lines"]) for j in journals),
            "debit_total": amount(debit),
            "credit_total": amount(credit),
            "journals": journals,
        }
        validate_document(document)
        return document

    def render(self, batch: ExportBatch) -> list[RenderedFile]:
        content = dumps_exact(self.document(batch)).encode("utf-8")
        return [
            RenderedFile(
                file_name(TARGET, batch, content, "json"), content, tuple(j.journal_id for j in batch.journals)
            )
        ]
