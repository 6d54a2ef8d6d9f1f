"""How the dashboard shows numbers: money as ``$1,234,567.89``, rates as ``12.3%``."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")


def fmt_money(value: Any) -> str:
    """``Decimal('-1234.5')`` -> ``-$1,234.50``; ``None`` -> an em dash."""
    if value is None:
        return "\u2014"
    d = value if isinstance(value, Decimal) else Decimal(str(value))
    d = d.quantize(CENT, rounding=ROUND_HALF_UP)
    sign = "-" if d < 0 else ""
    return f"{sign}${abs(d):,.2f}"


def fmt_money_short(value: Any) -> str:
    """Axis labels: ``$1.2M``, ``$350K``, ``-$12``."""
    d = value if isinstance(value, Decimal) else Decimal(str(value or 0))
    sign = "-" if d < 0 else ""
    a = abs(d)
    for div, suffix in ((Decimal(10) ** 9, "B"), (Decimal(10) ** 6, "M"), (Decimal(10) ** 3, "K")):
        if a >= div:
            return f"{sign}${a / div:,.1f}{suffix}"
    return f"{sign}${a:,.0f}"


def fmt_pct(value: Any, places: int = 1) -> str:
    """A ratio (0.1234) as ``12.3%``."""
    if value is None:
        return "\u2014"
    d = value if isinstance(value, Decimal) else Decimal(str(value))
    return f"{d * 100:.{places}f}%"


def fmt_int(value: Any) -> str:
    if value is None:
        return "\u2014"
    return f"{int(value):,}"


def fmt_days(value: Any) -> str:
    """Days with one decimal (``41.3 days``); ``None`` -> an em dash."""
    if value is None:
        return "\u2014"
    d = value if isinstance(value, Decimal) else Decimal(str(value))
    return f"{d.quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)} days"
