"""Dashboard pieces that need no browser: exports are injection-safe and say what they hold,
money on tiles is abbreviated, tiny revenues give "n/m" margins."""

from __future__ import annotations

import io
from decimal import Decimal

import openpyxl
import pytest

from careledger.dashboard.app import TableData, export_csv, export_xlsx, load_targets
from careledger.dashboard.formatting import fmt_money_short, margin_is_meaningful


def _table() -> TableData:
    return TableData(
        "Denials by payer",
        ["payer_name", "denied_amount", "margin_pct"],
        [
            {"payer_name": '=HYPERLINK("http://x")', "denied_amount": Decimal("-12.50"), "margin_pct": None},
            {"payer_name": "Blue Prairie PPO", "denied_amount": Decimal("4334512.07"), "margin_pct": Decimal("0.25")},
        ],
    )


def test_csv_export_escapes_formulas_and_keeps_negative_amounts() -> None:
    lines = export_csv(_table()).splitlines()
    assert lines[0] == "Payer,Denied ($),Margin %"
    assert lines[1].startswith("\"'=HYPERLINK(")  # text is never a formula
    assert lines[1].endswith(",-12.50,")  # a negative amount stays a number
    assert lines[2] == "Blue Prairie PPO,4334512.07,0.25"


def test_xlsx_export_writes_text_as_text() -> None:
    wb = openpyxl.load_workbook(io.BytesIO(export_xlsx(_table(), "Filters applied: none (all data)")))
    ws = wb.active
    assert ws["A1"].value == "Denials by payer"
    assert ws["A2"].value.endswith("Filters applied: none (all data)")
    assert [c.value for c in ws[4]] == ["Payer", "Denied ($)", "Margin %"]
    assert ws["A5"].data_type == "s" and ws["A5"].value.startswith("=HYPERLINK")
    assert ws["B5"].value == -12.5 and ws["C5"].value == "n/m"
    assert ws["B6"].value == pytest.approx(4334512.07)
    assert ws.freeze_panes == "A5" and ws.auto_filter.ref


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("4334512.07"), "$4.33M"),
        (Decimal("43345.5"), "$43.3K"),
        (Decimal("433450"), "$433K"),
        (Decimal("-950.4"), "-$950"),
        (Decimal("1250000000"), "$1.25B"),
        (None, "\u2014"),
    ],
)
def test_money_on_tiles_is_abbreviated(value: Decimal | None, shown: str) -> None:
    assert fmt_money_short(value) == shown


def test_margin_is_not_meaningful_below_the_revenue_floor() -> None:
    assert not margin_is_meaningful(Decimal("75.00"), Decimal("1300.00"))  # the -1786.1% clinic
    assert not margin_is_meaningful(Decimal("-10.00"), Decimal("100.00"))
    assert not margin_is_meaningful(Decimal("400.00"), Decimal("100000.00"))  # under 5% of charges
    assert margin_is_meaningful(Decimal("5181.67"), Decimal("8826.00"))


def test_targets_file_names_known_tiles() -> None:
    targets = load_targets()
    assert {"margin_pct", "initial_denial_rate", "net_days_in_ar"} <= set(targets)
    assert targets["net_days_in_ar"].higher_is_better is False
