"""The posting ledger: exactly-once re-runs, reversal + replacement on a late change,
closed periods never written to, and clear failures on journals that cannot be posted."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from test_erp_support import (
    D,
    Day,
    accrual_rows,
    assert_balanced,
    daily_rows,
    ledger_rows,
    make_warehouse,
    mart_net_by_account,
    net_by_account,
    parse_file,
    replace_mart,
    set_period_status,
    snapshot,
    standard_days,
    standard_rows,
)

from careledger.publish.erp import TARGETS, publish_erp
from careledger.publish.posting import (
    AccountingPeriod,
    LedgerEntry,
    PeriodCalendar,
    PostingError,
    UnbalancedJournalError,
    load_source_journals,
    plan_postings,
)


@pytest.fixture
def wh(tmp_path: Path) -> Path:
    return make_warehouse(tmp_path / "warehouse.duckdb")


def changed_rows() -> list[tuple]:
    """The standard mart with a late remit on F100 2025-02-03 cardiology (+100.00 paid)."""
    days = standard_days()
    days[0] = Day(
        "F100",
        date(2025, 2, 3),
        "cardiology",
        D("1300.10"),
        D("300.05"),
        D("50.00"),
        D("20.00"),
        claims=("C00000001", "C00000002", "C00000099"),
    )
    return daily_rows(days) + accrual_rows("F100", date(2025, 2, 28), {"4010": D("5000.00"), "4080": D("1234.56")})


def test_first_run_posts_every_journal_once(wh: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = publish_erp(wh, "json", out)
    rows = ledger_rows(wh, "json")
    assert result.journals == 5 and result.new_ledger_rows == 5 == len(rows)
    assert result.reversals == 0 and result.replacements == 0
    assert result.debit_total == result.credit_total
    assert {r["posting_type"] for r in rows} == {"original"} and {r["status"] for r in rows} == {"posted"}
    assert [p.parent.name for p in result.files] == ["json"]
    assert_balanced(result.files)
    assert net_by_account(result.files) == mart_net_by_account(wh)


@pytest.mark.parametrize("target", TARGETS)
def test_three_runs_in_a_row_write_nothing_new(wh: Path, tmp_path: Path, target: str) -> None:
    out = tmp_path / "out"
    first = publish_erp(wh, target, out)
    assert first.files and first.new_ledger_rows == 5
    before = snapshot(out)
    ledger_before = ledger_rows(wh, target)
    for _ in range(2):
        again = publish_erp(wh, target, out)
        assert again.files == [] and again.new_ledger_rows == 0 and again.journals == 0
        assert again.unchanged_journals == 5
    assert snapshot(out) == before  # byte-identical, nothing added
    assert ledger_rows(wh, target) == ledger_before


def test_same_inputs_give_byte_identical_files(tmp_path: Path) -> None:
    outs = []
    for i in range(3):
        wh = make_warehouse(tmp_path / f"w{i}.duckdb")
        out = tmp_path / f"out{i}"
        for target in TARGETS:
            publish_erp(wh, target, out)
        outs.append(snapshot(out))
    assert outs[0] == outs[1] == outs[2]
    assert {name.split("/")[0] for name in outs[0]} == set(TARGETS)


def test_late_change_reverses_and_replaces_never_rewrites(wh: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = publish_erp(wh, "json", out)
    files_before = snapshot(out)
    replace_mart(wh, changed_rows())

    second = publish_erp(wh, "json", out)
    assert second.journals == 2 and second.reversals == 1 and second.replacements == 1
    assert second.new_ledger_rows == 2
    rows = {r["journal_id"]: r for r in ledger_rows(wh, "json")}
    reversal = next(r for r in rows.values() if r["posting_type"] == "reversal")
    replacement = next(r for r in rows.values() if r["posting_type"] == "replacement")
    original = rows[reversal["reverses_journal_id"]]
    assert original["posting_type"] == "original" and original["status"] == "reversed"
    assert replacement["original_journal_id"] == original["journal_id"] == reversal["original_journal_id"]
    assert original["journal_key"] == reversal["journal_key"] == replacement["journal_key"]
    assert reversal["debit_total"] == original["debit_total"]
    assert replacement["debit_total"] == original["debit_total"] + Decimal("100.00")
    # period still open: the reversal sits on the original's date and period
    assert reversal["accounting_date"] == original["accounting_date"] == date(2025, 2, 3)
    assert reversal["period_id"] == "2025-02"

    # never a rewrite: every first-run file is still there, byte for byte; a new file was added
    after = snapshot(out)
    assert all(after[name] == content for name, content in files_before.items())
    assert len(after) == len(files_before) + 1
    new_file = [p for p in second.files]
    assert_balanced(new_file)
    lines = parse_file(new_file[0])
    rev = [ln for ln in lines if ln.journal_id == reversal["journal_id"]]
    orig = [ln for ln in parse_file(first.files[0]) if ln.journal_id == original["journal_id"]]
    assert sorted((ln.account_id, ln.credit, ln.debit) for ln in rev) == sorted(
        (ln.account_id, ln.debit, ln.credit) for ln in orig
    )

    # what the ERP holds in total (original + reversal + replacement) equals the mart now
    all_files = [out / name for name in after]
    assert net_by_account(all_files) == mart_net_by_account(wh)

    # and a further re-run is quiet again
    third = publish_erp(wh, "json", out)
    assert third.new_ledger_rows == 0 and third.files == []


def test_reworded_description_or_rerun_ids_are_not_a_change(wh: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    publish_erp(wh, "json", out)
    reworded = [r[:15] + (f"{r[15]} (reworded)",) + r[16:20] + ("another-run-id",) for r in standard_rows()]
    replace_mart(wh, reworded)
    assert publish_erp(wh, "json", out).new_ledger_rows == 0


def test_change_in_closed_period_goes_to_next_open_period(wh: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    publish_erp(wh, "oracle", out)
    set_period_status(wh, "2025-02", "closed")  # the February close happens after posting
    replace_mart(wh, changed_rows())

    second = publish_erp(wh, "oracle", out)
    assert second.reversals == 1 and second.replacements == 1
    new_rows = [r for r in ledger_rows(wh, "oracle") if r["posting_type"] != "original"]
    assert {(r["accounting_date"], r["period_id"]) for r in new_rows} == {(date(2025, 3, 1), "2025-03")}
    lines = parse_file(second.files[0])
    assert {ln.period_id for ln in lines} == {"2025-03"}
    assert {ln.accounting_date for ln in lines} == {"2025-03-01"}
    assert_balanced(second.files)


def test_first_posting_of_a_closed_period_date_goes_to_next_open_period(wh: Path, tmp_path: Path) -> None:
    result = publish_erp(wh, "json", tmp_path / "out", date_from=date(2025, 1, 30), date_to=date(2025, 1, 30))
    assert result.journals == 1
    (row,) = ledger_rows(wh, "json")
    assert row["posting_date"] == date(2025, 1, 30)  # identity kept
    assert (row["accounting_date"], row["period_id"], row["source_period_id"]) == (
        date(2025, 2, 1),
        "2025-02",
        "2025-01",
    )


def test_journal_gone_from_mart_is_reversed_only(wh: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    publish_erp(wh, "netsuite", out)
    rows = [r for r in standard_rows() if not (r[5] == "F100" and r[6] == date(2025, 2, 4))]
    replace_mart(wh, rows)
    result = publish_erp(wh, "netsuite", out)
    assert result.journals == 1 and result.reversals == 1 and result.replacements == 0
    assert_balanced(result.files)
    all_files = sorted((out / "netsuite").iterdir())
    assert net_by_account(all_files) == mart_net_by_account(wh)


def test_date_window_posts_only_that_window(wh: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    one_day = publish_erp(wh, "d365", out, date_from=date(2025, 2, 3), date_to=date(2025, 2, 3))
    assert one_day.journals == 2  # F100 and F200 on 2025-02-03
    assert all("20250203_20250203" in p.name for p in one_day.files)
    rest = publish_erp(wh, "d365", out)
    assert rest.journals == 3 and rest.new_ledger_rows == 3
    # a window that excludes a posted journal never reverses it
    replace_mart(wh, [r for r in standard_rows() if r[6] != date(2025, 2, 3)])
    quiet = publish_erp(wh, "d365", out, date_from=date(2025, 2, 4), date_to=date(2025, 2, 28))
    assert quiet.new_ledger_rows == 0


def test_unbalanced_mart_journal_fails_naming_it_and_writes_nothing(wh: Path, tmp_path: Path) -> None:
    rows = standard_rows()
    bad = list(rows[0])
    bad[12] = bad[12] + Decimal("0.01")  # one cent off
    rows[0] = tuple(bad)
    replace_mart(wh, rows)
    out = tmp_path / "out"
    with pytest.raises(UnbalancedJournalError, match=r"LE01/F100 2025-02-03.*0\.01|does not balance"):
        publish_erp(wh, "oracle", out)
    assert not out.exists()
    assert ledger_rows(wh) == []


def test_patient_identifier_in_source_refs_is_refused(wh: Path, tmp_path: Path) -> None:
    rows = standard_rows()
    bad = list(rows[0])
    bad[17] = "PCN0000000123"
    rows[0] = tuple(bad)
    replace_mart(wh, rows)
    with pytest.raises(PostingError, match="patient identifier"):
        publish_erp(wh, "json", tmp_path / "out")


def _held(wh: Path) -> list[tuple]:
    with duckdb.connect(str(wh), read_only=True) as con:
        return con.execute(
            "select target, journal_label, reason_code, message, debit_total from publish.held_journals order by 2"
        ).fetchall()


def test_no_open_period_left_holds_those_journals_with_a_clear_message(wh: Path, tmp_path: Path) -> None:
    for pid in ("2025-02", "2025-03"):
        set_period_status(wh, pid, "closed")
    result = publish_erp(wh, "json", tmp_path / "out")
    assert result.held_journals == len(_held(wh)) > 0 and result.journals == 0 and not result.files
    assert all(
        reason == "NO_ACCOUNTING_PERIOD" and "no later period is open" in msg for _, _, reason, msg, _ in _held(wh)
    )


def test_journal_without_period_is_held_and_the_others_are_written(tmp_path: Path) -> None:
    """One journal outside the loaded periods: it gets an exception row naming it, the rest post."""
    wh = make_warehouse(
        tmp_path / "w.duckdb",
        rows=standard_rows() + daily_rows([Day("F100", date(2026, 7, 1), "cardiology", D(10), D(1), D(0), D(0))]),
    )
    with duckdb.connect(str(wh), read_only=True) as con:
        total = len(load_source_journals(con))
    result = publish_erp(wh, "json", tmp_path / "out")
    assert result.held_journals == 1 and result.journals == total - 1 and result.files
    assert_balanced(result.files)
    ((target, label, reason, message, debit),) = _held(wh)
    assert (target, reason) == ("json", "NO_ACCOUNTING_PERIOD")
    assert "2026-07-01" in label and "F100" in label
    assert "no accounting period covers 2026-07-01" in message and label in message
    assert debit > 0
    assert "held back" in result.summary()
    # the period is loaded later: the journal posts, its exception row goes away
    with duckdb.connect(str(wh)) as con:
        con.execute(
            "insert into core.dim_accounting_period values ('2026-07', date '2026-07-01', date '2026-07-31', 2026, 7, 'open')"
        )
    again = publish_erp(wh, "json", tmp_path / "out")
    assert again.held_journals == 0 and again.journals == 1 and _held(wh) == []


def test_negative_and_zero_lines_are_netted(tmp_path: Path) -> None:
    """A day of reversals (CLP02=22) gives negative amounts: they post as the other side."""
    wh = make_warehouse(
        tmp_path / "w.duckdb",
        rows=daily_rows(
            [
                Day("F100", date(2025, 2, 10), "cardiology", D("-40.00"), D("0.00"), D("-5.00"), D("0.00")),
            ]
        ),
    )
    with duckdb.connect(str(wh), read_only=True) as con:
        (journal,) = load_source_journals(con)
    assert [(ln.account_id, ln.debit_amount, ln.credit_amount) for ln in journal.lines] == [
        ("1010", D(0), D("40.00")),
        ("1200", D("40.00"), D(0)),
        ("4910", D(0), D("5.00")),
        ("1200", D("5.00"), D(0)),
    ]
    result = publish_erp(wh, "netsuite", tmp_path / "out")
    assert_balanced(result.files)


def test_unmapped_facility_is_held_back_until_mapped(wh: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    unmapped_day = Day("UNMAPPED", date(2025, 2, 5), "cardiology", D("70.00"), D("7.00"), D("0"), D("0"))
    replace_mart(wh, standard_rows() + daily_rows([unmapped_day]))
    first = publish_erp(wh, "oracle", out)
    assert first.held_journals == 1 and first.journals == 5
    assert "1 held back" in first.summary()
    assert all(r["facility_id"] != "UNMAPPED" for r in ledger_rows(wh))
    # the crosswalk is fixed: the same money now sits on F200 and posts on the next run
    replace_mart(wh, standard_rows() + daily_rows([replace(unmapped_day, facility_id="F200")]))
    second = publish_erp(wh, "oracle", out)
    assert second.held_journals == 0 and second.journals == 1 and second.reversals == 0


def test_plan_is_pure_and_orders_reversal_before_replacement(tmp_path: Path) -> None:
    wh = make_warehouse(tmp_path / "w.duckdb", rows=changed_rows())
    with duckdb.connect(str(wh), read_only=True) as con:
        journals = load_source_journals(con)
    cal = PeriodCalendar(
        [
            AccountingPeriod("2025-01", date(2025, 1, 1), date(2025, 1, 31), "closed"),
            AccountingPeriod("2025-02", date(2025, 2, 1), date(2025, 2, 28), "open"),
        ]
    )
    assert cal.placement(date(2025, 1, 30), "x") == (date(2025, 2, 1), cal.by_id("2025-02"))
    first = plan_postings("json", journals, {}, {}, cal)
    assert plan_postings("json", journals, {}, {}, cal) == first  # pure: same in, same out
    assert [p.posting_seq for p in first] == [1] * len(journals)
    posted = first[1]
    entry = LedgerEntry(
        target="json",
        journal_key=posted.journal_key,
        posting_seq=1,
        journal_id=posted.journal_id,
        posting_type="original",
        status="posted",
        content_hash=posted.content_hash,
        source_content_hash="an older version",
        journal_source=posted.journal_source,
        legal_entity_id=posted.legal_entity_id,
        facility_id=posted.facility_id,
        posting_date=posted.posting_date,
        accounting_date=posted.accounting_date,
        period_id=posted.period_id,
        currency_code="USD",
        lines=posted.lines,
    )
    plan = plan_postings("json", journals, {entry.journal_key: entry}, {entry.journal_key: 1}, cal)
    mine = [p for p in plan if p.journal_key == entry.journal_key]
    assert [(p.posting_type, p.posting_seq) for p in mine] == [("reversal", 2), ("replacement", 3)]
    assert mine[0].reverses_journal_id == mine[1].original_journal_id == entry.journal_id
    assert mine[0].debit_total == posted.debit_total
