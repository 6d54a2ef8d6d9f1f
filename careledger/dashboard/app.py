"""careledger executive dashboard on Plotly Dash, reading only the serving snapshot.

Every figure comes from one function of :mod:`careledger.dashboard.queries` run on the
read-only ``serving.duckdb``; this module lays them out. Pages (the URL's query string holds
the filters, so a view can be bookmarked and the browser test can open it):

- ``/``        data-quality banner, KPI tiles (prior-month and target variance, sparklines),
               margin by month with the completeness caveat, A/R aging (both bases, AR-1/AR-2)
               and net days in A/R, margin by facility x service line, denial trends,
               reimbursement by payer class, reconciliation, open exceptions, freshness.
- ``/weekly``  drill-down: weekly location x physician x service line margin.
- ``/healthz`` ``ok <snapshot version>``.

Every table is a sortable ``dash_table.DataTable`` with CSV and xlsx export (server-side, from
the same query, injection-safe like the extracts). ``careledger dashboard`` calls :func:`serve`.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import plotly.graph_objects as go
from dash import ALL, Dash, Input, Output, State, ctx, dash_table, dcc, html, no_update
from dash.dash_table.Format import Format, Group, Scheme

from careledger.config import Home
from careledger.dashboard import queries as q
from careledger.dashboard.formatting import (
    NOT_MEANINGFUL,
    fmt_days,
    fmt_int,
    fmt_money,
    fmt_money_short,
    fmt_pct,
    margin_is_meaningful,
)
from careledger.publish.extracts import csv_safe, header

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
TARGETS_FILE = Path(__file__).with_name("kpi_targets.csv")

CSS = """
:root { --ink:#1d2939; --muted:#667085; --line:#e4e7ec; --brand:#1f3a5f; --good:#027a48;
        --bad:#b42318; --bg:#f5f7fa; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color:var(--ink); background:var(--bg); }
header.top { background:var(--brand); color:#fff; padding:12px 24px; display:flex;
             justify-content:space-between; align-items:baseline; flex-wrap:wrap; gap:8px; }
header.top h1 { margin:0; font-size:19px; font-weight:600; }
header.top .meta { font-size:12px; opacity:.85; }
header.top a { color:#fff; margin-left:14px; }
main { padding:14px 24px 40px; max-width:1400px; margin:0 auto; }
.filters { display:grid; grid-template-columns:repeat(auto-fit, minmax(170px, 1fr)); gap:10px;
           background:#fff; border:1px solid var(--line); border-radius:8px; padding:10px 14px; }
.filters label { font-size:12px; color:var(--muted); }
.filter-state { font-size:12.5px; margin:8px 2px; color:var(--ink); }
.banner { border-radius:8px; padding:10px 14px; margin:10px 0; font-size:13px; border:1px solid; }
.banner.ok { background:#ecfdf3; border-color:#abefc6; color:var(--good); }
.banner.warn { background:#fffaeb; border-color:#fedf89; color:#93370d; }
.banner ul { margin:4px 0 0 18px; padding:0; }
.kpis { display:grid; grid-template-columns:repeat(auto-fit, minmax(205px, 1fr)); gap:10px; margin:12px 0; }
.kpi { background:#fff; border:1px solid var(--line); border-radius:8px; padding:10px 12px 4px; min-width:0; }
.kpi .label { font-size:11.5px; color:var(--muted); text-transform:uppercase; letter-spacing:.03em; }
.kpi .value { font-size:22px; font-weight:650; margin-top:2px; white-space:nowrap; cursor:help; }
.kpi .value.neg { color:var(--bad); }
.kpi .delta { font-size:12px; color:var(--muted); white-space:nowrap; overflow:hidden; text-overflow:ellipsis; }
.kpi .delta.good { color:var(--good); } .kpi .delta.bad { color:var(--bad); }
.kpi .scope { font-size:11px; color:#98a2b3; }
section.card { background:#fff; border:1px solid var(--line); border-radius:8px; padding:12px 16px;
               margin-top:14px; min-width:0; }
section.card h2 { font-size:16px; margin:0 0 4px; }
section.card h3 { font-size:13px; margin:12px 0 6px; color:var(--muted); }
.scope { font-size:12px; color:var(--muted); margin-bottom:6px; }
.caveat { font-size:12.5px; background:#fffaeb; color:#93370d; border-radius:6px; padding:6px 10px; margin:6px 0; }
.grid2 { display:grid; grid-template-columns:minmax(0, 1fr) minmax(0, 1fr); gap:14px; }
@media (max-width: 1180px) { .grid2 { grid-template-columns:minmax(0, 1fr); } }
.note { color:var(--muted); font-size:12px; }
.exports { margin:4px 0 6px; font-size:12px; }
.exports button { font-size:12px; margin-right:6px; padding:2px 10px; border:1px solid var(--line);
                  background:#fff; border-radius:5px; cursor:pointer; }
a { color:#175cd3; text-decoration:none; } a:hover { text-decoration:underline; }
"""

INDEX = (
    '<!DOCTYPE html>\n<html lang="en">\n<head>{%metas%}<title>{%title%}</title>{%favicon%}{%css%}'
    f"<style>{CSS}</style></head>\n"
    "<body>{%app_entry%}<footer>{%config%}{%scripts%}{%renderer%}</footer></body>\n</html>"
)

FILTERS = ("period_from", "period_to", "facility", "service_line", "payer_class")


# --------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class Target:
    metric: str
    value: Decimal
    higher_is_better: bool
    note: str


def load_targets(path: Path = TARGETS_FILE) -> dict[str, Target]:
    """The KPI targets (``kpi_targets.csv``: metric, target, better = higher|lower, note)."""
    with path.open(newline="", encoding="utf-8") as fh:
        return {
            r["metric"]: Target(r["metric"], Decimal(r["target"]), r["better"] == "higher", r["note"])
            for r in csv.DictReader(fh)
        }


# --------------------------------------------------------------------------- tables


def _kind(col: str) -> str:
    if col.endswith("_amount") or col == "amount":
        return "money"
    if col.endswith(("_pct", "_rate")):
        return "pct"
    if col.endswith("_count") or col in ("rows_accepted", "rows_quarantined", "net_days_in_ar"):
        return "number"
    return "text"


#: Column headers people read (the extracts' headers, with the dashboard's own additions).
LABELS = {
    "facility_name": "Facility",
    "service_line_name": "Service line",
    "payer_class_name": "Payer class",
    "payer_name": "Payer",
    "provider_name": "Physician",
    "rendering_npi": "NPI",
    "week_start_date": "Week of",
    "period_id": "Period",
    "net_days_in_ar": "Net days in A/R",
    "net_ar_amount": "Net A/R ($)",
    "avg_daily_net_revenue_amount": "Avg daily net revenue ($)",
    "aging_basis": "Aging basis",
    "last_loaded_at": "Last loaded (UTC)",
    "unremitted_claim_pct": "Claims not yet remitted %",
}


def label(col: str) -> str:
    return LABELS.get(col, header(col))


def _column(col: str) -> dict[str, Any]:
    kind = _kind(col)
    spec: dict[str, Any] = {"name": label(col), "id": col}
    if kind == "money":
        spec |= {
            "type": "numeric",
            # no "$" in the cells: the header says ($), as in a financial statement, and the
            # eight characters it took per money column made wide tables scroll at 1024 px
            "format": Format(precision=2, scheme=Scheme.fixed, group=Group.yes),
        }
    elif kind == "pct":
        spec |= {
            "type": "numeric",
            "format": Format(precision=1, scheme=Scheme.percentage).nully(
                NOT_MEANINGFUL if col == "margin_pct" else "\u2014"
            ),
        }
    elif kind == "number":
        spec |= {"type": "numeric", "format": Format(group=Group.yes)}
    return spec


def _json(v: Any) -> Any:
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, (dt.date, dt.datetime)):
        return str(v)[:19]
    return v


@dataclass
class TableData:
    """What one table shows (and exports): column ids and rows of values."""

    title: str
    columns: list[str]
    rows: list[dict[str, Any]]


#: Text columns that hold sentences (they get a wider wrap than names and codes).
WIDE_TEXT = frozenset({"detail", "message", "description"})


def data_table(table_id: str, data: TableData, *, height: int = 420) -> html.Div:
    """A sortable DataTable with CSV / xlsx export buttons (served by :func:`export_table`)."""
    return html.Div(
        [
            html.Div(
                [
                    html.Button("CSV", id={"type": "export", "table": table_id, "fmt": "csv"}, n_clicks=0),
                    html.Button("xlsx", id={"type": "export", "table": table_id, "fmt": "xlsx"}, n_clicks=0),
                    html.Span(f"{len(data.rows):,} rows", className="note"),
                ],
                className="exports",
            ),
            dash_table.DataTable(
                id=table_id,
                columns=[_column(c) for c in data.columns],
                data=[{c: _json(r.get(c)) for c in data.columns} for r in data.rows],
                sort_action="native",
                page_action="none",
                style_table={"overflowX": "auto", "maxHeight": f"{height}px", "overflowY": "auto"},
                style_header={
                    "fontWeight": "600",
                    "whiteSpace": "normal",
                    "height": "auto",
                    "color": "#475467",
                    "fontSize": "11.5px",
                },
                # cells wrap (names, details) and stay compact so that a table fits its card at
                # 1024 px instead of scrolling sideways and hiding its rate columns (the browser
                # test measures every table against its card)
                style_cell={
                    "fontSize": "12px",
                    "padding": "3px 5px",
                    "fontFamily": "inherit",
                    "minWidth": "48px",
                    "whiteSpace": "normal",
                    "height": "auto",
                },
                style_cell_conditional=[
                    {
                        "if": {"column_id": c},
                        "textAlign": "left",
                        "maxWidth": "320px" if c in WIDE_TEXT else "150px",
                        "overflowWrap": "anywhere",
                    }
                    for c in data.columns
                    if _kind(c) == "text"
                ],
                style_data_conditional=[
                    {"if": {"filter_query": f"{{{c}}} < 0", "column_id": c}, "color": "#b42318"}
                    for c in data.columns
                    if _kind(c) == "money"
                ],
            ),
        ]
    )


# --------------------------------------------------------------------------- figures

_LAYOUT = {
    "margin": {"l": 60, "r": 50, "t": 20, "b": 40},
    "height": 300,
    "legend": {"orientation": "h", "y": -0.18},
    "paper_bgcolor": "white",
    "plot_bgcolor": "white",
    "font": {"size": 12},
    "hovermode": "x unified",
}


def _f(v: Any) -> float | None:
    return None if v is None else float(v)


def bar_line(
    x: list[str],
    bars: list[tuple[str, list[Any], str]],
    line: tuple[str, list[Any], str] | None = None,
    *,
    line_pct: bool = False,
) -> go.Figure:
    fig = go.Figure()
    for name, values, colour in bars:
        fig.add_bar(x=x, y=[_f(v) for v in values], name=name, marker_color=colour, hovertemplate="$%{y:,.2f}")
    if line is not None:
        name, values, colour = line
        fig.add_scatter(
            x=x,
            y=[_f(v) for v in values],
            name=name,
            mode="lines+markers",
            line={"color": colour, "width": 2.5},
            yaxis="y2" if line_pct else "y",
            hovertemplate="%{y:.1%}" if line_pct else "$%{y:,.2f}",
        )
    fig.update_layout(**_LAYOUT, barmode="group", yaxis={"tickprefix": "$", "tickformat": "~s", "gridcolor": "#eaecf0"})
    if line_pct:
        fig.update_layout(yaxis2={"overlaying": "y", "side": "right", "tickformat": ".0%", "showgrid": False})
    fig.update_xaxes(type="category")
    return fig


def sparkline(values: list[Any]) -> dcc.Graph:
    fig = go.Figure(
        go.Scatter(y=[_f(v) for v in values], mode="lines", line={"color": "#2e90fa", "width": 2}, hoverinfo="skip")
    )
    fig.update_layout(
        margin={"l": 0, "r": 0, "t": 2, "b": 2},
        height=34,
        showlegend=False,
        paper_bgcolor="white",
        plot_bgcolor="white",
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return dcc.Graph(figure=fig, config={"staticPlot": True, "displayModeBar": False}, style={"height": "34px"})


def graph(graph_id: str, fig: go.Figure) -> dcc.Graph:
    return dcc.Graph(id=graph_id, figure=fig, config={"displaylogo": False}, style={"height": "300px"})


# --------------------------------------------------------------------------- filter state


@dataclass(frozen=True)
class Scope:
    """Which of the active filters a figure obeys and which it cannot (its mart has no such
    column): shown under every tile and section."""

    f: q.Filters
    names: q.Names

    def describe(self, not_applicable: tuple[str, ...] = (), why: str = "") -> str:
        applied, skipped = [], []
        for key, text in self.items():
            (skipped if key in not_applicable else applied).append(text)
        out = "Filters applied: " + ("; ".join(applied) if applied else "none (all data)")
        if skipped:
            out += f". Not applied here: {'; '.join(skipped)}" + (f" ({why})" if why else "")
        return out

    def items(self) -> list[tuple[str, str]]:
        f, n = self.f, self.names
        out = []
        if f.period_from or f.period_to:
            out.append(("period", f"periods {f.period_from or 'first'} to {f.period_to or 'latest'}"))
        if f.facility:
            out.append(("facility", f"facility {n.of('facility', f.facility)}"))
        if f.service_line:
            out.append(("service_line", f"service line {n.of('service_line', f.service_line)}"))
        if f.payer_class:
            out.append(("payer_class", f"payer class {n.of('payer_class', f.payer_class)}"))
        return out

    def skipped(self, not_applicable: tuple[str, ...]) -> list[str]:
        return [key for key, _ in self.items() if key in not_applicable]


# --------------------------------------------------------------------------- KPI tiles


def _variance(latest: Any, prior: Any, kind: str) -> tuple[str, str]:
    if latest is None or prior is None:
        return "no prior month", ""
    latest, prior = q.to_decimal(latest), q.to_decimal(prior)
    if kind == "pct":
        diff = (latest - prior) * 100
        return f"{'+' if diff >= 0 else ''}{diff:.1f} pts", ""
    if kind == "days":
        diff = latest - prior
        return f"{'+' if diff >= 0 else ''}{diff:.1f} days", ""
    if prior == 0:
        return "prior month $0", ""
    change = (latest - prior) / abs(prior) * 100
    return f"{'+' if change >= 0 else ''}{change:.1f}%", ""


def tile(
    metric: str,
    title: str,
    value: Any,
    kind: str,
    series: list[tuple[str, Any]],
    scope: str,
    target: Target | None = None,
) -> html.Div:
    """A KPI tile: the value for the selection (money abbreviated, the exact value in the hover
    title), the last month of the selection against the month before, the target variance and a
    sparkline of the months."""
    shown = {"money": fmt_money_short, "pct": fmt_pct, "int": fmt_int, "days": fmt_days}[kind](value)
    exact = {"money": fmt_money, "pct": lambda v: fmt_pct(v, 2), "int": fmt_int, "days": fmt_days}[kind](value)
    if kind == "pct" and value is None and metric == "margin_pct":
        shown = exact = NOT_MEANINGFUL
    neg = kind == "money" and value is not None and q.to_decimal(value) < 0
    lines = []
    if len(series) >= 2:
        (p_prev, v_prev), (p_last, v_last) = series[-2], series[-1]
        text, _ = _variance(v_last, v_prev, "money" if kind in ("money", "int") else kind)
        lines.append(html.Div(f"{p_last} vs {p_prev}: {text}", className="delta", **{"data-role": "prior"}))
    else:
        lines.append(html.Div("no prior month in the selection", className="delta", **{"data-role": "prior"}))
    if target is not None:
        if value is None:
            lines.append(html.Div(f"target {_fmt(target.value, kind)}", className="delta"))
        else:
            diff = q.to_decimal(value) - target.value
            good = diff >= 0 if target.higher_is_better else diff <= 0
            shown_diff = f"{diff * 100:+.1f} pts" if kind == "pct" else f"{diff:+.1f} days"
            lines.append(
                html.Div(
                    f"target {_fmt(target.value, kind)}: {shown_diff}",
                    className="delta " + ("good" if good else "bad"),
                    title=target.note,
                    **{"data-role": "target"},
                )
            )
    return html.Div(
        [
            html.Div(title, className="label"),
            html.Div(shown, className="value" + (" neg" if neg else ""), title=exact),
            *lines,
            sparkline([v for _, v in series]) if len(series) >= 2 else html.Div(style={"height": "34px"}),
            html.Div(scope, className="scope"),
        ],
        className="kpi",
        **{"data-metric": metric, "data-value": "" if value is None else str(value)},
    )


def _fmt(v: Any, kind: str) -> str:
    return {"money": fmt_money, "pct": fmt_pct, "int": fmt_int, "days": fmt_days}[kind](v)


# --------------------------------------------------------------------------- page content


def _margin_pct(row: dict[str, Any]) -> Any:
    """The row's margin %, or None ("n/m") below the revenue floor."""
    if not margin_is_meaningful(row.get("net_revenue_amount"), row.get("gross_charge_amount")):
        return None
    return row.get("margin_pct")


def _with_margin(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r | {"margin_pct": _margin_pct(r)} for r in rows]


class Views:
    """The tables of the pages by id, each a function of (cursor, filters, names): the layout
    shows them and the export callback writes the same rows."""

    def __init__(self) -> None:
        self.tables: dict[str, Callable[[Any, q.Filters, q.Names], TableData]] = {
            "table-margin-month": self.margin_month,
            "table-margin-sl": self.margin_sl,
            "table-ar-aging": self.ar_aging,
            "table-ar-balances": self.ar_balances,
            "table-ar-days": self.ar_days,
            "table-denial-category": self.denial_category,
            "table-denial-payer": self.denial_payer,
            "table-denial-month": self.denial_month,
            "table-reimbursement": self.reimbursement,
            "table-reconciliation": self.reconciliation,
            "table-exceptions": self.exceptions,
            "table-exception-detail": self.exception_detail,
            "table-freshness": self.freshness,
            "table-weekly": self.weekly,
        }

    @staticmethod
    def margin_month(cur: Any, f: q.Filters, n: q.Names) -> TableData:
        rows = q.margin_by_month(cur, f).dicts()
        share = q.unremitted_share_by_month(cur, f)
        rows = [r | {"unremitted_claim_pct": share.get(r["period_id"])} for r in _with_margin(rows)]
        cols = [
            "period_id",
            "encounter_count",
            "gross_charge_amount",
            "net_revenue_amount",
            "direct_cost_amount",
            "indirect_cost_amount",
            "contribution_margin_amount",
            "margin_pct",
            "unremitted_claim_pct",
        ]
        return TableData("Service-line margin by month", cols, rows)

    @staticmethod
    def margin_sl(cur: Any, f: q.Filters, n: q.Names) -> TableData:
        rows = _with_margin(q.margin_by_facility_service_line(cur, f).dicts())
        rows = [
            r
            | {
                "facility_name": n.of("facility", r["facility_id"]),
                "service_line_name": n.of("service_line", r["service_line_code"]),
            }
            for r in rows
        ]
        cols = [
            "facility_name",
            "service_line_name",
            "encounter_count",
            "gross_charge_amount",
            "net_revenue_amount",
            "direct_cost_amount",
            "indirect_cost_amount",
            "contribution_margin_amount",
            "margin_pct",
        ]
        return TableData("Margin by facility and service line", cols, rows)

    @staticmethod
    def ar_aging(cur: Any, f: q.Filters, n: q.Names) -> TableData:
        period = q.ar_as_of_period(cur, f)
        rows = q.ar_aging(cur, f, period).dicts() if period else []
        rows = [
            r
            | {
                "payer_class_name": "All payer classes (AR-1)"
                if r["payer_class"] is None
                else n.of("payer_class", r["payer_class"])
            }
            for r in rows
        ]
        cols = ["aging_basis", "payer_class_name", *(c for c, _ in q.AR_BUCKETS)]
        return TableData(f"A/R aging at {period or '-'} period end", cols, rows)

    def ar_balances(self, cur: Any, f: q.Filters, n: q.Names) -> TableData:
        return self.balances_of(self.ar_aging(cur, f, n))

    @staticmethod
    def balances_of(aging: TableData) -> TableData:
        """The aging rows' claims, balances and aged share: a second table, so that neither
        needs more than a 1024 px screen (buckets and balances together were 13 columns)."""
        cols = ["aging_basis", "payer_class_name", "claim_count", "gross_balance_amount"]
        cols += ["reserve_balance_amount", "net_balance_amount", "billed_ar_amount", "aged_over_90_pct"]
        return TableData(aging.title.replace("aging", "balances", 1), cols, aging.rows)

    @staticmethod
    def ar_days(cur: Any, f: q.Filters, n: q.Names) -> TableData:
        cols = ["period_id", "net_ar_amount", "avg_daily_net_revenue_amount", "net_days_in_ar"]
        return TableData("Net A/R and net days in A/R by month", cols, q.ar_kpis_by_month(cur, f).dicts())

    @staticmethod
    def _rate_cols() -> list[str]:
        return ["denied_claim_count", "denied_amount", "initial_denial_rate", "overturn_rate", "written_off_amount"]

    def denial_category(self, cur: Any, f: q.Filters, n: q.Names) -> TableData:
        rows = q.denials_by(cur, f, "denial_category").dicts()
        return TableData("Denials by category", ["denial_category", *self._rate_cols()], rows)

    def denial_payer(self, cur: Any, f: q.Filters, n: q.Names) -> TableData:
        _, _, payers = q.denial_rollups(cur, f)
        rows = [r | {"payer_class_name": n.of("payer_class", r["payer_class"])} for r in payers.dicts()]
        return TableData("Denials by payer", ["payer_name", "payer_class_name", *self._rate_cols()], rows)

    def denial_month(self, cur: Any, f: q.Filters, n: q.Names) -> TableData:
        _, months, _ = q.denial_rollups(cur, f)
        rows = months.dicts()
        kpi = q.kpi_initial_denial_rates(cur, f)
        if kpi is not None:  # all first adjudications, not only groups with a denial
            rows = [r | {"initial_denial_rate": kpi[1].get(r["period_id"])} for r in rows]
        return TableData("Denials by month", ["period_id", *self._rate_cols()], rows)

    @staticmethod
    def reimbursement(cur: Any, f: q.Filters, n: q.Names) -> TableData:
        rows = [
            r | {"payer_class_name": n.of("payer_class", r["payer_class"])}
            for r in q.reimbursement_by_payer_class(cur, f).dicts()
        ]
        cols = [
            "payer_class_name",
            "claim_count",
            "charge_amount",
            "payment_amount",
            "contractual_adjustment_amount",
            "denial_amount",
            "patient_responsibility_amount",
        ]
        return TableData("Reimbursement by payer class", cols, rows)

    @staticmethod
    def reconciliation(cur: Any, f: q.Filters, n: q.Names) -> TableData:
        rows, _ = q.reconciliation_status(cur, f)
        return TableData("Reconciliation checkpoints", rows.columns, rows.dicts())

    @staticmethod
    def exceptions(cur: Any, f: q.Filters, n: q.Names) -> TableData:
        rows, _ = q.open_exceptions(cur, f)
        return TableData("Open exceptions", rows.columns, rows.dicts())

    @staticmethod
    def exception_detail(cur: Any, f: q.Filters, n: q.Names) -> TableData:
        rows = [r | {"facility_name": n.of("facility", r["facility_id"])} for r in q.top_exceptions(cur, f).dicts()]
        cols = ["exception_date", "facility_name", "reason_code", "source_entity", "source_id", "amount", "detail"]
        return TableData("Largest open exceptions", cols, rows)

    @staticmethod
    def freshness(cur: Any, f: q.Filters, n: q.Names) -> TableData:
        rows = [r | {"age": q.age(r["last_loaded_at"])} for r in q.freshness(cur).dicts()]
        cols = [
            "source_system",
            "format",
            "last_loaded_at",
            "age",
            "landed_batch_count",
            "failed_batch_count",
            "rows_accepted",
            "rows_quarantined",
        ]
        return TableData("Data freshness by source", cols, rows)

    @staticmethod
    def weekly(cur: Any, f: q.Filters, n: q.Names) -> TableData:
        rows, total = q.margin_weekly(cur, f)
        data = _with_margin(rows.dicts())
        data = [
            r
            | {
                "facility_name": n.of("facility", r["facility_id"]),
                "service_line_name": n.of("service_line", r["service_line_code"]),
            }
            for r in data
        ]
        cols = [
            "week_start_date",
            "facility_name",
            "provider_name",
            "rendering_npi",
            "service_line_name",
            "encounter_count",
            "gross_charge_amount",
            "net_revenue_amount",
            "direct_cost_amount",
            "indirect_cost_amount",
            "contribution_margin_amount",
            "margin_pct",
        ]
        title = "Weekly margin by location and physician"
        if total > len(data):
            title += f" (first {len(data):,} of {total:,} rows)"
        return TableData(title, cols, data)


VIEWS = Views()

#: Filters each section cannot apply (its mart has no such column) and why.
NO_PAYER = (("payer_class",), "the margin marts have no payer class")
NO_FAC_SL = (("facility", "service_line"), "the aging mart has no facility or service line")
KPI_MART = (("payer_class", "service_line"), "mart_revenue_cycle_kpis is by period x facility")
RECON = (("payer_class", "service_line"), "reconciliation is by facility x day")


def banner(dq: q.DataQuality) -> html.Div:
    """The data-quality banner: what is not (yet) in the figures, with amounts."""
    items = [
        f"{dq.rows_quarantined:,} source rows in quarantine (not in any figure until fixed and replayed)",
        f"{dq.failed_batches:,} failed batches",
        f"{dq.open_exceptions:,} open reconciliation exceptions, {fmt_money(dq.open_exception_amount)}",
        f"{dq.held_journals:,} journals held back from the ERP, {fmt_money(dq.held_amount)} not posted",
    ]
    items += [
        f"data-quality check {name}: {rows:,} rows, {fmt_money(amount)}" for name, rows, amount in dq.failing_checks
    ]
    if dq.schema_changes is not None:
        items.append(f"{dq.schema_changes:,} open source schema changes")
    head = (
        "Data quality: nothing held back, quarantined or open"
        if dq.clean
        else "Data quality: not everything is in these figures"
    )
    return html.Div(
        [html.Strong(head), html.Ul([html.Li(t) for t in items])],
        id="dq-banner",
        className="banner " + ("ok" if dq.clean else "warn"),
        **{
            "data-quarantined": str(dq.rows_quarantined),
            "data-open-exceptions": str(dq.open_exceptions),
            "data-open-exception-amount": str(dq.open_exception_amount),
            "data-held-journals": str(dq.held_journals),
            "data-held-amount": str(dq.held_amount),
        },
    )


def filter_bar(f: q.Filters, opts: dict[str, list[tuple[str, str]]]) -> html.Div:
    def dd(fid: str, text: str, options: list[tuple[str, str]], value: str, placeholder: str) -> html.Label:
        return html.Label(
            [
                text,
                dcc.Dropdown(
                    id=f"filter-{fid}",
                    options=[{"label": t, "value": v} for v, t in options],
                    value=value or None,
                    placeholder=placeholder,
                    clearable=True,
                ),
            ]
        )

    return html.Div(
        [
            dd("period_from", "Period from", opts["period"], f.period_from, "First"),
            dd("period_to", "Period to", opts["period"], f.period_to, "Latest"),
            dd("facility", "Facility", opts["facility"], f.facility, "All facilities"),
            dd("service_line", "Service line", opts["service_line"], f.service_line, "All service lines"),
            dd("payer_class", "Payer class", opts["payer_class"], f.payer_class, "All payer classes"),
        ],
        className="filters",
    )


def section(sid: str, title: str, scope: str, *children: Any, **attrs: str) -> html.Section:
    return html.Section(
        [html.H2(title), html.Div(scope, className="scope"), *children], id=sid, className="card", **attrs
    )


def overview(cur: Any, f: q.Filters, n: q.Names, targets: dict[str, Target]) -> list[Any]:
    s = Scope(f, n)
    m = q.margin_totals(cur, f)
    m["margin_pct"] = _margin_pct(m)
    months = VIEWS.margin_month(cur, f, n)
    md = months.rows
    d, by_month, _ = q.denial_rollups(cur, f)
    kpi_rates = q.kpi_initial_denial_rates(cur, f)
    if kpi_rates is not None:
        d["initial_denial_rate"] = kpi_rates[0]
    denial_months = VIEWS.denial_month(cur, f, n).rows
    ar_months = q.ar_kpis_by_month(cur, f).dicts()
    ar_last = ar_months[-1] if ar_months else {}
    dq = q.data_quality(cur, f)
    margin_scope = s.describe(*NO_PAYER)
    denial_rate_scope = s.describe(*KPI_MART) if kpi_rates is not None else s.describe()

    def series(rows: list[dict[str, Any]], col: str) -> list[tuple[str, Any]]:
        return [(r["period_id"], r.get(col)) for r in rows]

    tiles = html.Div(
        [
            tile(
                "gross_charge_amount",
                "Gross charges",
                m["gross_charge_amount"],
                "money",
                series(md, "gross_charge_amount"),
                margin_scope,
            ),
            tile(
                "net_revenue_amount",
                "Net revenue",
                m["net_revenue_amount"],
                "money",
                series(md, "net_revenue_amount"),
                margin_scope,
            ),
            tile(
                "contribution_margin_amount",
                "Contribution margin",
                m["contribution_margin_amount"],
                "money",
                series(md, "contribution_margin_amount"),
                margin_scope,
            ),
            tile(
                "margin_pct",
                "Margin",
                m["margin_pct"],
                "pct",
                series(md, "margin_pct"),
                margin_scope,
                targets.get("margin_pct"),
            ),
            tile(
                "net_ar_amount",
                f"Net A/R {ar_last.get('period_id', '')}".strip(),
                ar_last.get("net_ar_amount"),
                "money",
                series(ar_months, "net_ar_amount"),
                s.describe(*KPI_MART),
            ),
            tile(
                "net_days_in_ar",
                "Net days in A/R",
                ar_last.get("net_days_in_ar"),
                "days",
                series(ar_months, "net_days_in_ar"),
                s.describe(*KPI_MART),
                targets.get("net_days_in_ar"),
            ),
            tile(
                "denied_amount",
                "Denied",
                d.get("denied_amount"),
                "money",
                series(denial_months, "denied_amount"),
                s.describe(),
            ),
            tile(
                "initial_denial_rate",
                "Initial denial rate",
                d.get("initial_denial_rate"),
                "pct",
                series(denial_months, "initial_denial_rate"),
                denial_rate_scope,
                targets.get("initial_denial_rate"),
            ),
            tile(
                "overturn_rate",
                "Overturn rate",
                d.get("overturn_rate"),
                "pct",
                series(denial_months, "overturn_rate"),
                s.describe(),
                targets.get("overturn_rate"),
            ),
            tile(
                "open_exception_amount",
                f"Open exceptions ({dq.open_exceptions:,})",
                dq.open_exception_amount,
                "money",
                [],
                s.describe(*RECON),
            ),
            tile(
                "held_amount",
                f"Held, not posted ({dq.held_journals:,})",
                dq.held_amount,
                "money",
                [],
                s.describe(*RECON),
            ),
        ],
        className="kpis",
        id="kpis",
    )

    caveats = [
        f"{r['period_id']}: {fmt_pct(r['unremitted_claim_pct'])} of the claims billed in the month have no remittance yet"
        for r in md
        if r.get("unremitted_claim_pct") and r["unremitted_claim_pct"] >= Decimal("0.05")
    ]
    caveat = html.Div(
        (
            "Completeness: "
            + "; ".join(caveats)
            + ". Their payments, adjustments and denials are still to come, so recent months' net revenue and "
            "margin will change (facility filter applies; all payer classes and service lines)."
        )
        if caveats
        else "Completeness: every month shown has at least 95% of its billed claims remitted.",
        className="caveat",
        id="completeness",
    )
    trend = bar_line(
        [r["period_id"] for r in md],
        [
            ("Net revenue", [r["net_revenue_amount"] for r in md], "#2e90fa"),
            (
                "Total cost",
                [q.to_decimal(r["direct_cost_amount"]) + q.to_decimal(r["indirect_cost_amount"]) for r in md],
                "#98a2b3",
            ),
        ],
        ("Contribution margin", [r["contribution_margin_amount"] for r in md], "#12b76a"),
    )

    period = q.ar_as_of_period(cur, f)
    aging = VIEWS.ar_aging(cur, f, n)
    totals = {r["aging_basis"]: r for r in aging.rows if r["payer_class"] is None}
    aging_fig = bar_line(
        [b for _, b in q.AR_BUCKETS],
        [
            (f"{basis.capitalize()} basis", [totals.get(basis, {}).get(c) for c, _ in q.AR_BUCKETS], colour)
            for basis, colour in (("discharge", "#2e90fa"), ("bill", "#f79009"))
        ],
    )
    days_fig = bar_line(
        [r["period_id"] for r in ar_months], [("Net A/R", [r["net_ar_amount"] for r in ar_months], "#98a2b3")]
    )

    dm = denial_months
    denial_fig = bar_line(
        [r["period_id"] for r in dm],
        [("Denied amount", [r["denied_amount"] for r in dm], "#f79009")],
        ("Initial denial rate", [r["initial_denial_rate"] for r in dm], "#d92d20"),
        line_pct=True,
    )
    recon_rows, status = q.reconciliation_status(cur, f)
    days, ok = int(status["facility_day_count"] or 0), int(status["reconciled_count"] or 0)

    def table(tid: str, height: int = 420) -> html.Div:
        return data_table(tid, VIEWS.tables[tid](cur, f, n), height=height)

    weekly_link = "/weekly?" + urlencode(f.as_query())
    return [
        banner(dq),
        tiles,
        section(
            "margin-trend",
            "Service-line margin by month",
            margin_scope,
            caveat,
            graph("chart-margin-trend", trend),
            data_table("table-margin-month", months),
            html.P(
                "Net revenue = gross charges - contractual adjustments - denials. Margin % is n/m (not meaningful) "
                "when net revenue is below $250 or below 5% of gross charges.",
                className="note",
            ),
        ),
        section(
            "ar",
            f"A/R aging at {period or '-'} period end and days in A/R",
            s.describe(*NO_FAC_SL),
            html.Div(
                [
                    html.Div([html.H3("Gross payer A/R by bucket, both bases"), graph("chart-ar-aging", aging_fig)]),
                    html.Div([html.H3("Net A/R by month"), graph("chart-ar-days", days_fig)]),
                ],
                className="grid2",
            ),
            data_table("table-ar-aging", aging),
            html.H3("Claims, gross, reserve and net balances, aged over 90 days"),
            data_table("table-ar-balances", VIEWS.balances_of(aging)),  # the rows read above, not read again
            html.H3("Net A/R and net days in A/R by month (" + s.describe(*KPI_MART) + ")"),
            table("table-ar-days"),
            html.P(
                "Aged over 90 days = billed A/R over 90 days / billed A/R (HFMA AR-2 per payer class, AR-1 over "
                "all). Net days in A/R = net A/R (payer A/R net of the contractual reserve + patient A/R) / average "
                "daily net revenue of the last three periods (mart_revenue_cycle_kpis).",
                className="note",
            ),
            **{"data-period": period or ""},
        ),
        section(
            "margin-by-service-line",
            "Margin by facility and service line",
            margin_scope,
            html.A(
                "Weekly drill-down by location and physician for these filters \u2192", href=weekly_link, id="to-weekly"
            ),
            table("table-margin-sl"),
        ),
        section(
            "denials",
            "Denial trends",
            s.describe(),
            graph("chart-denials", denial_fig),
            html.Div(
                [
                    html.Div([html.H3("By category"), table("table-denial-category")]),
                    html.Div([html.H3("By payer"), table("table-denial-payer")]),
                ],
                className="grid2",
            ),
            html.H3("By month"),
            table("table-denial-month"),
            html.P(
                "Initial denial rate: claims whose first adjudication carried a denial over claims adjudicated "
                "(mart_revenue_cycle_kpis without a payer class or service line filter; otherwise the denial-trend "
                "groups). Overturn rate: overturned over denied claims.",
                className="note",
            ),
        ),
        section("reimbursement", "Reimbursement by payer class", s.describe(), table("table-reimbursement")),
        section(
            "reconciliation",
            f"Reconciliation status: {ok:,} of {days:,} facility-days reconciled",
            s.describe(*RECON),
            html.Div(
                [
                    html.Div(
                        [
                            html.H3(
                                "Checkpoints (encounter \u2192 charge \u2192 claim \u2192 remittance \u2192 journal)"
                            ),
                            table("table-reconciliation"),
                        ]
                    ),
                    html.Div([html.H3(f"Open exceptions: {dq.open_exceptions:,}"), table("table-exceptions")]),
                ],
                className="grid2",
            ),
            html.H3("Largest open exceptions"),
            table("table-exception-detail"),
            **{"data-days": str(days), "data-reconciled": str(ok), "data-rows": str(len(recon_rows.rows))},
        ),
        section(
            "freshness", "Data freshness by source", "Filters: not applicable (all sources)", table("table-freshness")
        ),
    ]


def weekly(cur: Any, f: q.Filters, n: q.Names) -> list[Any]:
    s = Scope(f, n)
    trend = q.margin_weekly_trend(cur, f).dicts()
    fig = bar_line(
        [str(r["week_start_date"]) for r in trend],
        [("Net revenue", [r["net_revenue_amount"] for r in trend], "#2e90fa")],
        ("Contribution margin", [r["contribution_margin_amount"] for r in trend], "#12b76a"),
    )
    data = VIEWS.weekly(cur, f, n)
    return [
        html.P(html.A("\u2190 back to the overview", href="/?" + urlencode(f.as_query()))),
        section(
            "weekly",
            data.title,
            s.describe(*NO_PAYER),
            graph("chart-weekly", fig),
            data_table("table-weekly", data, height=900),
            html.P(
                f"Physicians appear in a week when they have an encounter or a charge; money of a week with neither "
                f"(denials and adjustments of earlier claims) is one row per facility and service line, "
                f"'{q.LATER_ADJUSTMENTS}'. Margin % is n/m below $250 of net revenue or 5% of gross charges.",
                className="note",
            ),
        ),
    ]


# --------------------------------------------------------------------------- app


def _filters(search: str | None) -> q.Filters:
    return q.Filters.from_query(parse_qs((search or "").lstrip("?")))


def _message(title: str, text: str) -> list[Any]:
    return [html.Section([html.H2(title), html.P(text)], className="card", id="message")]


def create_app(serving_dir: Path) -> Dash:
    """The Dash app over the snapshot folder (follows ``current`` to each newer snapshot)."""
    snap = q.Snapshot(Path(serving_dir))
    targets = load_targets()
    app = Dash(__name__, title="careledger executive dashboard", update_title=None, suppress_callback_exceptions=True)
    app.index_string = INDEX
    app.layout = html.Div(
        [
            dcc.Location(id="url"),
            dcc.Download(id="download"),
            html.Header(
                [
                    html.H1("careledger \u00b7 executive dashboard"),
                    html.Div(
                        [
                            html.Span(id="snapshot"),
                            html.A("Overview", href="/"),
                            html.A("Weekly drill-down", href="/weekly"),
                        ],
                        className="meta",
                    ),
                ],
                className="top",
            ),
            html.Main(
                [html.Div(id="filter-bar"), html.Div(id="filter-state", className="filter-state"), html.Div(id="page")]
            ),
        ]
    )

    @app.callback(
        Output("page", "children"),
        Output("filter-bar", "children"),
        Output("filter-state", "children"),
        Output("snapshot", "children"),
        Input("url", "pathname"),
        Input("url", "search"),
    )
    def render(pathname: str | None, search: str | None) -> tuple[Any, Any, Any, Any]:
        f = _filters(search)
        started = time.perf_counter()
        try:
            snap.require_marts()
            cur = snap.cursor()
        except FileNotFoundError as exc:
            return _message("No snapshot yet", str(exc)), None, "", ""
        except q.MissingMarts as exc:
            return _message("Snapshot incomplete", str(exc)), None, "", ""
        try:
            n = q.names(cur)
            opts = q.filter_options(cur, n)
            if pathname == "/weekly":
                page = weekly(cur, f, n)
            elif pathname in ("/", "", None):
                page = overview(cur, f, n, targets)
            else:
                return _message("Not found", f"no page {pathname}: open / or /weekly"), None, "", ""
        finally:
            cur.close()
        log.info("render %s%s %.0f ms", pathname, search or "", (time.perf_counter() - started) * 1000)
        version = snap.manifest.get("version", "")
        published = q.snapshot_published_at(snap)[:19].replace("T", " ")
        state = Scope(f, n).describe()
        return page, filter_bar(f, opts), state, f"serving snapshot {version} \u00b7 published {published} UTC"

    @app.callback(
        Output("url", "search"),
        *(Input(f"filter-{k}", "value") for k in FILTERS),
        State("url", "search"),
        prevent_initial_call=True,
    )
    def apply_filters(*values: Any) -> Any:
        *chosen, search = values
        query = urlencode({k: v for k, v in zip(FILTERS, chosen) if v})
        new = f"?{query}" if query else ""
        return no_update if new == (search or "") else new

    @app.callback(
        Output("download", "data"),
        Input({"type": "export", "table": ALL, "fmt": ALL}, "n_clicks"),
        State("url", "pathname"),
        State("url", "search"),
        prevent_initial_call=True,
    )
    def export(clicks: list[int | None], pathname: str | None, search: str | None) -> Any:
        trigger = ctx.triggered_id
        if not trigger or not any(clicks):
            return no_update
        cur = snap.cursor()
        try:
            n = q.names(cur)
            data = VIEWS.tables[trigger["table"]](cur, _filters(search), n)
        finally:
            cur.close()
        name = f"{trigger['table'].removeprefix('table-')}.{trigger['fmt']}"
        if trigger["fmt"] == "csv":
            return dcc.send_string(export_csv(data), name)
        return dcc.send_bytes(export_xlsx(data, Scope(_filters(search), n).describe()), name)

    app.clientside_callback(
        # first render time (navigation start -> page content in the DOM), read by the bench;
        # once the tables have laid out, the ids of those wider than their card (they would
        # scroll sideways), read by the browser test at 1400 and 1024 px
        "function(c){if(c){var d=document.documentElement;"
        "d.setAttribute('data-render-ms',Math.round(performance.now()));"
        "setTimeout(function(){var wide=[];"
        "document.querySelectorAll('.dash-table-container').forEach(function(t){"
        "var box=t.querySelector('.dash-spreadsheet-container')||t,cells=t.querySelector('table');"
        "if(cells&&cells.scrollWidth>box.clientWidth+1){wide.push(t.id+':'+cells.scrollWidth+'/'+box.clientWidth);}});"
        "d.setAttribute('data-wide-tables',wide.join(' '));},500);}"
        "return window.dash_clientside.no_update;}",
        Output("filter-state", "title"),
        Input("page", "children"),
    )

    @app.server.route("/healthz")
    def healthz() -> tuple[str, int, dict[str, str]]:
        try:
            snap.cursor().close()
        except FileNotFoundError as exc:
            return f"no snapshot: {exc}\n", 503, {"Content-Type": "text/plain"}
        return f"ok {snap.manifest.get('version', '')}\n", 200, {"Content-Type": "text/plain"}

    return app


# --------------------------------------------------------------------------- exports


def export_csv(data: TableData) -> str:
    """A table as CSV, readable headers, formula characters escaped (extracts.csv_safe)."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow([label(c) for c in data.columns])
    w.writerows([csv_safe(r.get(c)) for c in data.columns] for r in data.rows)
    return out.getvalue()


def export_xlsx(data: TableData, scope: str) -> bytes:
    """A table as an xlsx workbook: title and filters on top, frozen header with autofilter;
    text only through write_string with formulas, URLs and numbers-from-strings off."""
    import xlsxwriter

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(
        buf, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False}
    )
    ws = wb.add_worksheet(data.title[:31].replace("/", "-"))
    f_title = wb.add_format({"bold": True, "font_size": 13})
    f_head = wb.add_format({"bold": True, "bg_color": "#1f3a5f", "font_color": "white", "text_wrap": True})
    formats = {
        "money": wb.add_format({"num_format": "$#,##0.00;-$#,##0.00"}),
        "pct": wb.add_format({"num_format": "0.0%"}),
        "number": wb.add_format({"num_format": "#,##0.##"}),
    }
    ws.write_string(0, 0, data.title, f_title)
    ws.write_string(1, 0, f"careledger dashboard export; {scope}")
    for j, c in enumerate(data.columns):
        ws.write_string(3, j, label(c), f_head)
        ws.set_column(j, j, max(11, min(len(label(c)) + 2, 40)))
    for i, r in enumerate(data.rows, start=4):
        for j, c in enumerate(data.columns):
            v = r.get(c)
            kind = _kind(c)
            if v is None:
                if c == "margin_pct":
                    ws.write_string(i, j, NOT_MEANINGFUL)
                continue
            if kind in formats and isinstance(v, (int, float, Decimal)) and not isinstance(v, bool):
                ws.write_number(i, j, float(v), formats[kind])
            else:
                ws.write_string(i, j, str(v))
    ws.freeze_panes(4, 0)
    ws.autofilter(3, 0, 3 + max(len(data.rows), 1), len(data.columns) - 1)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    wb.close()
    return buf.getvalue()


# --------------------------------------------------------------------------- server


def serve(serving_dir: Path, host: str = "127.0.0.1", port: int = 8050) -> None:
    """Serve the dashboard until Ctrl-C or SIGTERM (blocking; a threaded WSGI server)."""
    from werkzeug.serving import make_server

    server = make_server(host, port, create_app(serving_dir).server, threaded=True)

    def stop(signum: int, frame: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    previous = signal.signal(signal.SIGTERM, stop)
    log.info("careledger dashboard on http://%s:%s/ (serving %s)", host, port, serving_dir)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        signal.signal(signal.SIGTERM, previous)


@dataclass
class RunningDashboard:
    """A dashboard started as a subprocess (see :func:`start_subprocess`)."""

    process: subprocess.Popen[bytes]
    url: str

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def start_subprocess(
    serving_dir: Path, host: str = "127.0.0.1", port: int | None = None, timeout: float = 60.0
) -> RunningDashboard:
    """Start ``python -m careledger.dashboard.app`` in a subprocess and wait until /healthz answers."""
    port = port or free_port(host)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "careledger.dashboard.app",
            "--serving-dir",
            str(serving_dir),
            "--host",
            host,
            "--port",
            str(port),
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://{host}:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise RuntimeError(f"dashboard exited with {proc.returncode}: {err[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as resp:
                if resp.status == 200:
                    return RunningDashboard(proc, url)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    RunningDashboard(proc, url).stop()
    raise RuntimeError(f"dashboard did not answer on {url} within {timeout:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="careledger dashboard", description="Serve the executive dashboard.")
    parser.add_argument(
        "--serving-dir", type=Path, default=None, help="serving snapshot folder (default $CARELEDGER_HOME/serving)"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8050)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    serve(args.serving_dir or Home.from_env().serving, args.host, args.port)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
