"""Pre-validation: what each ERP would reject, checked before a file or payload leaves.

A journal that fails a rule is stopped on its own, with one clear sentence and an exception
row in ``publish.held_journals`` (reason code = the rule); the other journals go. The rules carry the codes of Oracle
Journal Import's errors, which the other ERPs reject for the same reasons:

| rule | checks |
|---|---|
| EP01 | the accounting date lies in a period of the ERP's calendar, that period is open, and it is the journal's period |
| EU02 | debits = credits to the cent, per journal and currency; every line one positive side |
| EF03 | every account is in the ERP's chart of accounts (``core.dim_gl_account``) and allows posting |
| EF04 | the account combination passes the cross-validation rules (``seeds/erp_cross_validation_rules.csv``) |
| EF05 | legal entity, facility and account segments are present |
| EC08 | the currency is an ISO 4217 code that a legal entity of the ERP keeps its ledger in |
| D365_DIM | the D365 financial dimension format (no delimiter inside a value, lengths) |
| SAP_LEN | SAP field lengths (company code 4, reference 16, GL account / cost center / profit center / segment 10) |

Pure functions apart from :func:`load_rules` (reads the warehouse) and
:func:`record_exceptions` (writes the ledger schema).
"""

from __future__ import annotations

import csv
import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from careledger.config import SEEDS_DIR
from careledger.publish.posting import LEDGER_SCHEMA, ZERO, PeriodCalendar, PostingError, PostingJournal

log = logging.getLogger(__name__)

ACCOUNTS_RELATION = "core.dim_gl_account"
FACILITIES_RELATION = "core.dim_facility"
CROSS_VALIDATION_SEED = SEEDS_DIR / "erp_cross_validation_rules.csv"
_CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True)
class CrossValidationRule:
    rule_id: str
    account_from: str
    account_to: str
    segment: str  # cost_center | service_line
    requirement: str  # required | forbidden
    description: str

    def violated_by(self, account_id: str, cost_center_id: str | None, service_line_code: str | None) -> bool:
        if not (self.account_from <= account_id <= self.account_to):
            return False
        present = bool(cost_center_id if self.segment == "cost_center" else service_line_code)
        return present != (self.requirement == "required")


@dataclass(frozen=True)
class ErpRules:
    """What the ERP accepts: its calendar, chart of accounts, cross-validation rules, currencies."""

    calendar: PeriodCalendar
    accounts: Mapping[str, bool]  # account_id -> allows posting
    cross_validation: tuple[CrossValidationRule, ...]
    currencies: frozenset[str]


@dataclass(frozen=True)
class Rejection:
    journal: PostingJournal
    rule: str
    message: str

    def sentence(self) -> str:
        j = self.journal
        return (
            f"{j.target}: journal {j.journal_id} ({j.journal_source} {j.legal_entity_id}/{j.facility_id} "
            f"{j.posting_date.isoformat()}) stopped, {self.rule}: {self.message}"
        )


def load_cross_validation_rules(path: Path = CROSS_VALIDATION_SEED) -> tuple[CrossValidationRule, ...]:
    with path.open(newline="", encoding="utf-8") as fh:
        return tuple(
            CrossValidationRule(
                r["rule_id"], r["account_from"], r["account_to"], r["segment"], r["requirement"], r["description"]
            )
            for r in csv.DictReader(fh)
        )


def load_rules(con: duckdb.DuckDBPyConnection, calendar: PeriodCalendar) -> ErpRules:
    """The ERP's chart of accounts and ledger currencies from the conformed dimensions."""
    try:
        accounts = dict(
            con.execute(
                f"select cast(account_id as varchar), coalesce(is_posting, false) from {ACCOUNTS_RELATION} "
                "where not is_unmapped"
            ).fetchall()
        )
        currencies = frozenset(
            r[0]
            for r in con.execute(
                f"select distinct cast(currency_code as varchar) from {FACILITIES_RELATION} where not is_unmapped"
            ).fetchall()
            if r[0]
        )
    except duckdb.CatalogException as exc:
        raise PostingError(
            f"cannot read the chart of accounts ({ACCOUNTS_RELATION}) or facilities ({FACILITIES_RELATION}): {exc}. "
            "Build the marts first (`careledger refresh`)."
        ) from exc
    return ErpRules(calendar, accounts, load_cross_validation_rules(), currencies)


def check_journal(j: PostingJournal, rules: ErpRules) -> list[tuple[str, str]]:
    """(rule, message) for everything the ERP would reject on ``j``; empty when it may go."""
    found: list[tuple[str, str]] = []
    # EF05: the segments every ERP needs to build an account combination
    for name, value in (("legal entity", j.legal_entity_id), ("facility", j.facility_id)):
        if not value:
            found.append(("EF05", f"the {name} segment is empty"))
    # EP01: an open period of the ERP's calendar that holds the accounting date
    period = rules.calendar.period_for(j.accounting_date)
    if period is None:
        found.append(("EP01", f"no period of the ERP's calendar covers {j.accounting_date.isoformat()}"))
    elif not period.is_open:
        found.append(
            (
                "EP01",
                f"period {period.period_id} is {period.status} in the ERP; reopen it or re-plan into an open period",
            )
        )
    elif period.period_id != j.period_id:
        found.append(("EP01", f"accounting date {j.accounting_date} lies in {period.period_id}, not in {j.period_id}"))
    # EU02: balanced per journal and currency, one positive side per line
    by_currency: dict[str, list] = defaultdict(lambda: [ZERO, ZERO])
    for ln in j.lines:
        if (ln.debit_amount == 0) == (ln.credit_amount == 0) or ln.debit_amount < 0 or ln.credit_amount < 0:
            found.append(("EU02", f"line {ln.line_number} must carry exactly one positive amount"))
        by_currency[j.currency_code][0] += ln.debit_amount
        by_currency[j.currency_code][1] += ln.credit_amount
    if not j.lines:
        found.append(("EU02", "the journal has no lines"))
    for currency, (dr, cr) in sorted(by_currency.items()):
        if dr != cr:
            found.append(("EU02", f"debits {dr:.2f} != credits {cr:.2f} in {currency}"))
    # EC08: currency
    if not _CURRENCY.match(j.currency_code or ""):
        found.append(("EC08", f"currency {j.currency_code!r} is not an ISO 4217 code"))
    elif j.currency_code not in rules.currencies:
        found.append(
            (
                "EC08",
                f"currency {j.currency_code} is not a ledger currency of the ERP ({', '.join(sorted(rules.currencies))})",
            )
        )
    # EF03 / EF04 / EF05: account combinations
    for ln in j.lines:
        if not ln.account_id:
            found.append(("EF05", f"line {ln.line_number} has no account"))
            continue
        posting = rules.accounts.get(ln.account_id)
        if posting is None:
            found.append(
                ("EF03", f"line {ln.line_number}: account {ln.account_id} is not in the ERP's chart of accounts")
            )
        elif not posting:
            found.append(("EF03", f"line {ln.line_number}: account {ln.account_id} does not allow posting"))
        for rule in rules.cross_validation:
            if rule.violated_by(ln.account_id, ln.cost_center_id, ln.service_line_code):
                found.append(
                    (
                        "EF04",
                        f"line {ln.line_number}: account {ln.account_id} breaks cross-validation rule {rule.rule_id} "
                        f"({rule.segment} {rule.requirement}: {rule.description})",
                    )
                )
    return found


def prevalidate(
    journals: Sequence[PostingJournal], rules: ErpRules, adapter: object | None = None
) -> tuple[list[PostingJournal], list[Rejection]]:
    """(journals that may go, rejections). Every posting of a journal key stops together (a
    reversal never leaves without its replacement). An adapter with ``problems(journal)``
    adds its ERP's own format rules under its ``prevalidation_rule`` code."""
    rejected: dict[str, list[Rejection]] = defaultdict(list)
    adapter_problems = getattr(adapter, "problems", None)
    adapter_rule = getattr(adapter, "prevalidation_rule", "FORMAT")
    for j in journals:
        problems = check_journal(j, rules)
        if adapter_problems is not None:
            problems += [(adapter_rule, f"{name}: {problem}") for name, problem in adapter_problems(j)]
        for rule, message in problems:
            rejected[j.journal_key].append(Rejection(j, rule, message))
    passed, stopped = [], []
    for j in journals:
        if j.journal_key not in rejected:
            passed.append(j)
            continue
        own = [r for r in rejected[j.journal_key] if r.journal.journal_id == j.journal_id]
        if own:
            stopped.extend(own)
        else:
            first = rejected[j.journal_key][0]
            stopped.append(Rejection(j, first.rule, f"held with {first.journal.journal_id}: {first.message}"))
    for r in stopped:
        log.warning(r.sentence())
    return passed, stopped


def record_exceptions(
    con: duckdb.DuckDBPyConnection,
    rejections: Iterable[Rejection],
    *,
    held_at: datetime | None = None,
) -> int:
    """One exception row per stopped journal in ``publish.held_journals`` (reason code = its
    first rule, message = every problem found), beside the journals publish holds for want of
    a mapping or a period. Returns the number of journals stopped."""
    stamp = (held_at or datetime.now(UTC)).replace(tzinfo=None)
    by_key: dict[str, list[Rejection]] = defaultdict(list)
    for r in rejections:
        by_key[r.journal.journal_key].append(r)
    rows = []
    for key, group in sorted(by_key.items()):
        j = group[0].journal
        rows.append(
            (
                j.target,
                key,
                f"{j.journal_source} {j.legal_entity_id}/{j.facility_id} {j.posting_date.isoformat()}",
                j.journal_source,
                j.legal_entity_id,
                j.facility_id,
                j.posting_date,
                group[0].rule,
                "; ".join(f"{r.journal.journal_id} {r.rule}: {r.message}" for r in group),
                len(j.lines),
                j.debit_total,
                j.credit_total,
                stamp,
            )
        )
    if rows:
        con.executemany(f"insert or replace into {LEDGER_SCHEMA}.held_journals values ({', '.join(['?'] * 13)})", rows)
    return len(rows)
