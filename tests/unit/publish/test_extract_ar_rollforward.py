"""The extract's ``ar_rollforward`` sheet and its GL tie-outs on the session's
``built_warehouse`` (simulator with faults -> ingest -> dbt build): the sheet equals
mart_ar_rollforward to the cent in CSV and XLSX, the roll-forward identity holds on every row,
the GL column ties to the A/R accounts of the journals that post, and ending - GL ties to the
AR_ROLLFORWARD_BREAK exceptions; a GL figure or an exception that goes missing is a BREAK."""

from __future__ import annotations

import csv
import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import openpyxl
import pytest

from careledger.publish.extracts import header, write_extract

MONEY = (
    "beginning_balance_amount",
    "gross_charge_amount",
    "payment_amount",
    "contractual_adjustment_amount",
    "denial_amount",
    "write_off_amount",
    "plb_recoupment_amount",
    "reserve_change_amount",
    "ending_balance_amount",
    "gl_balance_amount",
    "difference_amount",
)
GL_CHECK = "A/R roll-forward: GL balance = A/R accounts in the journals"
BREAK_CHECK = "A/R roll-forward: ending - GL = breaks"


@pytest.fixture()
def warehouse(built_warehouse, tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(built_warehouse.warehouse, path)
    return path


def _periods(warehouse: Path) -> dict[str, str]:
    """period (YYYY-MM) -> status, for the periods that have journals."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return dict(
            con.execute(
                """
                select strftime(period_end_date, '%Y-%m'), status from core.dim_accounting_period
                where period_id in (select distinct period_id from marts.mart_erp_journal_lines)
                order by 1
                """
            ).fetchall()
        )


def _mart_rows(warehouse: Path, period: str) -> dict[str, dict[str, Decimal]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            f"select facility_id, {', '.join(MONEY)} from marts.mart_ar_rollforward "
            "where strftime(period_end_date, '%Y-%m') = ?",
            [period],
        ).fetchall()
    return {r[0]: dict(zip(MONEY, r[1:])) for r in rows}


def _tieout(result, check: str):
    found = [t for t in result.tieouts if t.check == check]
    assert len(found) == 1, [t.check for t in result.tieouts]
    return found[0]


def test_sheet_equals_the_mart_and_ties_to_the_gl_every_open_period(warehouse: Path, tmp_path: Path) -> None:
    periods = _periods(warehouse)
    open_periods = [p for p, status in periods.items() if status == "open"]
    assert len(open_periods) >= 2, periods
    for period in open_periods:
        result = write_extract(warehouse, period, "csv", tmp_path)
        with (tmp_path / f"careledger_extract_{period}" / "ar_rollforward.csv").open(newline="") as fh:
            sheet = {r["facility_id"]: r for r in csv.DictReader(fh)}
        want = _mart_rows(warehouse, period)
        assert want and set(sheet) == set(want), period
        for facility, row in sheet.items():
            got = {c: Decimal(row[c]) for c in MONEY}
            assert got == want[facility], (period, facility)
            moved = (
                got["beginning_balance_amount"]
                + got["gross_charge_amount"]
                - got["payment_amount"]
                - got["contractual_adjustment_amount"]
                - got["denial_amount"]
                - got["write_off_amount"]
                - got["plb_recoupment_amount"]
                - got["reserve_change_amount"]
            )
            assert moved == got["ending_balance_amount"], (period, facility)
            assert got["gl_balance_amount"] + got["difference_amount"] == got["ending_balance_amount"]
            assert (row["is_tied"] == "True") == (got["difference_amount"] == 0), (period, facility)
        gl, breaks = _tieout(result, GL_CHECK), _tieout(result, BREAK_CHECK)
        assert gl.tied and breaks.tied, (period, gl, breaks)
        assert gl.sheet_total == sum(w["gl_balance_amount"] for w in want.values()) != 0
        assert gl.journal_account == "1200+1250+1290+1210"
        # the faulted system holds UNMAPPED journals back: their A/R is the break, and an exception
        assert breaks.sheet_total == sum(w["difference_amount"] for w in want.values())


def test_closed_period_has_no_rows_and_says_where_they_are(warehouse: Path, tmp_path: Path) -> None:
    closed = [p for p, status in _periods(warehouse).items() if status == "closed"]
    assert closed, "the simulated ERP closes its first period"
    result = write_extract(warehouse, closed[0], "csv", tmp_path)
    assert result.sheets["ar_rollforward"] == 0
    assert not [t for t in result.tieouts if t.check in (GL_CHECK, BREAK_CHECK)]
    result = write_extract(warehouse, closed[0], "xlsx", tmp_path)
    ws = openpyxl.load_workbook(result.paths[0])["AR roll-forward"]
    assert "roll forward in the next open period" in ws.cell(2, 1).value


def test_xlsx_sheet_carries_the_mart_and_its_total_formulas(warehouse: Path, tmp_path: Path) -> None:
    period = next(p for p, status in _periods(warehouse).items() if status == "open")
    result = write_extract(warehouse, period, "xlsx", tmp_path)
    ws = openpyxl.load_workbook(result.paths[0], data_only=True)["AR roll-forward"]
    headers = [c.value for c in ws[4]]
    facility, ending = headers.index(header("facility_id")), headers.index(header("ending_balance_amount"))
    want = _mart_rows(warehouse, period)
    body = [r for r in ws.iter_rows(min_row=5, values_only=True) if r[0] not in (None, "Total")]
    assert {r[facility]: Decimal(str(r[ending])).quantize(Decimal("0.01")) for r in body} == {
        f: w["ending_balance_amount"] for f, w in want.items()
    }
    total = next(r for r in ws.iter_rows(min_row=5, values_only=True) if r[0] == "Total")
    assert Decimal(str(total[ending])).quantize(Decimal("0.01")) == sum(
        w["ending_balance_amount"] for w in want.values()
    )


def test_a_missing_gl_figure_or_exception_is_a_break(warehouse: Path, tmp_path: Path) -> None:
    period = [p for p, status in _periods(warehouse).items() if status == "open"][-1]
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "update marts.mart_ar_rollforward set gl_balance_amount = gl_balance_amount + 1.00 "
            "where strftime(period_end_date, '%Y-%m') = ? and facility_id = "
            "(select min(facility_id) from marts.mart_ar_rollforward where is_tied)",
            [period],
        )
        (removed,) = con.execute(
            "select count(*) from marts.mart_reconciliation_exceptions where reason_code = 'AR_ROLLFORWARD_BREAK' "
            "and strftime(exception_date, '%Y-%m') = ?",
            [period],
        ).fetchone()
        con.execute(
            "delete from marts.mart_reconciliation_exceptions where reason_code = 'AR_ROLLFORWARD_BREAK' "
            "and strftime(exception_date, '%Y-%m') = ?",
            [period],
        )
    assert removed > 0, "the faulted system has held UNMAPPED journals: expected a roll-forward break"
    result = write_extract(warehouse, period, "csv", tmp_path)
    gl, breaks = _tieout(result, GL_CHECK), _tieout(result, BREAK_CHECK)
    assert gl.difference == Decimal("1.00")
    assert not breaks.tied and breaks.journal_total == 0
    assert not result.all_tied
