"""Oracle NetSuite: journal entry records in the REST record shape (``journalEntry``).

The file holds ``{"recordType": "journalEntry", "records": [...]}``; each record is the
body of one ``POST /services/rest/record/v1/journalEntry``. References are ``{"id": ...}``
with careledger's codes: subsidiary = legal entity, location = facility, department =
cost center, class = service line, account = GL account, postingPeriod = period id. Map
them to NetSuite internal ids with ``NetSuiteConfig.id_maps`` where they differ.
``externalId`` is the posting's idempotency key, so a resend upserts instead of doubling.
Source references travel in custom line fields (``custcol_cl_*``, create them once).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from careledger.publish.erp.base import (
    ExportBatch,
    ExportValidationError,
    RenderedFile,
    check_balanced,
    clip,
    dumps_exact,
    file_name,
)

TARGET = "netsuite"

REQUIRED_HEADER = ("externalId", "subsidiary", "tranDate", "postingPeriod", "currency")
REQUIRED_LINE = ("account",)


@dataclass(frozen=True)
class NetSuiteConfig:
    # kind -> careledger code -> NetSuite internal id; kinds: subsidiary, account, department,
    # class, location, postingPeriod, currency. A code without an entry is sent as is.
    id_maps: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


class NetSuiteJournalAdapter:
    target = TARGET

    def __init__(self, config: NetSuiteConfig | None = None) -> None:
        self.config = config or NetSuiteConfig()

    def _ref(self, kind: str, code: str | None) -> dict[str, str] | None:
        if not code:
            return None
        return {"id": self.config.id_maps.get(kind, {}).get(code, code)}

    def records(self, batch: ExportBatch) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        for j in batch.journals:
            items: list[dict[str, Any]] = []
            for ln in j.lines:
                item: dict[str, Any] = {"line": ln.line_number, "account": self._ref("account", ln.account_id)}
                if ln.debit_amount:
                    item["debit"] = ln.debit_amount
                if ln.credit_amount:
                    item["credit"] = ln.credit_amount
                for key, kind, code in (
                    ("department", "department", ln.cost_center_id),
                    ("class", "class", ln.service_line_code),
                    ("location", "location", j.facility_id),
                ):
                    ref = self._ref(kind, code)
                    if ref is not None:
                        item[key] = ref
                item["memo"] = clip(ln.description, 4000)
                item["custcol_cl_source_record_count"] = ln.source_record_count
                item["custcol_cl_source_first_id"] = ln.source_first_id
                item["custcol_cl_source_last_id"] = ln.source_last_id
                item["custcol_cl_source_id_set_hash"] = ln.source_id_set_hash
                for name in REQUIRED_LINE:
                    if not item.get(name):
                        raise ExportValidationError(
                            TARGET, j.journal_id, f"line.items[{ln.line_number}].{name}", "is required and empty"
                        )
                if ("debit" in item) == ("credit" in item):
                    raise ExportValidationError(
                        TARGET,
                        j.journal_id,
                        f"line.items[{ln.line_number}].debit/credit",
                        "must carry exactly one side",
                    )
                items.append(item)
            record: dict[str, Any] = {
                "externalId": j.idempotency_key,
                "tranId": j.journal_id,
                "subsidiary": self._ref("subsidiary", j.legal_entity_id),
                "tranDate": j.accounting_date.isoformat(),
                "postingPeriod": self._ref("postingPeriod", j.period_id),
                "currency": self._ref("currency", j.currency_code),
                "memo": clip(j.description, 4000),
                "approved": True,
                "custbody_cl_journal_source": j.journal_source,
                "custbody_cl_posting_type": j.posting_type,
                "custbody_cl_original_journal": j.original_journal_id,
                "custbody_cl_correlation_id": j.correlation_id,
                "line": {"items": items},
            }
            for name in REQUIRED_HEADER:
                if not record.get(name):
                    raise ExportValidationError(TARGET, j.journal_id, name, "is required and empty")
            if not items:
                raise ExportValidationError(TARGET, j.journal_id, "line.items", "is empty")
            records.append(record)
        return records

    def render(self, batch: ExportBatch) -> list[RenderedFile]:
        check_balanced(TARGET, batch.journals)
        content = dumps_exact({"recordType": "journalEntry", "records": self.records(batch)}).encode("utf-8")
        return [
            RenderedFile(
                file_name(TARGET, batch, content, "json"), content, tuple(j.journal_id for j in batch.journals)
            )
        ]
