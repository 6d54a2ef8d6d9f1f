"""Oracle Fusion Cloud General Ledger: FBDI ``GL_INTERFACE`` (GlInterface.csv).

The file follows the positional layout of the GL_INTERFACE sheet of Oracle's
JournalImportTemplate.xlsm: 149 columns, no header row (the template's macro writes none;
SQL*Loader maps by position). Beside each CSV, publish writes the same bytes zipped as
``GlInterface.csv`` (``oracle_*.zip``, what *Load Interface File for Import* and the ERP
Integration service's ``importBulkData`` take; job ``JournalImportLauncher``, whose Group ID
parameter must equal the file's GROUP_ID column, written below).

Segments (docs/erp_posting.md): SEGMENT1 company = legal entity, SEGMENT2 facility,
SEGMENT3 cost center, SEGMENT4 natural account, SEGMENT5 service line.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field

from careledger.publish.erp.base import (
    ExportBatch,
    ExportValidationError,
    RenderedFile,
    amount_or_blank,
    check_balanced,
    clip,
    file_name,
    require,
    require_max_length,
    segment,
)

TARGET = "oracle"

# 1-based positions 1..149 of the FBDI GL_INTERFACE sheet.
GL_INTERFACE_COLUMNS: tuple[str, ...] = (
    "STATUS",
    "LEDGER_ID",
    "ACCOUNTING_DATE",
    "USER_JE_SOURCE_NAME",
    "USER_JE_CATEGORY_NAME",
    "CURRENCY_CODE",
    "DATE_CREATED",
    "ACTUAL_FLAG",
    *(f"SEGMENT{i}" for i in range(1, 31)),  # 9..38
    "ENTERED_DR",
    "ENTERED_CR",
    "ACCOUNTED_DR",
    "ACCOUNTED_CR",  # 39..42
    *(f"REFERENCE{i}" for i in range(1, 11)),  # 43..52 (REFERENCE3 unused by Journal Import)
    *(f"REFERENCE{i}" for i in range(21, 31)),  # 53..62 line reference columns 1..10
    "STAT_AMOUNT",
    "USER_CURRENCY_CONVERSION_TYPE",
    "CURRENCY_CONVERSION_DATE",
    "CURRENCY_CONVERSION_RATE",
    "GROUP_ID",  # 63..67
    "ATTRIBUTE_CATEGORY",
    *(f"ATTRIBUTE{i}" for i in range(1, 21)),  # 68..88
    "ATTRIBUTE_CATEGORY3",
    "AVERAGE_JOURNAL_FLAG",
    "ORIGINATING_BAL_SEG_VALUE",
    "LEDGER_NAME",
    "ENCUMBRANCE_TYPE_ID",
    "JGZZ_RECON_REF",
    "PERIOD_NAME",  # 89..95
    "REFERENCE18",
    "REFERENCE19",
    "REFERENCE20",  # 96..98
    *(f"ATTRIBUTE_DATE{i}" for i in range(1, 11)),  # 99..108
    *(f"ATTRIBUTE_NUMBER{i}" for i in range(1, 11)),  # 109..118
    "GLOBAL_ATTRIBUTE_CATEGORY",
    *(f"GLOBAL_ATTRIBUTE{i}" for i in range(1, 21)),  # 119..139
    *(f"GLOBAL_ATTRIBUTE_DATE{i}" for i in range(1, 6)),  # 140..144
    *(f"GLOBAL_ATTRIBUTE_NUMBER{i}" for i in range(1, 6)),  # 145..149
)
assert len(GL_INTERFACE_COLUMNS) == 149

# NOT NULL in GL_INTERFACE, plus what Journal Import needs to build a journal here.
REQUIRED = (
    "STATUS",
    "ACCOUNTING_DATE",
    "USER_JE_SOURCE_NAME",
    "USER_JE_CATEGORY_NAME",
    "CURRENCY_CODE",
    "DATE_CREATED",
    "ACTUAL_FLAG",
    "SEGMENT1",
    "SEGMENT2",
    "SEGMENT3",
    "SEGMENT4",
    "SEGMENT5",
    "REFERENCE1",
    "REFERENCE4",
    "GROUP_ID",
    "LEDGER_NAME",
    "PERIOD_NAME",
)
MAX_LENGTH = {
    "USER_JE_SOURCE_NAME": 25,
    "USER_JE_CATEGORY_NAME": 25,
    "CURRENCY_CODE": 15,
    "LEDGER_NAME": 30,
    "PERIOD_NAME": 15,
    "REFERENCE1": 100,
    "REFERENCE4": 100,
    "REFERENCE6": 100,
    **{f"SEGMENT{i}": 25 for i in range(1, 6)},
}


@dataclass(frozen=True)
class OracleConfig:
    je_source_name: str = "CareLedger"
    categories: Mapping[str, str] = field(
        default_factory=lambda: {
            "daily_reimbursement": "Receipts",
            "month_end_accrual": "Accrual",
            "remittance_plb": "Receipts",
            "patient_transactions": "Receipts",
        }
    )
    null_segment: str = "000"


def _date(d) -> str:
    return d.strftime("%Y/%m/%d")


class OracleFbdiAdapter:
    target = TARGET

    def __init__(self, config: OracleConfig | None = None) -> None:
        self.config = config or OracleConfig()

    def rows(self, batch: ExportBatch) -> list[dict[str, str]]:
        cfg = self.config
        group_id = str(int(batch.batch_id[:12], 16) % 10**15)
        batch_name = f"CareLedger {batch.target} {batch.batch_id}"
        batch_desc = f"careledger journals {batch.date_from.isoformat()}..{batch.date_to.isoformat()}"
        rows: list[dict[str, str]] = []
        for j in batch.journals:
            for ln in j.lines:
                row = dict.fromkeys(GL_INTERFACE_COLUMNS, "")
                row.update(
                    {
                        "STATUS": "NEW",
                        "ACCOUNTING_DATE": _date(j.accounting_date),
                        "USER_JE_SOURCE_NAME": cfg.je_source_name,
                        "USER_JE_CATEGORY_NAME": cfg.categories.get(j.journal_source, j.journal_source),
                        "CURRENCY_CODE": j.currency_code,
                        "DATE_CREATED": _date(j.accounting_date),
                        "ACTUAL_FLAG": "A",
                        "SEGMENT1": segment(j.legal_entity_id, cfg.null_segment),
                        "SEGMENT2": segment(j.facility_id, cfg.null_segment),
                        "SEGMENT3": segment(ln.cost_center_id, cfg.null_segment),
                        "SEGMENT4": ln.account_id,
                        "SEGMENT5": segment(ln.service_line_code, cfg.null_segment),
                        "ENTERED_DR": amount_or_blank(ln.debit_amount),
                        "ENTERED_CR": amount_or_blank(ln.credit_amount),
                        "REFERENCE1": batch_name,
                        "REFERENCE2": batch_desc,
                        "REFERENCE4": j.journal_id,
                        "REFERENCE5": clip(j.description, 240),
                        "REFERENCE6": j.idempotency_key,
                        "REFERENCE10": clip(ln.description, 240),
                        "REFERENCE21": j.correlation_id or "",
                        "REFERENCE22": "" if ln.source_record_count is None else str(ln.source_record_count),
                        "REFERENCE23": ln.source_first_id or "",
                        "REFERENCE24": ln.source_last_id or "",
                        "REFERENCE25": ln.source_id_set_hash or "",
                        "REFERENCE26": j.posting_type,
                        "REFERENCE27": j.original_journal_id or "",
                        "REFERENCE28": str(ln.line_number),
                        "GROUP_ID": group_id,
                        "LEDGER_NAME": j.ledger_name or "",
                        "PERIOD_NAME": j.period_id,
                    }
                )
                require(TARGET, j.journal_id, row, REQUIRED)
                require_max_length(TARGET, j.journal_id, row, MAX_LENGTH)
                if not row["ENTERED_DR"] and not row["ENTERED_CR"]:
                    raise ExportValidationError(
                        TARGET, j.journal_id, f"ENTERED_DR/ENTERED_CR (line {ln.line_number})", "are both empty"
                    )
                rows.append(row)
        return rows

    def render(self, batch: ExportBatch) -> list[RenderedFile]:
        check_balanced(TARGET, batch.journals)
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        for row in self.rows(batch):
            writer.writerow([row[c] for c in GL_INTERFACE_COLUMNS])
        content = buf.getvalue().encode("utf-8")
        name = file_name(TARGET, batch, content, "csv")
        return [
            RenderedFile(name, content, tuple(j.journal_id for j in batch.journals)),
            # the upload of the same bytes; carries no journal of its own (the ledger names the CSV)
            RenderedFile(name.removesuffix(".csv") + ".zip", fbdi_zip(content), ()),
        ]


ZIP_MEMBER = "GlInterface.csv"


def fbdi_zip(csv_bytes: bytes) -> bytes:
    """``csv_bytes`` as the FBDI upload: one member ``GlInterface.csv``, deflated, with a fixed
    timestamp so the same CSV always gives the same zip bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        info = zipfile.ZipInfo(ZIP_MEMBER, date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        zf.writestr(info, csv_bytes)
    return buf.getvalue()
