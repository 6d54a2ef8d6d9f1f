"""Inline SVG charts (no JavaScript): grouped bars with an optional line on top."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from careledger.dashboard.formatting import fmt_money, fmt_money_short, fmt_pct

WIDTH, HEIGHT = 1100, 260
PAD_L, PAD_R, PAD_T, PAD_B = 70, 60, 28, 34


def _f(v: Any) -> float:
    return float(v) if v is not None else 0.0


def _nice_step(span: float) -> float:
    """A 1-2-2.5-5 step so that about four steps cover ``span``."""
    if span <= 0:
        return 1.0
    raw = span / 4
    mag = 10 ** math.floor(math.log10(raw))
    for step in (1, 2, 2.5, 5, 10):
        if step * mag >= raw:
            return step * mag
    return 10 * mag


def _nice_max(v: float) -> float:
    """The smallest 'nice' number >= v (percent axis)."""
    if v <= 0:
        return 1.0
    return _nice_step(v) * math.ceil(v / _nice_step(v))


def bar_line_chart(
    labels: Sequence[str],
    bars: Sequence[tuple[str, Sequence[Any], str]],
    line: tuple[str, Sequence[Any], str] | None = None,
    *,
    line_is_pct: bool = False,
    chart_id: str = "",
) -> str:
    """Bars (money, left axis) per label, one series per colour, plus an optional line on the
    same money axis or, with ``line_is_pct``, on a percent axis at the right."""
    n = len(labels)
    if n == 0:
        return '<p class="note">no data for these filters</p>'
    values = [_f(v) for _, s, _ in bars for v in s]
    if line and not line_is_pct:
        values += [_f(v) for v in line[1]]
    step = _nice_step(max(values + [0.0]) - min(values + [0.0]))
    hi = step * max(math.ceil(max(values + [0.0]) / step), 1)
    lo = step * math.floor(min(values + [0.0]) / step)
    ticks = round((hi - lo) / step)
    plot_w, plot_h = WIDTH - PAD_L - PAD_R, HEIGHT - PAD_T - PAD_B

    def y(v: float) -> float:
        return PAD_T + plot_h * (hi - v) / (hi - lo)

    out = [
        f'<svg class="chart" id="{html.escape(chart_id)}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="100%" role="img" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i in range(ticks + 1):
        v = lo + step * i
        out.append(f'<line x1="{PAD_L}" x2="{WIDTH - PAD_R}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#eaecf0"/>')
        out.append(
            f'<text x="{PAD_L - 6}" y="{y(v) + 4:.1f}" font-size="11" fill="#667085" '
            f'text-anchor="end">{html.escape(fmt_money_short(Decimal(str(round(v, 2)))))}'
            "</text>"
        )
    slot = plot_w / n
    group_w = slot * 0.75
    bar_w = group_w / max(len(bars), 1)
    label_px = 7 * max(len(str(lb)) for lb in labels) + 10
    every = max(1, math.ceil(label_px / slot))
    for i, label in enumerate(labels):
        x0 = PAD_L + slot * i + (slot - group_w) / 2
        for k, (name, series, colour) in enumerate(bars):
            v = _f(series[i])
            top, bottom = (y(v), y(0)) if v >= 0 else (y(0), y(v))
            out.append(
                f'<rect x="{x0 + k * bar_w:.1f}" y="{top:.1f}" width="{max(bar_w - 1, 1):.1f}" '
                f'height="{max(bottom - top, 0.5):.1f}" fill="{colour}">'
                f"<title>{html.escape(f'{label} {name}: {fmt_money(series[i])}')}</title></rect>"
            )
        if i % every == 0:
            out.append(
                f'<text x="{PAD_L + slot * (i + 0.5):.1f}" y="{HEIGHT - PAD_B + 16}" '
                f'font-size="11" fill="#667085" text-anchor="middle">'
                f"{html.escape(str(label))}</text>"
            )
    if line:
        name, series, colour = line
        if line_is_pct:
            pmax = max([_f(v) for v in series] + [0.0001])
            pmax = _nice_max(pmax * 100) / 100

            def ly(v: float) -> float:
                return PAD_T + plot_h * (1 - v / pmax)

            for i in range(5):
                v = pmax * i / 4
                out.append(
                    f'<text x="{WIDTH - PAD_R + 6}" y="{ly(v) + 4:.1f}" font-size="11" '
                    f'fill="{colour}">{v * 100:.0f}%</text>'
                )
        else:
            ly = y  # type: ignore[assignment]
        pts = [(PAD_L + slot * (i + 0.5), ly(_f(v))) for i, v in enumerate(series)]
        out.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2.5" points="'
            + " ".join(f"{px:.1f},{py:.1f}" for px, py in pts)
            + '"/>'
        )
        for (px, py), v, label in zip(pts, series, labels):
            shown = fmt_pct(v) if line_is_pct else fmt_money(v)
            out.append(
                f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{colour}">'
                f"<title>{html.escape(f'{label} {name}: {shown}')}</title></circle>"
            )
    # legend
    lx = PAD_L
    for name, _, colour in [*bars, *([line] if line else [])]:
        out.append(
            f'<rect x="{lx}" y="6" width="12" height="12" fill="{colour}"/>'
            f'<text x="{lx + 16}" y="16" font-size="12" fill="#344054">'
            f"{html.escape(name)}</text>"
        )
        lx += 24 + 7 * len(name)
    out.append("</svg>")
    return "".join(out)
