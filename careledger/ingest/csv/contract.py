"""The CSV export contract (docs/data_contracts.md section 1), derived from ingest/schema.sql.

The raw DDL is the source of truth for column names and types, so the contract columns of
each export kind are read from an in-memory DuckDB built with ``ensure_schema``; this module
adds what the DDL cannot say: which columns are required keys, where negative amounts are a
normal business event, and the code lists worth a finding. A code list that a seed owns
(payer classes: ``seeds/payer_classes.csv``) is read from that seed, the file dbt loads too.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache

import duckdb

from careledger.config import SEEDS_DIR
from careledger.ingest.landing import LINEAGE_COLUMNS, ensure_schema

ERP_KINDS: tuple[str, ...] = (
    "legal_entities",
    "facilities",
    "cost_centers",
    "chart_of_accounts",
    "suppliers",
    "accounting_periods",
    "gl_actuals",
    "payroll",
    "supply_spend",
    "crosswalks",
)

#: export kind -> (format family, raw table)
KINDS: dict[str, tuple[str, str]] = {
    "claim_lines": ("claims", "raw_billing.claim_lines"),
    "denial_events": ("denials", "raw_billing.denial_events"),
    "payers": ("payers", "raw_billing.payers"),
    "patient_transactions": ("patient-transactions", "raw_billing.patient_transactions"),
    **{kind: ("erp", f"raw_erp.{kind}") for kind in ERP_KINDS},
}

#: Key columns: a row with one of these empty is quarantined (MISSING_REQUIRED); a header
#: without one of them quarantines every row of the file (MISSING_COLUMN).
REQUIRED: dict[str, tuple[str, ...]] = {
    "claim_lines": ("claim_id", "line_number", "charge_amount"),
    "denial_events": ("event_id", "claim_id", "event_type", "event_date"),
    "payers": ("payer_code", "payer_class"),
    "patient_transactions": ("transaction_id", "claim_id", "transaction_type", "transaction_date", "amount"),
    "legal_entities": ("legal_entity_id",),
    "facilities": ("facility_id", "legal_entity_id"),
    "cost_centers": ("cost_center_id", "facility_id"),
    "chart_of_accounts": ("account_id",),
    "suppliers": ("supplier_id",),
    "accounting_periods": ("period_id", "period_start_date", "period_end_date"),
    "gl_actuals": ("journal_id", "line_number", "account_id", "posting_date"),
    "payroll": ("pay_period_end_date", "employee_id", "cost_center_id"),
    "supply_spend": ("invoice_id", "cost_center_id", "amount"),
    "crosswalks": ("entity", "source_system", "source_code", "target_code"),
}

#: The key each export's rows are deduplicated on in dbt (the ``partition by`` of its
#: intermediate model): two records of one file with the same key and other values land with a
#: ``DUPLICATE_KEY_CONFLICT`` warning.
KEYS: dict[str, tuple[str, ...]] = {
    "claim_lines": ("claim_id", "line_number"),
    "gl_actuals": ("journal_id", "line_number"),
    "payroll": ("pay_period_end_date", "employee_id", "cost_center_id", "job_code"),
    "supply_spend": ("invoice_id", "cost_center_id", "item_category"),
}

#: Numeric columns where a negative value is a normal business event (credit lines,
#: reversing journal lines, payroll corrections, supplier credit memos). A negative value in
#: any other numeric column lands with a warning finding NEGATIVE_AMOUNT.
NEGATIVE_ALLOWED: dict[str, frozenset[str]] = {
    "claim_lines": frozenset({"charge_amount", "units"}),
    "gl_actuals": frozenset({"debit_amount", "credit_amount"}),
    "payroll": frozenset({"hours", "cost_amount"}),
    "supply_spend": frozenset({"amount"}),
}

#: Code lists from the contract that no seed owns; a value outside the list lands with a
#: warning finding (UNKNOWN_CODE).
ENUMS: dict[str, dict[str, tuple[str, ...]]] = {
    "claim_lines": {"claim_type": ("I", "P"), "claim_frequency_code": ("1", "7", "8")},
    "denial_events": {
        "event_type": ("denial_received", "appeal_filed", "overturned", "upheld", "written_off"),
    },
    "patient_transactions": {
        "transaction_type": ("copay", "payment", "bad_debt", "charity", "refund"),
        "payment_method": ("cash", "check", "card", "ach"),
    },
    "payers": {"outpatient_method": ("pct_of_charges", "fee_schedule")},
    "facilities": {"facility_type": ("hospital", "clinic")},
    "cost_centers": {"cost_center_type": ("revenue", "ancillary", "overhead")},
    "accounting_periods": {"status": ("open", "closed")},
    "gl_actuals": {"source": ("payroll", "supplies", "other")},
}

#: Code lists that a seed owns: export kind -> column -> (seed name, seed column).
SEED_ENUMS: dict[str, dict[str, tuple[str, str]]] = {
    "payers": {"payer_class": ("payer_classes", "payer_class")},
}


def seed_codes(seed: str, column: str) -> tuple[str, ...]:
    """The values of one column of ``seeds/<seed>.csv``, in file order."""
    with (SEEDS_DIR / f"{seed}.csv").open(newline="") as fh:
        return tuple(row[column] for row in csv.DictReader(fh))


@lru_cache(maxsize=1)
def enums() -> dict[str, dict[str, tuple[str, ...]]]:
    """Export kind -> column -> allowed codes: ENUMS plus the seed-owned lists (SEED_ENUMS)."""
    out = {kind: dict(columns) for kind, columns in ENUMS.items()}
    for kind, columns in SEED_ENUMS.items():
        for column, (seed, seed_column) in columns.items():
            out.setdefault(kind, {})[column] = seed_codes(seed, seed_column)
    return out


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str  # DuckDB type as information_schema spells it, e.g. DECIMAL(18,2)

    @property
    def is_date(self) -> bool:
        return self.sql_type == "DATE"

    @property
    def is_decimal(self) -> bool:
        return self.sql_type.startswith("DECIMAL")

    @property
    def scale(self) -> int:
        """Digits after the decimal point of a DECIMAL(p,s) column (0 for other types)."""
        if not self.is_decimal or "," not in self.sql_type:
            return 0
        return int(self.sql_type.rsplit(",", 1)[1].rstrip(")").strip())

    @property
    def is_integer(self) -> bool:
        return self.sql_type in ("INTEGER", "BIGINT")

    @property
    def is_boolean(self) -> bool:
        return self.sql_type == "BOOLEAN"

    @property
    def is_money(self) -> bool:
        return self.is_decimal and (self.name.endswith("_amount") or self.name == "amount" or "rate" in self.name)


@lru_cache(maxsize=1)
def contract() -> dict[str, tuple[Column, ...]]:
    """Export kind -> its contract columns in DDL order (lineage columns excluded)."""
    con = duckdb.connect()
    try:
        ensure_schema(con)
        out: dict[str, tuple[Column, ...]] = {}
        for kind, (_, table) in KINDS.items():
            schema, name = table.split(".")
            rows = con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position",
                [schema, name],
            ).fetchall()
            out[kind] = tuple(Column(n, t) for n, t in rows if n not in LINEAGE_COLUMNS)
        return out
    finally:
        con.close()


def column_names(kind: str) -> tuple[str, ...]:
    return tuple(c.name for c in contract()[kind])


def family_kinds(family: str) -> tuple[str, ...]:
    """Export kinds of a format family (``claims``, ``denials``, ``payers``, ``erp``)."""
    return tuple(k for k, (fam, _) in KINDS.items() if fam == family)
