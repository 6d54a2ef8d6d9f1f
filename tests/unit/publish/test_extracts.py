"""Finance extracts: tie-outs to the journals to the cent, XLSX/CSV contents, PHI-free.
Runs on the session's ``built_warehouse`` (simulator -> ingest -> dbt build)."""

from __future__ import annotations

import csv
import re
import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import openpyxl
import pytest

from careledger.publish.extracts import ExtractError, main, write_extract
from careledger.publish.serving import PHI_COLUMN_NAMES, publish_serving_snapshot

PHI_VALUE = re.compile(r"\b(MRN\d{8}|PCN\d{10}|P\d{7}|\d{3}-\d{2}-\d{4})\b")

#: The check a period with journals but no posting gets (the built warehouse posts nothing).
NOTHING_POSTED = "Posted to an ERP (nothing of the period is posted)"


def _breaks(result) -> dict[str, Decimal]:
    """The breaks other than 'nothing posted', which every unposted period has."""
    return {t.check: t.difference for t in result.tieouts if not t.tied and t.check != NOTHING_POSTED}


def _periods(warehouse: Path) -> list[str]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        sql = "select distinct strftime(posting_date, '%Y-%m') from marts.mart_erp_journal_lines order by 1"
        return [r[0] for r in con.execute(sql).fetchall()]
    finally:
        con.close()


@pytest.fixture(scope="module")
def periods(built_warehouse) -> list[str]:
    return _periods(built_warehouse.warehouse)


@pytest.fixture(scope="module")
def period(periods: list[str]) -> str:
    """A whole month of the simulated quarter (the second of three)."""
    assert len(periods) >= 2, periods
    return periods[1]


@pytest.fixture()
def warehouse(built_warehouse, tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(built_warehouse.warehouse, path)
    return path


def _journal(warehouse: Path, account: str, source: str, period: str) -> Decimal:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(
            """
            select sum(debit_amount) - sum(credit_amount) from marts.mart_erp_journal_lines
            where account_id = ? and journal_source = ? and strftime(posting_date, '%Y-%m') = ?
            """,
            [account, source, period],
        ).fetchone()[0]
    finally:
        con.close()


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_csv_extract_ties_to_journals_to_the_cent(warehouse: Path, tmp_path: Path, period: str) -> None:
    result = write_extract(warehouse, period, "csv", tmp_path / "out")

    folder = tmp_path / "out" / f"careledger_extract_{period}"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [
            "pnl_by_service_line.csv",
            "reimbursement_summary.csv",
            "denial_summary.csv",
            "journal_summary.csv",
            "ar_aging.csv",
            "ar_rollforward.csv",
            "cash_reconciliation.csv",
            "cash_exceptions.csv",
            "reconciliation_summary.csv",
            "held_journals.csv",
            "tieout.csv",
        ]
    )
    assert not _breaks(result) and len(result.tieouts) >= 8
    tie = _read_csv(folder / "tieout.csv")
    assert {r["status"] for r in tie if r["check"] != NOTHING_POSTED} == {"tied"}
    assert {r["difference"] for r in tie if r["check"] != NOTHING_POSTED} == {"0.00"}
    # nothing of the period is posted: the extract says so, as a break
    assert [r["status"] for r in tie if r["check"] == NOTHING_POSTED] == ["BREAK"]
    assert not result.all_tied

    # independent check: sum the CSV text as Decimal, compare with the journal lines
    reimb = _read_csv(folder / "reimbursement_summary.csv")
    pnl = _read_csv(folder / "pnl_by_service_line.csv")
    denials = _read_csv(folder / "denial_summary.csv")

    def total(rows: list[dict[str, str]], col: str) -> Decimal:
        return sum((Decimal(r[col]) for r in rows), Decimal("0.00"))

    assert total(reimb, "payment_amount") == _journal(warehouse, "1010", "daily_reimbursement", period)
    # at the 835 the contractual adjustment is the reserve released (1290) plus the true-up (4950)
    released = _journal(warehouse, "1290", "daily_reimbursement", period) or Decimal("0.00")
    true_up = _journal(warehouse, "4950", "daily_reimbursement", period) or Decimal("0.00")
    assert total(reimb, "contractual_adjustment_amount") == released + true_up
    assert total(reimb, "denial_amount") == _journal(warehouse, "4910", "daily_reimbursement", period)
    assert total(reimb, "patient_responsibility_amount") == _journal(warehouse, "1210", "daily_reimbursement", period)
    # gross charges accrue to payer A/R (1200), or to unbilled A/R (1250) while not final billed
    unbilled = _journal(warehouse, "1250", "month_end_accrual", period) or Decimal("0.00")
    assert total(pnl, "gross_charge_amount") == _journal(warehouse, "1200", "month_end_accrual", period) + unbilled
    assert total(denials, "net_denied_amount") == _journal(warehouse, "4910", "daily_reimbursement", period)
    # money is written with exactly two decimals, never float noise
    assert all(re.fullmatch(r"-?\d+\.\d{2}", r["payment_amount"]) for r in reimb)


def test_xlsx_workbook_shows_the_tie_out(warehouse: Path, tmp_path: Path, period: str) -> None:
    result = write_extract(warehouse, period, "xlsx", tmp_path)
    path = tmp_path / f"careledger_extract_{period}.xlsx"
    assert result.paths == [path]
    wb = openpyxl.load_workbook(path, data_only=True)  # cached values of the formulas
    assert wb.sheetnames == [
        "P&L by service line",
        "Reimbursement summary",
        "Denial summary",
        "Journal summary",
        "AR aging",
        "AR roll-forward",
        "Cash reconciliation",
        "Cash exceptions",
        "Reconciliation summary",
        "Held journals",
        "Tie-out",
    ]
    ws = wb["Tie-out"]
    header = [c.value for c in ws[4]]
    assert header[:8] == [
        "Check",
        "Sheet",
        "Measure",
        "Sheet total ($)",
        "Journal source",
        "Journal account",
        "Journal total ($)",
        "Difference ($)",
    ]
    data = [r for r in ws.iter_rows(min_row=5, values_only=True) if r[0] and r[8]]
    assert len(data) == len(result.tieouts)
    for row, tie in zip(data, result.tieouts):
        assert Decimal(str(row[3])).quantize(Decimal("0.01")) == tie.sheet_total
        assert Decimal(str(row[6])).quantize(Decimal("0.01")) == tie.journal_total
        assert row[8] == ("tied" if tie.tied else "BREAK")
        assert (row[7] == 0) == tie.tied
    assert "BREAK" in ws["A2"].value  # nothing of the period is posted yet
    # the tie-out's sheet totals are formulas on the sheets' named Total cells
    book = openpyxl.load_workbook(path)
    formulas = book["Tie-out"]
    assert formulas["D5"].value == "=total_pnl_by_service_line_gross_charge_amount"
    assert str(formulas["H5"].value).startswith("=ROUND(D5-G5")
    name = book.defined_names["total_pnl_by_service_line_gross_charge_amount"]
    assert name.attr_text.startswith("'P&L by service line'!$")
    # the Total row of the reimbursement sheet equals the posted cash
    reimb = wb["Reimbursement summary"]
    heads = [c.value for c in reimb[4]]
    total_row = next(r for r in reimb.iter_rows(min_row=5, values_only=True) if r[0] == "Total")
    paid = Decimal(str(total_row[heads.index("Payment ($)")])).quantize(Decimal("0.01"))
    assert paid == _journal(warehouse, "1010", "daily_reimbursement", period)


AGING = (
    "ar_0_30_amount",
    "ar_31_60_amount",
    "ar_61_90_amount",
    "ar_91_120_amount",
    "ar_121_180_amount",
    "ar_over_180_amount",
    "ar_unbilled_amount",
    "gross_balance_amount",
    "reserve_balance_amount",
    "net_balance_amount",
)


def _dec(v: str) -> Decimal | None:
    return Decimal(v) if v != "" else None


def test_ar_aging_and_cash_sheets_equal_the_marts(warehouse: Path, tmp_path: Path, period: str) -> None:
    result = write_extract(warehouse, period, "csv", tmp_path)
    folder = tmp_path / f"careledger_extract_{period}"
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        # A/R aging: every basis x payer class x bucket, and each basis's all-payers row
        want = {}
        for basis, payer_class, *values in con.execute(
            f"""
            select aging_basis, payer_class, {", ".join(f"sum({c})" for c in AGING)}
            from marts.mart_ar_aging where strftime(period_end_date, '%Y-%m') = ?
            group by grouping sets ((aging_basis, payer_class), (aging_basis))""",
            [period],
        ).fetchall():
            want[(basis, payer_class or "all payers")] = dict(zip(AGING, values))
        ar1 = dict(
            con.execute(
                "select aging_basis, any_value(ar1_aged_over_90_pct) from marts.mart_ar_aging "
                "where strftime(period_end_date, '%Y-%m') = ? group by 1",
                [period],
            ).fetchall()
        )
        cash = con.execute(
            """
            select count(*), sum(expected_amount), sum(deposit_amount), sum(matched_amount),
                   sum(unmatched_remittance_amount), sum(unmatched_deposit_amount),
                   sum(mismatch_difference_amount), count(*) filter (where not is_reconciled)
            from marts.mart_cash_reconciliation_daily where strftime(deposit_date, '%Y-%m') = ?""",
            [period],
        ).fetchone()
        breaks = dict(
            (reason, (n, amount))
            for reason, n, amount in con.execute(
                "select reason_code, count(*), sum(amount) from marts.mart_cash_reconciliation_exceptions "
                "where strftime(exception_date, '%Y-%m') = ? group by 1",
                [period],
            ).fetchall()
        )
    finally:
        con.close()
    assert want and {b for b, _ in want} == {"discharge", "bill"}
    aging = _read_csv(folder / "ar_aging.csv")
    got = {(r["aging_basis"], r["payer_class"]): {c: Decimal(r[c]) for c in AGING} for r in aging}
    assert got == want
    for r in aging:
        if r["payer_class"] == "all payers":
            assert r["map_key"] == "AR-1" and _dec(r["aged_over_90_pct"]) == ar1[r["aging_basis"]]
        else:
            assert r["map_key"] == "AR-2"
            billed, over = Decimal(r["billed_ar_amount"]), Decimal(r["billed_ar_over_90_amount"])
            assert _dec(r["aged_over_90_pct"]) == (None if billed == 0 else (over / billed).quantize(Decimal("0.0001")))
    # each basis holds the whole A/R: the bucket sum of either basis is its gross balance
    for (basis, _), v in got.items():
        assert sum((v[c] for c in AGING[:7]), Decimal("0.00")) == v["gross_balance_amount"], basis

    days = _read_csv(folder / "cash_reconciliation.csv")
    assert len(days) == cash[0] > 0

    def total(rows: list[dict[str, str]], col: str) -> Decimal:
        return sum((Decimal(r[col]) for r in rows), Decimal("0.00"))

    cols = [
        "expected_amount",
        "deposit_amount",
        "matched_amount",
        "unmatched_remittance_amount",
        "unmatched_deposit_amount",
        "mismatch_difference_amount",
    ]
    assert [total(days, c) for c in cols] == list(cash[1:7])
    exceptions = _read_csv(folder / "cash_exceptions.csv")
    assert len(exceptions) == sum(n for n, _ in breaks.values())
    summary = {(r["section"], r["checkpoint"]): r for r in _read_csv(folder / "reconciliation_summary.csv")}
    assert int(summary[("cash", "legal-entity-days not reconciled")]["record_count"]) == cash[7]
    for reason, (n, amount) in breaks.items():
        row = summary[("cash_exceptions", reason)]
        assert (int(row["record_count"]), Decimal(row["amount"])) == (n, amount)
    cash_ties = [t for t in result.tieouts if t.check.startswith("Cash:")]
    assert len(cash_ties) == 2 and all(t.tied for t in cash_ties)


def test_a_cash_break_without_an_exception_row_is_a_break(warehouse: Path, tmp_path: Path, period: str) -> None:
    """A deposit the exceptions mart does not list (deposits - expected moves, no break row)
    breaks the cash tie-out: the extract does not trust the daily mart's flags alone."""
    con = duckdb.connect(str(warehouse))
    con.execute(
        """
        update marts.mart_cash_reconciliation_daily set deposit_amount = deposit_amount + 5.00
        where legal_entity_id || deposit_date::varchar = (
            select min(legal_entity_id || deposit_date::varchar) from marts.mart_cash_reconciliation_daily
            where strftime(deposit_date, '%Y-%m') = ?)
        """,
        [period],
    )
    con.close()
    result = write_extract(warehouse, period, "csv", tmp_path)
    assert _breaks(result) == {"Cash: deposits - expected = breaks": Decimal("5.00")}


def test_serving_snapshot_and_warehouse_give_the_same_extract(warehouse: Path, tmp_path: Path, period: str) -> None:
    serving = tmp_path / "serving"
    publish_serving_snapshot(warehouse, serving)
    a = write_extract(warehouse, period, "csv", tmp_path / "a")
    b = write_extract(serving, period, "csv", tmp_path / "b")
    assert a.tieouts == b.tieouts
    for name in a.sheets:
        left = (tmp_path / "a" / f"careledger_extract_{period}" / f"{name}.csv").read_text()
        right = (tmp_path / "b" / f"careledger_extract_{period}" / f"{name}.csv").read_text()
        assert left == right, name


def test_a_journal_that_does_not_match_is_a_break(warehouse: Path, tmp_path: Path, period: str) -> None:
    con = duckdb.connect(str(warehouse))
    con.execute(
        """
        update marts.mart_erp_journal_lines set debit_amount = debit_amount + 0.01
        where account_id = '1010' and posting_date = (
            select min(posting_date) from marts.mart_erp_journal_lines
            where account_id = '1010' and strftime(posting_date, '%Y-%m') = ?)
        """,
        [period],
    )
    con.close()
    result = write_extract(warehouse, period, "csv", tmp_path)
    broken = _breaks(result)
    assert set(broken) == {"Payer payments", "Journals balance (debits = credits)"}
    assert broken["Payer payments"] < 0
    rc = main(["--period", period, "--format", "csv", "--out", str(tmp_path / "cli"), "--source", str(warehouse)])
    assert rc == 1
    tie = _read_csv(tmp_path / "cli" / f"careledger_extract_{period}" / "tieout.csv")
    assert "BREAK" in {r["status"] for r in tie}


def test_posting_ledger_tie_out_per_target(warehouse: Path, tmp_path: Path, period: str) -> None:
    con = duckdb.connect(str(warehouse))
    con.execute(
        """
        create schema publish;
        create table publish.posting_ledger as
        select 'json' as target, 'X-' || journal_id as journal_id, journal_id
                   as source_journal_id, 'original' as posting_type, 'posted' as status,
               any_value(posting_date) as posting_date, any_value(period_id) as period_id,
               sum(debit_amount) as debit_total, sum(credit_amount) as credit_total,
               now() as posted_at
        from marts.mart_erp_journal_lines group by journal_id
        """
    )
    # a second target that missed one journal of the period
    con.execute(
        """
        insert into publish.posting_ledger
        select 'oracle', journal_id, source_journal_id, posting_type, status, posting_date,
               period_id, debit_total, credit_total, posted_at
        from publish.posting_ledger
        where source_journal_id <> (select min(source_journal_id) from publish.posting_ledger
                                    where strftime(posting_date, '%Y-%m') = ?)
        """,
        [period],
    )
    con.close()
    result = write_extract(warehouse, period, "csv", tmp_path)
    ledger = {t.journal_source: t for t in result.tieouts if t.journal_source.startswith("ledger")}
    assert ledger["ledger:json"].tied
    assert not ledger["ledger:oracle"].tied and ledger["ledger:oracle"].difference > 0
    journal = _read_csv(tmp_path / f"careledger_extract_{period}" / "journal_summary.csv")
    assert any("json: posted" in r["posting_status"] for r in journal)


def test_extract_is_phi_free(warehouse: Path, tmp_path: Path, period: str) -> None:
    write_extract(warehouse, period, "csv", tmp_path)
    write_extract(warehouse, period, "xlsx", tmp_path)
    for path in (tmp_path / f"careledger_extract_{period}").glob("*.csv"):
        text = path.read_text()
        header = text.splitlines()[0].split(",")
        assert not {h.lower() for h in header} & PHI_COLUMN_NAMES, path
        assert not PHI_VALUE.search(text), path
    wb = openpyxl.load_workbook(tmp_path / f"careledger_extract_{period}.xlsx")
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            for v in row:
                if isinstance(v, str):
                    assert not PHI_VALUE.search(v), (ws.title, v)
                    assert v.lower() not in PHI_COLUMN_NAMES, (ws.title, v)


def test_bad_period_and_empty_period_are_actionable(
    warehouse: Path, tmp_path: Path, period: str, periods: list[str]
) -> None:
    with pytest.raises(ExtractError, match="YYYY-MM"):
        write_extract(warehouse, "2025-13", "csv", tmp_path)
    with pytest.raises(ExtractError, match=f"periods with journals: {', '.join(periods)}$"):
        write_extract(warehouse, "2019-01", "csv", tmp_path)
    with pytest.raises(ExtractError, match="format"):
        write_extract(warehouse, period, "pdf", tmp_path)
    assert main(["--period", "2019-01", "--source", str(warehouse), "--out", str(tmp_path)]) == 2


def test_erp_period_ids_in_any_format_use_period_start_date(warehouse: Path, tmp_path: Path, period: str) -> None:
    before = write_extract(warehouse, period, "csv", tmp_path / "before")
    con = duckdb.connect(str(warehouse))
    for mart in ("mart_service_line_margin_monthly", "mart_denial_trends_monthly"):
        con.execute(
            f"update marts.{mart} set period_id = 'FY' || strftime(period_start_date, "
            "'%Y') || '-P' || strftime(period_start_date, '%m')"
        )
    con.close()
    after = write_extract(warehouse, period, "csv", tmp_path / "after")
    assert not _breaks(after) and after.tieouts == before.tieouts
    assert after.sheets == before.sheets


@pytest.mark.parametrize("mart", ["mart_reconciliation_exceptions", "mart_denial_trends_monthly"])
def test_a_missing_mart_is_one_sentence_not_a_fallback(warehouse: Path, tmp_path: Path, period: str, mart: str) -> None:
    con = duckdb.connect(str(warehouse))
    con.execute(f"drop table marts.{mart}")
    con.close()
    with pytest.raises(ExtractError, match=f"has no {mart}: build the marts") as err:
        write_extract(warehouse, period, "csv", tmp_path)
    assert "\n" not in str(err.value)
    assert main(["--period", period, "--source", str(warehouse), "--out", str(tmp_path)]) == 2


def test_tie_out_accounts_follow_the_account_roles_seed(
    warehouse: Path, tmp_path: Path, period: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Remap payer A/R (1200 -> 1299) in the seed and in the journals the way dbt would: the
    tie-outs follow the seed; with the seed left at 1200 they break, so they read it."""
    from careledger.publish import extracts

    before = write_extract(warehouse, period, "csv", tmp_path / "before")
    assert not _breaks(before) and {t.journal_account for t in before.tieouts} >= {
        "1200",
        "1010",
        "1290+4950",
        "4910",
        "1210",
    }
    con = duckdb.connect(str(warehouse))
    con.execute("update marts.mart_erp_journal_lines set account_id = '1299' where account_id = '1200'")
    con.close()
    stale = write_extract(warehouse, period, "csv", tmp_path / "stale")
    assert set(_breaks(stale)) == {
        "Gross charges accrued",
        "Journal checkpoint = A/R credits (reconciliation)",
        "Remitted = posted (reconciliation)",
        "A/R roll-forward: GL balance = A/R accounts in the journals",
    }
    seed = tmp_path / "account_roles.csv"
    seed.write_text(extracts.ACCOUNT_ROLES_SEED.read_text().replace("\n1200,payer_ar,", "\n1299,payer_ar,"))
    monkeypatch.setattr(extracts, "ACCOUNT_ROLES_SEED", seed)
    after = write_extract(warehouse, period, "csv", tmp_path / "after")
    assert not _breaks(after)
    assert [t.sheet_total for t in after.tieouts] == [t.sheet_total for t in before.tieouts]
    assert {t.journal_account for t in after.tieouts if t.check == "Gross charges accrued"} == {"1299+1250"}


def test_a_role_without_one_account_is_one_sentence(
    warehouse: Path, tmp_path: Path, period: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from careledger.publish import extracts

    seed = tmp_path / "account_roles.csv"
    seed.write_text(extracts.ACCOUNT_ROLES_SEED.read_text() + "1011,cash,Second cash clearing\n")
    monkeypatch.setattr(extracts, "ACCOUNT_ROLES_SEED", seed)
    with pytest.raises(ExtractError, match=r"has 2 accounts for role cash \(1010, 1011\); a tie-out needs exactly one"):
        write_extract(warehouse, period, "csv", tmp_path / "out")


def _post_all_but_one(warehouse: Path, period: str, *, hold: bool) -> tuple[str, Decimal]:
    """A json posting ledger with every journal but one of ``period`` posted; with ``hold``,
    that one is a held journal (as an UNMAPPED code leaves it). Returns its id and debits."""
    con = duckdb.connect(str(warehouse))
    journal_id, debits = con.execute(
        """
        select journal_id, sum(debit_amount) from marts.mart_erp_journal_lines
        where strftime(posting_date, '%Y-%m') = ? group by journal_id order by journal_id limit 1
        """,
        [period],
    ).fetchone()
    con.execute(
        """
        create schema publish;
        create table publish.posting_ledger as
        select 'json' as target, 'X-' || journal_id as journal_id, journal_id as source_journal_id,
               'original' as posting_type, 'posted' as status, any_value(posting_date) as posting_date,
               sum(debit_amount) as debit_total, sum(credit_amount) as credit_total
        from marts.mart_erp_journal_lines where journal_id <> ? group by journal_id
        """,
        [journal_id],
    )
    con.execute(
        """
        create table publish.held_journals (
            target varchar, journal_key varchar, journal_label varchar, journal_source varchar,
            legal_entity_id varchar, facility_id varchar, posting_date date, reason_code varchar,
            message varchar, line_count integer, debit_total decimal(18, 2), credit_total decimal(18, 2),
            held_at timestamp)
        """
    )
    if hold:
        con.execute(
            """
            insert into publish.held_journals
            select 'json', journal_id, 'held ' || journal_id, any_value(journal_source),
                   any_value(legal_entity_id), any_value(facility_id), any_value(posting_date), 'UNMAPPED',
                   'account UNMAPPED: add the mapping', count(*), sum(debit_amount), sum(credit_amount), now()
            from marts.mart_erp_journal_lines where journal_id = ? group by journal_id
            """,
            [journal_id],
        )
    con.close()
    return journal_id, debits


@pytest.mark.parametrize("hold", [True, False], ids=["held", "missing"])
def test_held_journals_are_listed_and_the_posting_break_shows(
    warehouse: Path, tmp_path: Path, period: str, hold: bool
) -> None:
    """A journal not posted breaks 'Posted to json' by its debits; held, it is on the Held
    journals sheet with its amounts and 'Posted + held' ties; not held, that breaks too."""
    _, debits = _post_all_but_one(warehouse, period, hold=hold)
    result = write_extract(warehouse, period, "csv", tmp_path)
    ties = {t.check: t for t in result.tieouts}
    assert ties["Posted to json (posting ledger)"].difference == debits
    assert ties["Posted + held for json"].tied is hold
    assert NOTHING_POSTED not in ties and not result.all_tied
    held = _read_csv(tmp_path / f"careledger_extract_{period}" / "held_journals.csv")
    assert [Decimal(r["debit_amount"]) for r in held] == ([debits] if hold else [])
    if hold:
        assert held[0]["reason_code"] == "UNMAPPED" and held[0]["target"] == "json"
    assert (
        main(["--period", period, "--format", "csv", "--out", str(tmp_path / "cli"), "--source", str(warehouse)]) == 1
    )


def test_workbook_is_print_ready(warehouse: Path, tmp_path: Path, period: str) -> None:
    """Human headers, frozen and filtered header row, landscape one page wide, header row
    repeated on each page, a named cell for every total."""
    write_extract(warehouse, period, "xlsx", tmp_path)
    book = openpyxl.load_workbook(tmp_path / f"careledger_extract_{period}.xlsx")
    for ws in book.worksheets:
        headers = [c.value for c in ws[4] if c.value]
        assert headers and not [h for h in headers if "_" in h], (ws.title, headers)
        assert ws.freeze_panes == "A5", ws.title
        assert ws.auto_filter.ref and ws.auto_filter.ref.startswith("A4:"), ws.title
        assert ws.page_setup.orientation == "landscape", ws.title
        # OOXML: an absent fitToWidth is 1 (one page wide); fitToHeight 0 = as many pages down as needed
        assert ws.sheet_properties.pageSetUpPr.fitToPage and (ws.page_setup.fitToWidth or 1) == 1, ws.title
        assert ws.page_setup.fitToHeight == 0, ws.title
        assert ws.print_title_rows == "$4:$4", ws.title
    pnl = book["P&L by service line"]
    assert [c.value for c in pnl[4]][:3] == ["Facility", "Facility name", "Service line"]
    assert "Gross charges ($)" in [c.value for c in pnl[4]]
    names = set(book.defined_names)
    assert {"total_pnl_by_service_line_gross_charge_amount", "total_reimbursement_summary_payment_amount"} <= names


def test_text_that_looks_like_a_formula_stays_text(warehouse: Path, tmp_path: Path, period: str) -> None:
    """A payer named =HYPERLINK(...) is a string cell in the workbook and an escaped CSV cell
    (OWASP); negative amounts in the CSV are untouched numbers."""
    evil = '=HYPERLINK("http://example.invalid/x","click")'
    con = duckdb.connect(str(warehouse))
    con.execute(
        "update marts.mart_denial_trends_monthly set payer_name = ? where strftime(period_start_date, '%Y-%m') = ?",
        [evil, period],
    )
    con.close()
    write_extract(warehouse, period, "xlsx", tmp_path)
    write_extract(warehouse, period, "csv", tmp_path)
    ws = openpyxl.load_workbook(tmp_path / f"careledger_extract_{period}.xlsx")["Denial summary"]
    col = [c.value for c in ws[4]].index("Payer name") + 1
    cells = [ws.cell(row=r, column=col) for r in range(5, ws.max_row + 1) if ws.cell(row=r, column=col).value]
    assert cells and all(c.value == evil and c.data_type == "s" for c in cells)
    rows = _read_csv(tmp_path / f"careledger_extract_{period}" / "denial_summary.csv")
    assert {r["payer_name"] for r in rows} == {"'" + evil}
    cash = _read_csv(tmp_path / f"careledger_extract_{period}" / "tieout.csv")
    assert any(r["sheet_total"].startswith("-") for r in cash)  # a negative number is left as it is


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+2", "'=1+2"),
        ("+SUM(A1)", "'+SUM(A1)"),
        ("-cmd|' /C calc'!A0", "'-cmd|' /C calc'!A0"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("-12.50", "-12.50"),
        (Decimal("-12.50"), "-12.50"),
        (-3, "-3"),
        ("Aetna", "Aetna"),
    ],
)
def test_csv_cells_are_escaped_per_owasp(value: object, cell: str) -> None:
    from careledger.publish.extracts import csv_safe

    assert csv_safe(value) == cell
