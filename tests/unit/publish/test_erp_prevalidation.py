"""Pre-validation: a closed period, an unbalanced journal, an invalid account combination or
currency each stop only their own journal, with an exception row; the rest go."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from test_erp_support import PERIODS, ledger_rows, make_warehouse, standard_rows

from careledger.publish.erp import publish_erp
from careledger.publish.posting import (
    AccountingPeriod,
    PeriodCalendar,
    load_period_calendar,
    load_source_journals,
    plan_postings,
)
from careledger.publish.prevalidation import check_journal, load_rules, prevalidate


@pytest.fixture
def wh(tmp_path: Path) -> Path:
    return make_warehouse(tmp_path / "w.duckdb")


def planned_and_rules(wh: Path, calendar: PeriodCalendar | None = None):
    with duckdb.connect(str(wh), read_only=True) as con:
        cal = load_period_calendar(con)
        planned = plan_postings("oracle", load_source_journals(con), {}, {}, cal)
        rules = load_rules(con, calendar or cal)
    return planned, rules


def exceptions(wh: Path) -> list[tuple]:
    with duckdb.connect(str(wh), read_only=True) as con:
        return con.execute(
            "select target, reason_code, message, facility_id, posting_date, debit_total "
            "from publish.held_journals order by journal_key"
        ).fetchall()


def test_clean_journals_all_pass(wh: Path) -> None:
    planned, rules = planned_and_rules(wh)
    passed, rejected = prevalidate(planned, rules)
    assert len(passed) == 5 and rejected == []


def test_a_period_closed_in_the_erp_stops_only_its_journals(wh: Path) -> None:
    # the ERP closed 2025-02 after careledger planned into it (e.g. between publish and delivery)
    closed = PeriodCalendar([AccountingPeriod(p, s, e, "closed" if p == "2025-02" else st) for p, s, e, st in PERIODS])
    planned, rules = planned_and_rules(wh, closed)
    in_march = replace(planned[0], accounting_date=date(2025, 3, 3), period_id="2025-03")
    passed, rejected = prevalidate([in_march, *planned[1:]], rules)
    assert [p.journal_id for p in passed] == [in_march.journal_id]
    assert {r.journal.journal_id for r in rejected} == {p.journal_id for p in planned[1:]}
    assert {r.rule for r in rejected} == {"EP01"}
    assert "period 2025-02 is closed in the ERP" in rejected[0].message


def test_an_unbalanced_journal_stops_alone(wh: Path) -> None:
    planned, rules = planned_and_rules(wh)
    j = planned[1]
    bumped = replace(
        j, lines=(replace(j.lines[0], debit_amount=j.lines[0].debit_amount + Decimal("0.01")), *j.lines[1:])
    )
    passed, rejected = prevalidate([planned[0], bumped, *planned[2:]], rules)
    assert [p.journal_id for p in passed] == [p.journal_id for p in planned if p is not j]
    assert {(r.journal.journal_id, r.rule) for r in rejected} == {(j.journal_id, "EU02")}
    assert "debits" in rejected[0].message and "in USD" in rejected[0].message


def test_invalid_account_combination_and_currency(wh: Path) -> None:
    planned, rules = planned_and_rules(wh)
    j = planned[0]
    unknown = replace(j, lines=(replace(j.lines[0], account_id="1999"), *j.lines[1:]))
    assert [r for r, _ in check_journal(unknown, rules)] == ["EF03"]
    header = replace(j, lines=(replace(j.lines[0], account_id="1000"), *j.lines[1:]))
    assert "does not allow posting" in check_journal(header, rules)[0][1]
    euro = replace(j, currency_code="EUR")
    assert [r for r, _ in check_journal(euro, rules)] == ["EC08"]
    no_service_line = replace(j, lines=tuple(replace(ln, service_line_code=None) for ln in j.lines))
    problems = check_journal(no_service_line, rules)
    assert {r for r, _ in problems} == {"EF04"} and "CV02" in problems[0][1]


def test_publish_posts_the_rest_and_records_an_exception_row(wh: Path, tmp_path: Path) -> None:
    rows = standard_rows()
    # the accrual's revenue line for account 4080 loses its service line: breaks CV01
    rows = [r[:11] + (None,) + r[12:] if r[9] == "4080" else r for r in rows]
    with duckdb.connect(str(wh)) as con:
        con.execute("delete from marts.mart_erp_journal_lines")
        con.executemany(f"insert into marts.mart_erp_journal_lines values ({', '.join(['?'] * 21)})", rows)
    result = publish_erp(wh, "d365", tmp_path / "out")
    assert result.journals == 4 and result.files
    (stopped,) = {r.journal.journal_id for r in result.rejections}
    assert result.held_journals == 1 and "1 of them stopped by pre-validation" in result.summary()
    assert stopped not in {r["journal_id"] for r in ledger_rows(wh, "d365")}
    (row,) = exceptions(wh)
    assert row[:2] == ("d365", "EF04") and row[2].startswith(f"{stopped} EF04: line ")
    assert row[3:5] == ("F100", date(2025, 2, 28)) and row[5] == Decimal("6234.56")
    # fixed at the source, it posts on the next run; nothing else is posted again
    with duckdb.connect(str(wh)) as con:
        con.execute("delete from marts.mart_erp_journal_lines")
        con.executemany(f"insert into marts.mart_erp_journal_lines values ({', '.join(['?'] * 21)})", standard_rows())
    again = publish_erp(wh, "d365", tmp_path / "out")
    assert again.journals == 1 and again.rejections == [] and exceptions(wh) == []


def test_d365_dimension_format_is_checked(wh: Path, tmp_path: Path) -> None:
    from careledger.publish.erp.d365 import D365Config, D365GeneralJournalAdapter

    result = publish_erp(
        wh, "d365", tmp_path / "out", adapter=D365GeneralJournalAdapter(D365Config(dimension_delimiter="-"))
    )
    # the accrual journal's cost center CC-F100-0001 contains '-'; the daily journals have none
    assert result.journals == 4
    assert {r.rule for r in result.rejections} == {"D365_DIM"}
    assert "contains the dimension delimiter '-'" in result.rejections[0].message
