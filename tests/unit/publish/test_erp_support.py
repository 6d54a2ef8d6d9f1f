"""Hand-made marts for the ERP posting tests (no pipeline needed), and readers that parse
every target's files back into (journal, debit, credit) so balance is checked on the bytes."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
import tempfile
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree as ET

import duckdb

MART_DDL = """
create schema if not exists marts;
create schema if not exists core;
create or replace table marts.mart_erp_journal_lines (
    journal_id varchar, idempotency_key varchar, journal_source varchar, legal_entity_id varchar,
    ledger_name varchar, facility_id varchar, posting_date date, period_id varchar,
    line_number integer, account_id varchar, cost_center_id varchar, service_line_code varchar,
    debit_amount decimal(18, 2), credit_amount decimal(18, 2), currency_code varchar,
    description varchar, source_record_count bigint, source_first_id varchar,
    source_last_id varchar, source_id_set_hash varchar, correlation_id varchar
);
create or replace table core.dim_accounting_period (
    period_id varchar, period_start_date date, period_end_date date,
    fiscal_year integer, fiscal_period integer, status varchar
);
-- the ERP's chart of accounts and ledger currencies, which pre-validation checks against
create or replace table core.dim_gl_account as
select * from (values
    ('1000', 'Assets', 'asset', 'debit', false, false),
    ('1010', 'Cash clearing', 'asset', 'debit', true, false),
    ('1200', 'Patient A/R - payer', 'asset', 'debit', true, false),
    ('1210', 'Patient A/R - self-pay', 'asset', 'debit', true, false),
    ('4010', 'Room and board revenue', 'revenue', 'credit', true, false),
    ('4080', 'Pharmacy revenue', 'revenue', 'credit', true, false),
    ('4900', 'Contractual allowances', 'revenue', 'debit', true, false),
    ('4910', 'Denials', 'revenue', 'debit', true, false),
    ('UNMAPPED', 'Unmapped account', 'unmapped', 'debit', false, true)
) t(account_id, account_name, account_type, natural_balance, is_posting, is_unmapped);
create or replace table core.dim_facility as
select * from (values
    ('F100', 'LE01', 'USD', false), ('F200', 'LE02', 'USD', false), ('UNMAPPED', 'UNMAPPED', 'USD', true)
) t(facility_id, legal_entity_id, currency_code, is_unmapped);
"""

PERIODS = [
    ("2025-01", date(2025, 1, 1), date(2025, 1, 31), "closed"),
    ("2025-02", date(2025, 2, 1), date(2025, 2, 28), "open"),
    ("2025-03", date(2025, 3, 1), date(2025, 3, 31), "open"),
]

FACILITIES = {
    "F100": ("LE01", "LE01 Primary Ledger"),
    "F200": ("LE02", "LE02 Primary Ledger"),
    "UNMAPPED": ("UNMAPPED", None),  # a billing facility code with no crosswalk row
}


@dataclass(frozen=True)
class Day:
    """One day's remittance summary for one facility and service line (daily reimbursement)."""

    facility_id: str
    posting_date: date
    service_line_code: str
    payment: Decimal
    contractual: Decimal
    denial: Decimal
    patient_responsibility: Decimal
    claims: tuple[str, ...] = ("C00000001", "C00000002")


def D(x: str | int) -> Decimal:
    return Decimal(str(x)).quantize(Decimal("0.01"))


def period_of(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def daily_rows(days: list[Day]) -> list[tuple]:
    """Lines as the contract describes daily_reimbursement journals: Dr 1010/4900/4910/1210, Cr 1200."""
    rows: list[tuple] = []
    by_journal: dict[tuple[str, date], list[Day]] = defaultdict(list)
    for d in days:
        by_journal[(d.facility_id, d.posting_date)].append(d)
    for (fac, pdate), group in sorted(by_journal.items()):
        le, ledger = FACILITIES[fac]
        jid = f"JE-{le}-{fac}-{pdate:%Y%m%d}-DR"
        n = 0
        for d in sorted(group, key=lambda x: x.service_line_code):
            claim_ids = sorted(d.claims)
            refs = (
                len(claim_ids),
                claim_ids[0],
                claim_ids[-1],
                hashlib.sha256("|".join(claim_ids).encode()).hexdigest(),
            )
            for account, amt, what in (
                ("1010", d.payment, "payments"),
                ("4900", d.contractual, "contractual allowances"),
                ("4910", d.denial, "denials"),
                ("1210", d.patient_responsibility, "patient responsibility"),
            ):
                n += 1
                rows.append(
                    (
                        jid,
                        f"idem-{jid}",
                        "daily_reimbursement",
                        le,
                        ledger,
                        fac,
                        pdate,
                        period_of(pdate),
                        n,
                        account,
                        None,
                        d.service_line_code,
                        amt,
                        D(0),
                        "USD",
                        f"{what} {d.service_line_code}",
                        *refs,
                        f"corr-{jid}",
                    )
                )
                n += 1
                rows.append(
                    (
                        jid,
                        f"idem-{jid}",
                        "daily_reimbursement",
                        le,
                        ledger,
                        fac,
                        pdate,
                        period_of(pdate),
                        n,
                        "1200",
                        None,
                        d.service_line_code,
                        D(0),
                        amt,
                        "USD",
                        f"A/R relief {what} {d.service_line_code}",
                        *refs,
                        f"corr-{jid}",
                    )
                )
    return rows


def accrual_rows(facility_id: str, period_end: date, charges: dict[str, Decimal]) -> list[tuple]:
    """month_end_accrual: Dr 1200 / Cr revenue account per revenue category account."""
    le, ledger = FACILITIES[facility_id]
    jid = f"JE-{le}-{facility_id}-{period_end:%Y%m%d}-MA"
    rows, n = [], 0
    for account, amt in sorted(charges.items()):
        refs = (3, "C00000010", "C00000030", "hash-accrual")
        n += 1
        rows.append(
            (
                jid,
                f"idem-{jid}",
                "month_end_accrual",
                le,
                ledger,
                facility_id,
                period_end,
                period_of(period_end),
                n,
                "1200",
                "CC-F100-0001",
                "cardiology",
                amt,
                D(0),
                "USD",
                "gross charges accrual",
                *refs,
                None,
            )
        )
        n += 1
        rows.append(
            (
                jid,
                f"idem-{jid}",
                "month_end_accrual",
                le,
                ledger,
                facility_id,
                period_end,
                period_of(period_end),
                n,
                account,
                "CC-F100-0001",
                "cardiology",
                D(0),
                amt,
                "USD",
                f"revenue {account}",
                *refs,
                None,
            )
        )
    return rows


def standard_days() -> list[Day]:
    return [
        Day("F100", date(2025, 2, 3), "cardiology", D("1200.10"), D("300.05"), D("50.00"), D("20.00")),
        Day("F100", date(2025, 2, 3), "oncology", D("800.00"), D("150.25"), D("0.00"), D("35.10")),
        Day("F100", date(2025, 2, 4), "cardiology", D("99.99"), D("0.01"), D("10.00"), D("0.00")),
        Day("F200", date(2025, 2, 3), "primary_care", D("410.40"), D("90.60"), D("12.34"), D("5.00")),
        Day("F200", date(2025, 1, 30), "primary_care", D("77.70"), D("22.30"), D("0.00"), D("1.00")),
    ]


def standard_rows() -> list[tuple]:
    return daily_rows(standard_days()) + accrual_rows(
        "F100", date(2025, 2, 28), {"4010": D("5000.00"), "4080": D("1234.56")}
    )


_TEMPLATES: dict[str, Path] = {}


def make_warehouse(path: Path, rows: list[tuple] | None = None, periods=PERIODS) -> Path:
    """A warehouse file holding only the two relations publish reads. Built once per
    content per process, then copied (creating DuckDB files is the slow part)."""
    rows = standard_rows() if rows is None else rows
    key = hashlib.sha256(repr((rows, periods)).encode()).hexdigest()
    template = _TEMPLATES.get(key)
    if template is None or not template.exists():
        template = Path(tempfile.mkdtemp(prefix="erp_tpl_")) / "warehouse.duckdb"
        with duckdb.connect(str(template)) as con:
            con.execute(MART_DDL)
            write_rows(con, rows)
            con.executemany(
                "insert into core.dim_accounting_period values (?, ?, ?, ?, ?, ?)",
                [(pid, s, e, s.year, s.month, st) for pid, s, e, st in periods],
            )
        _TEMPLATES[key] = template
    shutil.copyfile(template, path)
    return path


def write_rows(con: duckdb.DuckDBPyConnection, rows: list[tuple]) -> None:
    con.execute("delete from marts.mart_erp_journal_lines")
    if rows:
        con.executemany(f"insert into marts.mart_erp_journal_lines values ({', '.join(['?'] * 21)})", rows)


def replace_mart(path: Path, rows: list[tuple]) -> None:
    with duckdb.connect(str(path)) as con:
        write_rows(con, rows)


def set_period_status(path: Path, period_id: str, status: str) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("update core.dim_accounting_period set status = ? where period_id = ?", [status, period_id])


def ledger_rows(path: Path, target: str | None = None) -> list[dict]:
    with duckdb.connect(str(path), read_only=True) as con:
        cur = con.execute(
            "select * from publish.posting_ledger" + (" where target = ?" if target else "") + " order by journal_id",
            [target] if target else [],
        )
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, r)) for r in cur.fetchall()]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------------------- file readers


@dataclass(frozen=True)
class ParsedLine:
    journal_id: str
    account_id: str
    debit: Decimal
    credit: Decimal
    accounting_date: str
    period_id: str


ORACLE_POS = {
    "ACCOUNTING_DATE": 2,
    "SEGMENT4": 11,
    "ENTERED_DR": 38,
    "ENTERED_CR": 39,
    "REFERENCE4": 45,
    "PERIOD_NAME": 94,
}


def parse_file(path: Path) -> list[ParsedLine]:
    """Read any target's file back into lines (amounts as Decimal, from the bytes); an Oracle
    zip is read through its GlInterface.csv."""
    target = path.parent.name
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as zf:
            assert zf.namelist() == ["GlInterface.csv"], zf.namelist()
            text = zf.read("GlInterface.csv").decode("utf-8")
    else:
        text = path.read_text(encoding="utf-8")
    out: list[ParsedLine] = []
    if target == "oracle":
        for row in csv.reader(io.StringIO(text)):
            assert len(row) == 149
            out.append(
                ParsedLine(
                    row[ORACLE_POS["REFERENCE4"]],
                    row[ORACLE_POS["SEGMENT4"]],
                    D(row[ORACLE_POS["ENTERED_DR"]] or 0),
                    D(row[ORACLE_POS["ENTERED_CR"]] or 0),
                    row[ORACLE_POS["ACCOUNTING_DATE"]].replace("/", "-"),
                    row[ORACLE_POS["PERIOD_NAME"]],
                )
            )
    elif target == "d365":
        for row in csv.DictReader(io.StringIO(text)):
            out.append(
                ParsedLine(
                    row["VOUCHER"],
                    row["ACCOUNTDISPLAYVALUE"].split("|")[0],
                    D(row["DEBITAMOUNT"]),
                    D(row["CREDITAMOUNT"]),
                    row["TRANSDATE"],
                    "",
                )
            )
    elif target == "netsuite":
        doc = json.loads(text, parse_float=Decimal)
        for rec in doc["records"]:
            for item in rec["line"]["items"]:
                out.append(
                    ParsedLine(
                        rec["tranId"],
                        item["account"]["id"],
                        D(item.get("debit", 0)),
                        D(item.get("credit", 0)),
                        rec["tranDate"],
                        rec["postingPeriod"]["id"],
                    )
                )
    elif target == "json":
        doc = json.loads(text)
        for j in doc["journals"]:
            for ln in j["lines"]:
                out.append(
                    ParsedLine(
                        j["journal_id"],
                        ln["segments"]["account"],
                        D(ln["debit_amount"]),
                        D(ln["credit_amount"]),
                        j["accounting_date"],
                        j["period_id"],
                    )
                )
    elif target == "sap":
        root = ET.fromstring(text.encode("utf-8"))
        for req in root.iter("JournalEntryCreateRequest"):
            je = req.find("JournalEntry")
            for item in je.findall("Item"):
                value = D(item.findtext("AmountInTransactionCurrency"))
                is_debit = item.findtext("DebitCreditCode") == "S"
                assert (value > 0) == is_debit, "SAP: debits positive with S, credits negative with H"
                out.append(
                    ParsedLine(
                        je.findtext("DocumentReferenceID"),
                        item.findtext("GLAccount").lstrip("0"),
                        value if is_debit else D(0),
                        -value if not is_debit else D(0),
                        je.findtext("PostingDate"),
                        "",
                    )
                )
    else:
        raise AssertionError(f"unknown target folder {target}")
    return out


def assert_balanced(paths: list[Path]) -> None:
    """Debits = credits to the cent per journal and per file."""
    for path in paths:
        lines = parse_file(path)
        assert lines, f"{path} is empty"
        per_journal: dict[str, Decimal] = defaultdict(Decimal)
        for ln in lines:
            per_journal[ln.journal_id] += ln.debit - ln.credit
        unbalanced = {j: v for j, v in per_journal.items() if v != 0}
        assert not unbalanced, f"{path.name}: unbalanced journals {unbalanced}"
        assert sum(ln.debit for ln in lines) == sum(ln.credit for ln in lines), path.name


def net_by_account(paths: list[Path]) -> dict[str, Decimal]:
    net: dict[str, Decimal] = defaultdict(Decimal)
    for path in paths:
        if path.suffix == ".zip":
            continue  # the Oracle upload zip repeats its CSV
        for ln in parse_file(path):
            net[ln.account_id] += ln.debit - ln.credit
    return {k: v for k, v in net.items() if v != 0}


def mart_net_by_account(path: Path) -> dict[str, Decimal]:
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(
            "select account_id, sum(debit_amount - credit_amount) from marts.mart_erp_journal_lines group by 1"
        ).fetchall()
    return {a: D(v) for a, v in rows if v != 0}
