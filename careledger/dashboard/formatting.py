"""How the dashboard shows numbers: tiles abbreviate money (``$4.33M``) and keep the exact
value (``$4,334,512.07``) for the hover title; rates as ``12.3%``; margins below the revenue
floor as ``n/m``."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")

#: A margin % is "n/m" (not meaningful) when the net revenue it divides by is not positive,
#: below this floor, or below :data:`MARGIN_REVENUE_SHARE_FLOOR` of the gross charges: a clinic
#: with $75 of net revenue and $1,300 of cost is not "-1786.1%" (docs/dashboard.md).
MARGIN_REVENUE_FLOOR = Decimal("250.00")
MARGIN_REVENUE_SHARE_FLOOR = Decimal("0.05")
NOT_MEANINGFUL = "n/m"


def _dec(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def margin_is_meaningful(net_revenue: Any, gross_charges: Any) -> bool:
    """Whether a margin % over this net revenue says something (see MARGIN_REVENUE_FLOOR)."""
    if net_revenue is None:
        return False
    net = _dec(net_revenue)
    gross = _dec(gross_charges or 0)
    return net > 0 and net >= MARGIN_REVENUE_FLOOR and net >= gross * MARGIN_REVENUE_SHARE_FLOOR


def fmt_money(value: Any) -> str:
    """``Decimal('-1234.5')`` -> ``-$1,234.50``; ``None`` -> an em dash."""
    if value is None:
        return "\u2014"
    d = _dec(value).quantize(CENT, rounding=ROUND_HALF_UP)
    sign = "-" if d < 0 else ""
    return f"{sign}${abs(d):,.2f}"


def fmt_money_short(value: Any) -> str:
    """Tiles: three significant digits with K / M / B (``$4.33M``, ``$43.3K``, ``-$950``);
    ``None`` -> an em dash."""
    if value is None:
        return "\u2014"
    d = _dec(value)
    sign = "-" if d < 0 else ""
    a = abs(d)
    for div, suffix in ((Decimal(10) ** 9, "B"), (Decimal(10) ** 6, "M"), (Decimal(10) ** 3, "K")):
        if a >= div:
            scaled = a / div
            places = 2 if scaled < 10 else 1 if scaled < 100 else 0
            return f"{sign}${scaled:,.{places}f}{suffix}"
    return f"{sign}${a.quantize(Decimal(1), rounding=ROUND_HALF_UP):,}"


def fmt_pct(value: Any, places: int = 1) -> str:
    """A ratio (0.1234) as ``12.3%``."""
    if value is None:
        return "\u2014"
    return f"{_dec(value) * 100:.{places}f}%"


def fmt_int(value: Any) -> str:
    if value is None:
        return "\u2014"
    return f"{int(value):,}"


def fmt_days(value: Any) -> str:
    """Days with one decimal (``41.3 days``); ``None`` -> an em dash."""
    if value is None:
        return "\u2014"
    return f"{_dec(value).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)} days"
