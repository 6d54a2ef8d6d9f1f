"""BAI2 (Cash Management Balance Reporting Specification, version 2) prior-day bank files.

A BAI2 file is comma-separated records, each ending with ``/`` (except a 16 or 88 record
whose last field is free text, which ends at the end of the record)::

    01 file header     01,sender,receiver,creation date YYMMDD,time,file id,record length,block size,2/
    02 group header    02,ultimate receiver,originator,group status,as-of date YYMMDD,as-of time,currency,as-of modifier/
    03 account         03,account number,currency,(type code,amount,item count,funds type)...
    16 detail          16,type code,amount,funds type[,funds detail],bank reference,customer reference,text
    88 continuation    88,continues the previous record
    49 account trailer 49,account control total,number of records/
    98 group trailer   98,group control total,number of accounts,number of records/
    99 file trailer    99,file control total,number of groups,number of records/

Amounts are in the currency's minor unit without a decimal point (``12345`` = 123.45).
Funds type ``0``/``1``/``2``/``Z`` carry no detail, ``V`` two fields (value date, time),
``S`` three (immediate, one-day, two-or-more-day amounts), ``D`` a count and that many
(days, amount) pairs.

Records: one record is one 16 detail (its 1-based physical line in the file, with the 88
lines that continue it). A detail that cannot be understood (non-numeric amount or type
code, an amount over ``MAX_CENTS``, no 03 account before it) is quarantined; the rest of the file lands in
``raw_bank.bai2_transactions``. Control totals and record counts that do not match the
records (a truncated or hand-edited file), a missing trailer and unknown record codes are
findings, never a reason to lose the deposits that are there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

import polars as pl

from careledger.ingest.landing import LoadContext, LoadCounts, decode_text, record_hash

TABLE = "raw_bank.bai2_transactions"
_DIGITS = re.compile(r"^[+-]?\d+$")
#: the detail type codes whose amount is a credit (BAI2 codes 100-399 are credits)
CREDIT_RANGE = (100, 399)


@dataclass
class _Account:
    line_no: int
    account_number: str
    currency_code: str | None
    records: int = 1
    control: int = 0


@dataclass
class _State:
    file_id: str | None = None
    sender_id: str | None = None
    receiver_id: str | None = None
    file_created: date | None = None
    as_of_date: date | None = None
    group_currency: str | None = None
    account: _Account | None = None
    group_total: int = 0
    group_accounts: int = 0
    group_records: int = 0
    file_total: int = 0
    file_groups: int = 0
    rows: list[dict] = field(default_factory=list)


#: the largest detail amount in cents that raw_bank.bai2_transactions.amount (decimal(18, 2)) holds;
#: a larger one is quarantined (it made the whole file fail before: tests/unit/ingest/test_fuzz_parsers.py)
MAX_CENTS = 10**18 - 1


def _date6(text: str) -> date | None:
    try:
        return datetime.strptime(text.strip(), "%y%m%d").date()
    except ValueError:
        return None


def _int(text: str) -> int | None:
    t = text.strip()
    return int(t) if _DIGITS.match(t) else None


def _logical_records(text: str) -> list[tuple[int, str, str, int]]:
    """(first physical line, record code, record text, physical records), 88s joined on."""
    out: list[tuple[int, str, str, int]] = []
    for no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        code, _, rest = line.partition(",")
        if code == "88" and out:
            first, prev_code, prev, n = out[-1]
            out[-1] = (first, prev_code, f"{prev.removesuffix('/')},{rest}", n + 1)
            continue
        out.append((no, code, line, 1))
    return out


def _fields(record: str, *, free_text: bool) -> list[str]:
    if not free_text:
        return record.rstrip().removesuffix("/").split(",")
    return record.split(",")


def _split_detail(parts: list[str]) -> tuple[str, str, str, list[str], str, str, str] | None:
    """16 fields: type, amount, funds type, funds detail, bank ref, customer ref, text."""
    if len(parts) < 4:
        return None
    type_code, amount, funds = parts[1], parts[2], parts[3].strip().upper()
    i = 4
    detail: list[str] = []
    if funds == "V":
        detail, i = parts[4:6], 6
    elif funds == "S":
        detail, i = parts[4:7], 7
    elif funds == "D":
        n = _int(parts[4]) if len(parts) > 4 else None
        if n is None:
            return None
        detail, i = parts[4 : 5 + 2 * n], 5 + 2 * n
    bank_ref = parts[i] if len(parts) > i else ""
    cust_ref = parts[i + 1] if len(parts) > i + 1 else ""
    text = ",".join(parts[i + 2 :]) if len(parts) > i + 2 else ""
    return type_code, amount, funds, detail, bank_ref, cust_ref, text.rstrip("/").rstrip()


def load(ctx: LoadContext) -> LoadCounts:
    text, findings = decode_text(ctx.path.read_bytes(), ctx.path.name)
    ctx.findings.extend(findings)
    name = ctx.path.name
    st = _State()
    read = 0
    seen_99 = False
    records = _logical_records(text)
    if not records or records[0][1] != "01":
        ctx.finding(0, "warning", "BAI2_NO_FILE_HEADER", f"{name}: the file does not start with an 01 record", "01")
    file_records = 0
    for line_no, code, record, n_phys in records:
        file_records += n_phys
        if code == "01":
            p = _fields(record, free_text=False)
            st.sender_id = p[1] if len(p) > 1 else None
            st.receiver_id = p[2] if len(p) > 2 else None
            st.file_created = _date6(p[3]) if len(p) > 3 else None
            st.file_id = p[5] if len(p) > 5 else None
        elif code == "02":
            p = _fields(record, free_text=False)
            st.as_of_date = _date6(p[4]) if len(p) > 4 else None
            st.group_currency = (p[6] or None) if len(p) > 6 else None
            if st.as_of_date is None:
                ctx.finding(line_no, "warning", "BAI2_BAD_DATE", f"{name} line {line_no}: 02 as-of date is not YYMMDD")
            st.group_total = st.group_accounts = 0
            st.group_records = 1
        elif code == "03":
            p = _fields(record, free_text=False)
            st.account = _Account(
                line_no, p[1].strip() if len(p) > 1 else "", (p[2] or None) if len(p) > 2 else None, n_phys
            )
            st.group_records += n_phys
            # summary amounts: (type, amount, count, funds type) quadruples after the currency
            for j in range(3, len(p) - 1, 4):
                amt = _int(p[j + 1]) if p[j + 1].strip() else 0
                st.account.control += amt or 0
        elif code == "16":
            read += 1
            st.group_records += n_phys
            parts = _fields(record, free_text=True)
            split = _split_detail(parts)
            if st.account is None:
                ctx.quarantine(
                    read, "BAI2_NO_ACCOUNT", f"{name} line {line_no}: 16 detail before any 03 account", record
                )
                continue
            st.account.records += n_phys
            if split is None:
                ctx.quarantine(read, "BAI2_BAD_DETAIL", f"{name} line {line_no}: 16 detail has too few fields", record)
                continue
            type_code, amount, funds, _detail, bank_ref, cust_ref, free = split
            cents = _int(amount)
            if cents is None or _int(type_code) is None:
                ctx.quarantine(
                    read,
                    "BAI2_BAD_AMOUNT" if cents is None else "BAI2_BAD_TYPE_CODE",
                    f"{name} line {line_no}: 16 detail type {type_code!r} amount {amount!r} is not a number",
                    record,
                )
                continue
            if cents > MAX_CENTS:
                ctx.quarantine(
                    read,
                    "BAI2_AMOUNT_TOO_LARGE",
                    f"{name} line {line_no}: 16 detail amount {amount!r} (in cents) is over "
                    f"{Decimal(MAX_CENTS).scaleb(-2):,}, the largest amount the warehouse holds (decimal(18, 2))",
                    record,
                )
                continue
            st.account.control += cents
            tc = int(type_code)
            st.rows.append(
                {
                    "file_id": st.file_id,
                    "sender_id": st.sender_id,
                    "receiver_id": st.receiver_id,
                    "file_creation_date": st.file_created,
                    "as_of_date": st.as_of_date,
                    "account_number": st.account.account_number,
                    "currency_code": st.account.currency_code or st.group_currency,
                    "type_code": type_code.strip().zfill(3),
                    "is_credit": CREDIT_RANGE[0] <= tc <= CREDIT_RANGE[1],
                    "amount": Decimal(cents).scaleb(-2),
                    "funds_type": funds or None,
                    "bank_reference": bank_ref.strip() or None,
                    "customer_reference": cust_ref.strip() or None,
                    "detail_text": free or None,
                    "_source_record": read,
                    "_record_hash": record_hash(record),
                }
            )
        elif code == "49":
            p = _fields(record, free_text=False)
            st.group_records += 1
            if st.account is not None:
                st.account.records += 1
                total, count = (_int(p[1]) if len(p) > 1 else None), (_int(p[2]) if len(p) > 2 else None)
                if total != st.account.control:
                    ctx.finding(
                        line_no,
                        "warning",
                        "BAI2_CONTROL_TOTAL",
                        f"{name} line {line_no}: account {st.account.account_number} control total {p[1] if len(p) > 1 else ''} "
                        f"but its records sum to {st.account.control}",
                        "49",
                    )
                if count != st.account.records:
                    ctx.finding(
                        line_no,
                        "warning",
                        "BAI2_RECORD_COUNT",
                        f"{name} line {line_no}: account {st.account.account_number} says {p[2] if len(p) > 2 else ''} "
                        f"records, found {st.account.records}",
                        "49",
                    )
                st.group_total += st.account.control
                st.group_accounts += 1
            st.account = None
        elif code == "98":
            p = _fields(record, free_text=False)
            st.group_records += 1
            if len(p) > 1 and _int(p[1]) != st.group_total:
                ctx.finding(
                    line_no,
                    "warning",
                    "BAI2_CONTROL_TOTAL",
                    f"{name} line {line_no}: group control total {p[1]} but its accounts sum to {st.group_total}",
                    "98",
                )
            if len(p) > 3 and _int(p[3]) != st.group_records:
                ctx.finding(
                    line_no,
                    "warning",
                    "BAI2_RECORD_COUNT",
                    f"{name} line {line_no}: group says {p[3]} records, found {st.group_records}",
                    "98",
                )
            st.file_total += st.group_total
            st.file_groups += 1
        elif code == "99":
            seen_99 = True
            p = _fields(record, free_text=False)
            if len(p) > 1 and _int(p[1]) != st.file_total:
                ctx.finding(
                    line_no,
                    "warning",
                    "BAI2_CONTROL_TOTAL",
                    f"{name} line {line_no}: file control total {p[1]} but its groups sum to {st.file_total}",
                    "99",
                )
            if len(p) > 3 and _int(p[3]) != file_records:
                ctx.finding(
                    line_no,
                    "warning",
                    "BAI2_RECORD_COUNT",
                    f"{name} line {line_no}: file says {p[3]} records, found {file_records}",
                    "99",
                )
        else:
            ctx.finding(
                line_no, "warning", "BAI2_UNKNOWN_RECORD", f"{name} line {line_no}: unknown record code {code!r}"
            )
    if not seen_99:
        ctx.finding(0, "warning", "BAI2_NO_FILE_TRAILER", f"{name}: no 99 file trailer (truncated file?)", "99")
    if st.rows:
        frame = pl.DataFrame(st.rows, schema_overrides={"amount": pl.Decimal(18, 2)}, infer_schema_length=None)
        ctx.insert_frame(TABLE, frame)
    return LoadCounts(records_read=read, records_accepted=len(st.rows))
