"""Microsoft Dynamics 365 Finance: General journal data entity (``LedgerJournalEntity``) CSV.

One file per legal entity (a data management import runs in one company), one journal
batch per file, one voucher per careledger journal (a voucher balances on its own).
``ACCOUNTTYPE`` is ``Ledger`` and ``ACCOUNTDISPLAYVALUE`` is the main account with its
financial dimensions, in the order of the *Financial dimension configuration for
integrating applications* ledger format documented in docs/erp_posting.md:

    MainAccount | LegalEntity | Facility | CostCenter | ServiceLine

The delimiter is ``|`` by default (careledger cost center ids contain ``-``, D365's
default delimiter); set the same delimiter in D365's dimension format or pass another.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from itertools import groupby

from careledger.publish.erp.base import (
    ExportBatch,
    ExportValidationError,
    RenderedFile,
    amount,
    check_balanced,
    clip,
    file_name,
    require,
    require_max_length,
    segment,
)

TARGET = "d365"

COLUMNS: tuple[str, ...] = (
    "JOURNALBATCHNUMBER",
    "LINENUMBER",
    "JOURNALNAME",
    "DESCRIPTION",
    "VOUCHER",
    "TRANSDATE",
    "ACCOUNTTYPE",
    "ACCOUNTDISPLAYVALUE",
    "DEBITAMOUNT",
    "CREDITAMOUNT",
    "CURRENCYCODE",
    "TEXT",
    "DOCUMENT",
    "DOCUMENTDATE",
    "POSTINGLAYER",
)
REQUIRED = (
    "JOURNALBATCHNUMBER",
    "LINENUMBER",
    "JOURNALNAME",
    "VOUCHER",
    "TRANSDATE",
    "ACCOUNTTYPE",
    "ACCOUNTDISPLAYVALUE",
    "CURRENCYCODE",
)
MAX_LENGTH = {"JOURNALBATCHNUMBER": 20, "VOUCHER": 20, "JOURNALNAME": 10, "CURRENCYCODE": 3, "DOCUMENT": 40}


@dataclass(frozen=True)
class D365Config:
    journal_name: str = "GenJrn"
    dimension_delimiter: str = "|"
    null_dimension: str = ""  # an empty dimension value leaves that dimension blank


# D365 field lengths: MainAccountNum 20, a financial dimension value 30 (DimensionValue).
MAIN_ACCOUNT_LENGTH = 20
DIMENSION_VALUE_LENGTH = 30


class D365GeneralJournalAdapter:
    target = TARGET
    prevalidation_rule = "D365_DIM"

    def __init__(self, config: D365Config | None = None) -> None:
        self.config = config or D365Config()

    def display_value(self, journal_id: str, values: list[str]) -> str:
        delim = self.config.dimension_delimiter
        for v in values:
            if delim in v:
                raise ExportValidationError(
                    TARGET,
                    journal_id,
                    "ACCOUNTDISPLAYVALUE",
                    f"segment {v!r} contains the dimension delimiter {delim!r}; choose another delimiter",
                )
        return delim.join(values)

    def problems(self, journal) -> list[tuple[str, str]]:
        """(field, problem) for every dimension value D365's ledger dimension format refuses."""
        delim = self.config.dimension_delimiter
        found: list[tuple[str, str]] = []
        for ln in journal.lines:
            values = (
                ("MainAccount", ln.account_id, MAIN_ACCOUNT_LENGTH),
                ("LegalEntity", journal.legal_entity_id, DIMENSION_VALUE_LENGTH),
                ("Facility", journal.facility_id, DIMENSION_VALUE_LENGTH),
                ("CostCenter", ln.cost_center_id or "", DIMENSION_VALUE_LENGTH),
                ("ServiceLine", ln.service_line_code or "", DIMENSION_VALUE_LENGTH),
            )
            for name, value, limit in values:
                if delim in value:
                    found.append((name, f"line {ln.line_number}: {value!r} contains the dimension delimiter {delim!r}"))
                if len(value) > limit:
                    found.append(
                        (name, f"line {ln.line_number}: {value!r} is {len(value)} characters; D365 allows {limit}")
                    )
            if not ln.account_id:
                found.append(("MainAccount", f"line {ln.line_number}: the main account is empty"))
        return found

    def rows(self, batch: ExportBatch) -> list[dict[str, str]]:
        cfg = self.config
        batch_number = f"CL{batch.batch_id[:12].upper()}"
        rows: list[dict[str, str]] = []
        line_no = 0
        for j in batch.journals:
            for ln in j.lines:
                line_no += 1
                row = {
                    "JOURNALBATCHNUMBER": batch_number,
                    "LINENUMBER": str(line_no),
                    "JOURNALNAME": cfg.journal_name,
                    "DESCRIPTION": f"careledger {batch.date_from.isoformat()}..{batch.date_to.isoformat()}",
                    "VOUCHER": j.journal_id,
                    "TRANSDATE": j.accounting_date.isoformat(),
                    "ACCOUNTTYPE": "Ledger",
                    "ACCOUNTDISPLAYVALUE": self.display_value(
                        j.journal_id,
                        [
                            ln.account_id,
                            j.legal_entity_id,
                            j.facility_id,
                            segment(ln.cost_center_id, cfg.null_dimension),
                            segment(ln.service_line_code, cfg.null_dimension),
                        ],
                    ),
                    "DEBITAMOUNT": amount(ln.debit_amount),
                    "CREDITAMOUNT": amount(ln.credit_amount),
                    "CURRENCYCODE": j.currency_code,
                    "TEXT": clip(ln.description or j.description, 60),
                    "DOCUMENT": j.idempotency_key,
                    "DOCUMENTDATE": j.posting_date.isoformat(),
                    "POSTINGLAYER": "Current",
                }
                require(TARGET, j.journal_id, row, REQUIRED)
                require_max_length(TARGET, j.journal_id, row, MAX_LENGTH)
                rows.append(row)
        return rows

    def render(self, batch: ExportBatch) -> list[RenderedFile]:
        check_balanced(TARGET, batch.journals)
        files: list[RenderedFile] = []
        by_entity = sorted(batch.journals, key=lambda j: j.legal_entity_id)
        for legal_entity, group in groupby(by_entity, key=lambda j: j.legal_entity_id):
            sub = batch.subset(group)
            check_balanced(TARGET, sub.journals)
            buf = io.StringIO()
            writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
            writer.writeheader()
            writer.writerows(self.rows(sub))
            content = buf.getvalue().encode("utf-8")
            files.append(
                RenderedFile(
                    file_name(TARGET, sub, content, "csv", qualifier=legal_entity),
                    content,
                    tuple(j.journal_id for j in sub.journals),
                )
            )
        return files
