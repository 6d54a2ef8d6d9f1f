"""careledger executive dashboard: a small server-rendered HTML app over the serving snapshot.

No JavaScript framework, no warehouse access: each request runs a few aggregate queries on the
read-only ``serving.duckdb`` (see ``careledger.dashboard.queries``), renders HTML with inline SVG charts
and GET-form filters. Pages:

- ``/``        KPIs, service-line margin trend by month and by facility x service line,
               denial trends (month, category, payer) with initial denial and overturn rates,
               reimbursement by payer class, reconciliation status, open exceptions, freshness.
- ``/weekly``  drill-down: weekly location (facility) x physician margin for the filters.
- ``/healthz`` ``ok <snapshot version>`` (used by tests and process supervisors).

Start it with ``python -m careledger.dashboard.app --serving-dir DIR [--host 127.0.0.1] [--port 8050]``
(the ``careledger dashboard`` command calls :func:`serve`).
"""

from __future__ import annotations

import argparse
import html
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from careledger.config import Home
from careledger.dashboard import queries as q
from careledger.dashboard.charts import bar_line_chart
from careledger.dashboard.formatting import fmt_days, fmt_int, fmt_money, fmt_pct

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]

CSS = """
:root { --ink:#1d2939; --muted:#667085; --line:#e4e7ec; --brand:#1f3a5f; --accent:#2e90fa;
        --good:#12b76a; --bad:#d92d20; --bg:#f5f7fa; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color:var(--ink); background:var(--bg); }
header { background:var(--brand); color:#fff; padding:14px 28px; display:flex;
         justify-content:space-between; align-items:baseline; }
header h1 { margin:0; font-size:20px; font-weight:600; }
header .meta { font-size:12px; opacity:.8; }
main { padding:18px 28px 40px; max-width:1400px; margin:0 auto; }
form.filters { display:flex; gap:12px; flex-wrap:wrap; align-items:end; background:#fff;
               border:1px solid var(--line); border-radius:8px; padding:12px 16px; }
form.filters label { display:flex; flex-direction:column; font-size:12px; color:var(--muted); }
form.filters select { margin-top:3px; padding:5px 8px; border:1px solid var(--line);
                      border-radius:6px; min-width:140px; font-size:13px; }
form.filters button { padding:7px 16px; background:var(--brand); color:#fff; border:0;
                      border-radius:6px; font-weight:600; cursor:pointer; }
form.filters a { font-size:12px; color:var(--muted); }
.kpis { display:grid; grid-template-columns:repeat(auto-fit, minmax(200px, 1fr)); gap:12px;
        margin:16px 0; }
.kpi { background:#fff; border:1px solid var(--line); border-radius:8px; padding:12px 14px; }
.kpi .label { font-size:12px; color:var(--muted); text-transform:uppercase; letter-spacing:.03em; }
.kpi .value { font-size:21px; font-weight:650; margin-top:4px; white-space:nowrap; }
.kpi .value.neg { color:var(--bad); }
section.card { background:#fff; border:1px solid var(--line); border-radius:8px;
               padding:14px 18px; margin-top:16px; }
section.card h2 { font-size:16px; margin:0 0 10px; }
section.card h3 { font-size:13px; margin:14px 0 6px; color:var(--muted); }
.grid2 { display:grid; grid-template-columns:minmax(0, 1fr) minmax(0, 1fr); gap:16px; }
.grid2 > div { min-width:0; overflow-x:auto; }
section.card { overflow-x:auto; }
@media (max-width: 1100px) { .grid2 { grid-template-columns:1fr; } }
table { border-collapse:collapse; width:100%; font-size:12.5px; }
th { text-align:left; color:var(--muted); font-weight:600; border-bottom:1px solid var(--line);
     padding:5px 8px; white-space:nowrap; }
td { border-bottom:1px solid #f0f2f5; padding:4px 8px; white-space:nowrap; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
td.neg { color:var(--bad); }
tr.total td { font-weight:650; border-top:2px solid var(--line); }
.scroll { max-height:420px; overflow:auto; }
.note { color:var(--muted); font-size:12px; }
.badge { display:inline-block; padding:1px 8px; border-radius:10px; font-size:11.5px;
         font-weight:600; }
.badge.ok { background:#ecfdf3; color:#027a48; } .badge.warn { background:#fffaeb; color:#b54708; }
.badge.bad { background:#fef3f2; color:#b42318; }
a { color:#175cd3; text-decoration:none; } a:hover { text-decoration:underline; }
svg text { font-family: inherit; }
"""


# --------------------------------------------------------------------------- html helpers


def esc(v: Any) -> str:
    return html.escape("" if v is None else str(v))


def _cell(col: str, v: Any) -> str:
    if col.endswith("_amount") or col == "amount":
        neg = v is not None and q.to_decimal(v) < 0
        return f'<td class="num{" neg" if neg else ""}">{esc(fmt_money(v))}</td>'
    if col.endswith(("_pct", "_rate")):
        return f'<td class="num">{esc(fmt_pct(v))}</td>'
    if col.endswith("_count") or col in ("rows_accepted", "rows_quarantined"):
        return f'<td class="num">{esc(fmt_int(v))}</td>'
    return f"<td>{esc(v)}</td>"


def _label(col: str) -> str:
    text = col.replace("_amount", "").replace("_id", "").replace("_code", "")
    return text.replace("_", " ").strip().capitalize()


def table(
    rows: q.Rows,
    columns: list[str] | None = None,
    *,
    table_id: str = "",
    total: dict[str, Any] | None = None,
    link: Callable[[dict[str, Any]], tuple[str, str]] | None = None,
) -> str:
    cols = columns or rows.columns
    head = "".join(
        f'<th class="{"num" if c.endswith(("_amount", "_count", "_pct", "_rate")) or c == "amount" else ""}">'
        f"{esc(_label(c))}</th>"
        for c in cols
    )
    body = []
    for d in rows.dicts():
        cells = []
        for c in cols:
            if link and c == link(d)[0]:
                cells.append(f'<td><a href="{esc(link(d)[1])}">{esc(d.get(c))}</a></td>')
            else:
                cells.append(_cell(c, d.get(c)))
        body.append("<tr>" + "".join(cells) + "</tr>")
    if total is not None:
        cells = [_cell(c, total.get(c)) if c in total else "<td></td>" for c in cols]
        cells[0] = "<td>Total</td>"
        body.append('<tr class="total">' + "".join(cells) + "</tr>")
    if not rows.rows:
        body.append(f'<tr><td colspan="{len(cols)}" class="note">no rows for these filters</td></tr>')
    tid = f' id="{esc(table_id)}"' if table_id else ""
    return f"<table{tid}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def kpi(metric: str, label: str, value: Any, kind: str = "money") -> str:
    shown = {"money": fmt_money, "pct": fmt_pct, "int": fmt_int, "days": fmt_days}[kind](value)
    neg = kind == "money" and value is not None and q.to_decimal(value) < 0
    raw = "" if value is None else str(value)
    return (
        f'<div class="kpi" data-metric="{esc(metric)}" data-value="{esc(raw)}">'
        f'<div class="label">{esc(label)}</div>'
        f'<div class="value{" neg" if neg else ""}">{esc(shown)}</div></div>'
    )


def select(name: str, label: str, options: list[tuple[str, str]], current: str, all_label: str = "All") -> str:
    opts = [f'<option value="">{esc(all_label)}</option>'] + [
        f'<option value="{esc(v)}"{" selected" if v == current else ""}>{esc(t)}</option>' for v, t in options
    ]
    return f'<label>{esc(label)}<select name="{esc(name)}">{"".join(opts)}</select></label>'


def page(title: str, body: str, snap: q.Snapshot) -> str:
    version = snap.manifest.get("version", "")
    published = q.snapshot_published_at(snap)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<title>{esc(title)}</title><meta name="viewport" content="width=device-width">'
        f"<style>{CSS}</style></head><body>"
        f"<header><h1>careledger &middot; {esc(title)}</h1>"
        f'<div class="meta" id="snapshot" data-version="{esc(version)}">serving snapshot '
        f"{esc(version)} &middot; published {esc(published[:19].replace('T', ' '))} UTC</div>"
        f"</header><main>{body}</main>"
        # page-open time (navigation start -> load event), read by the benchmark and tests
        "<script>window.addEventListener('load',function(){setTimeout(function(){"
        "document.documentElement.setAttribute('data-load-ms',"
        "Math.round(performance.now()));},0);});</script></body></html>"
    )


def filter_form(action: str, f: q.Filters, opts: dict[str, list[tuple[str, str]]]) -> str:
    return (
        f'<form class="filters" method="get" action="{esc(action)}">'
        + select("period_from", "Period from", opts["period"], f.period_from, "First")
        + select("period_to", "Period to", opts["period"], f.period_to, "Latest")
        + select("facility", "Facility", opts["facility"], f.facility)
        + select("service_line", "Service line", opts["service_line"], f.service_line)
        + select("payer_class", "Payer class", opts["payer_class"], f.payer_class)
        + '<button type="submit">Apply</button><a href="'
        + esc(action)
        + '">reset</a></form>'
    )


# --------------------------------------------------------------------------- pages


def render_overview(snap: q.Snapshot, f: q.Filters) -> str:
    snap.require_marts()
    cur = snap.cursor()
    opts = q.filter_options(cur)
    parts = [filter_form("/", f, opts)]
    m = q.margin_totals(cur, f)
    d, by_month, payer = q.denial_rollups(cur, f)
    kpi_rates = q.kpi_initial_denial_rates(cur, f)
    if kpi_rates is not None:
        d["initial_denial_rate"] = kpi_rates[0]
    exc_rows, exc_open = q.open_exceptions(cur, f)
    ar_months = q.ar_kpis_by_month(cur, f)
    ar_last = ar_months.dicts()[-1] if ar_months.rows else {}
    parts.append(
        '<div class="kpis" id="kpis">'
        + "".join(
            [
                kpi("gross_charge_amount", "Gross charges", m["gross_charge_amount"]),
                kpi("net_revenue_amount", "Net revenue", m["net_revenue_amount"]),
                kpi("contribution_margin_amount", "Contribution margin", m["contribution_margin_amount"]),
                kpi("margin_pct", "Margin", m["margin_pct"], "pct"),
                kpi("net_ar_amount", f"Net A/R {ar_last.get('period_id', '')}".strip(), ar_last.get("net_ar_amount")),
                kpi("net_days_in_ar", "Net days in A/R", ar_last.get("net_days_in_ar"), "days"),
                kpi("denied_amount", "Denied", d.get("denied_amount")),
                kpi("initial_denial_rate", "Initial denial rate", d.get("initial_denial_rate"), "pct"),
                kpi("overturn_rate", "Overturn rate", d.get("overturn_rate"), "pct"),
                kpi("open_exception_count", "Open exceptions", exc_open, "int"),
            ]
        )
        + "</div>"
    )

    monthly = q.margin_by_month(cur, f)
    md = monthly.dicts()
    chart = bar_line_chart(
        [r["period_id"] for r in md],
        [
            ("Net revenue", [r["net_revenue_amount"] for r in md], "#2e90fa"),
            (
                "Total cost",
                [q.to_decimal(r["direct_cost_amount"]) + q.to_decimal(r["indirect_cost_amount"]) for r in md],
                "#98a2b3",
            ),
        ],
        line=("Contribution margin", [r["contribution_margin_amount"] for r in md], "#12b76a"),
        chart_id="chart-margin-trend",
    )
    trend_cols = [
        "period_id",
        "encounter_count",
        "gross_charge_amount",
        "net_revenue_amount",
        "direct_cost_amount",
        "indirect_cost_amount",
        "contribution_margin_amount",
        "margin_pct",
    ]
    parts.append(
        '<section class="card" id="margin-trend"><h2>Service-line margin by month</h2>'
        + chart
        + '<div class="scroll">'
        + table(monthly, trend_cols, table_id="table-margin-month", total=m)
        + "</div>"
        + '<p class="note">Net revenue = gross charges - contractual adjustments - denials; '
        "payer class does not apply to margin (filters denials and reimbursement).</p>"
        "</section>"
    )

    parts.append(ar_section(cur, f, ar_months))

    by_sl = q.margin_by_facility_service_line(cur, f)

    def drill(row: dict[str, Any]) -> tuple[str, str]:
        query = f.as_query(facility=row["facility_id"], service_line=row["service_line_code"])
        return "service_line_name", "/weekly?" + urlencode(query)

    parts.append(
        '<section class="card" id="margin-by-service-line"><h2>Margin by facility and service '
        'line</h2><p class="note">Select a service line to drill down to weekly location x '
        'physician.</p><div class="scroll">'
        + table(
            by_sl,
            [
                "facility_name",
                "service_line_name",
                "encounter_count",
                "gross_charge_amount",
                "net_revenue_amount",
                "direct_cost_amount",
                "indirect_cost_amount",
                "contribution_margin_amount",
                "margin_pct",
            ],
            table_id="table-margin-sl",
            link=drill,
        )
        + "</div></section>"
    )

    if kpi_rates is not None:  # all first adjudications, not only groups with a denial
        i = by_month.columns.index("initial_denial_rate")
        by_month.rows = [r[:i] + (kpi_rates[1].get(r[0]),) + r[i + 1 :] for r in by_month.rows]
    dm = by_month.dicts()
    dchart = bar_line_chart(
        [r["period_id"] for r in dm],
        [("Denied amount", [r["denied_amount"] for r in dm], "#f79009")],
        line=("Initial denial rate", [r["initial_denial_rate"] for r in dm], "#d92d20"),
        line_is_pct=True,
        chart_id="chart-denials",
    )
    cat = q.denials_by(cur, f, "denial_category")
    rate_cols = [
        "denied_claim_count",
        "denied_amount",
        "initial_denial_rate",
        "overturn_rate",
        "written_off_amount",
    ]
    parts.append(
        '<section class="card" id="denials"><h2>Denial trends</h2>'
        + dchart
        + '<div class="grid2"><div><h3>By category</h3>'
        + table(cat, ["denial_category", *rate_cols], table_id="table-denial-category")
        + '</div><div><h3>By payer</h3><div class="scroll">'
        + table(payer, ["payer_name", "payer_class", *rate_cols], table_id="table-denial-payer")
        + "</div></div></div><h3>By month</h3>"
        + table(by_month, ["period_id", *rate_cols], table_id="table-denial-month", total=d)
        + '<p class="note">Initial denial rate: claims whose first adjudication carried a '
        "denial over claims first adjudicated. Totals and months come from the revenue "
        "cycle KPIs (all adjudicated claims) unless a payer class or service line filter "
        "is set; by category and by payer (and with those filters) they come from the "
        "denial trends, where a claim denied for two reasons counts under both and only "
        "payer x facility x service line groups with a denial are in the denominator. "
        "Overturn rate: overturned over denied claims.</p></section>"
    )

    parts.append(
        '<section class="card" id="reimbursement"><h2>Reimbursement by payer class</h2>'
        + table(q.reimbursement_by_payer_class(cur, f), table_id="table-reimbursement")
        + "</section>"
    )

    recon, recon_status = q.reconciliation_status(cur, f)
    days, ok = int(recon_status["facility_day_count"] or 0), int(recon_status["reconciled_count"] or 0)
    cls = "ok" if days == ok else "warn"
    badge = (
        f'<span class="badge {cls}" id="recon-badge" data-days="{days}" '
        f'data-reconciled="{ok}">{ok:,} of {days:,} facility-days reconciled</span>'
    )
    parts.append(
        '<section class="card" id="reconciliation"><h2>Reconciliation status '
        + badge
        + '</h2><div class="grid2"><div><h3>Checkpoints '
        "(encounter &rarr; charge &rarr; claim &rarr; remittance &rarr; journal)</h3>"
        + table(recon, table_id="table-reconciliation")
        + f'</div><div><h3>Open exceptions <span class="badge {"bad" if exc_open else "ok"}">'
        f"{fmt_int(exc_open)}</span></h3>"
        + table(exc_rows, table_id="table-exceptions")
        + "</div></div>"
        + "<h3>Largest open exceptions</h3>"
        + '<div class="scroll">'
        + table(q.top_exceptions(cur, f), table_id="table-exception-detail")
        + "</div></section>"
    )

    fresh = q.freshness(cur)
    fresh_rows = []
    for r in fresh.dicts():
        ts = r.get("last_loaded_at")
        failed = int(r.get("failed_batch_count") or 0)
        badge = '<span class="badge bad">failed batches</span>' if failed else '<span class="badge ok">ok</span>'
        fresh_rows.append(
            f"<tr><td>{esc(r['source_system'])}</td><td>{esc(r['format'])}</td>"
            f"<td>{esc(str(ts)[:19] if ts else 'never')}</td><td>{esc(q.age(ts))}</td>"
            f'<td class="num">{fmt_int(r.get("landed_batch_count"))}</td>'
            f'<td class="num">{fmt_int(failed)}</td>'
            f'<td class="num">{fmt_int(r.get("rows_accepted"))}</td>'
            f'<td class="num">{fmt_int(r.get("rows_quarantined"))}</td><td>{badge}</td></tr>'
        )
    parts.append(
        '<section class="card" id="freshness"><h2>Data freshness by source</h2>'
        '<table id="table-freshness"><thead><tr><th>Source</th><th>Format</th>'
        "<th>Last loaded (UTC)</th><th>Age</th><th class=num>Batches</th>"
        "<th class=num>Failed</th><th class=num>Rows accepted</th>"
        "<th class=num>Rows quarantined</th><th>Status</th></tr></thead><tbody>"
        + ("".join(fresh_rows) or '<tr><td colspan="9" class="note">no batches</td></tr>')
        + "</tbody></table></section>"
    )
    return page("Executive dashboard", "".join(parts), snap)


def ar_section(cur: Any, f: q.Filters, ar_months: q.Rows) -> str:
    """A/R aging at the last period end of the filters (bars per bucket on both bases, table
    by payer class with AR-2 and the basis total with AR-1) and net days in A/R by month."""
    period = q.ar_as_of_period(cur, f)
    if period is None:
        return '<section class="card" id="ar"><h2>A/R aging</h2><p class="note">no A/R for these filters</p></section>'
    aging = q.ar_aging(cur, f, period)
    totals = {d["aging_basis"]: d for d in aging.dicts() if d["payer_class"] is None}
    chart = bar_line_chart(
        [label for _, label in q.AR_BUCKETS],
        [
            (f"{basis.capitalize()} basis", [totals.get(basis, {}).get(c) for c, _ in q.AR_BUCKETS], colour)
            for basis, colour in (("discharge", "#2e90fa"), ("bill", "#f79009"))
        ],
        chart_id="chart-ar-aging",
    )
    aging.rows = [(r[0], "all payer classes (AR-1)" if r[1] is None else r[1], *r[2:]) for r in aging.rows]
    days = ar_months.dicts()
    days_chart = bar_line_chart(
        [r["period_id"] for r in days],
        [("Net A/R", [r["net_ar_amount"] for r in days], "#98a2b3")],
        chart_id="chart-ar-days",
    )
    aging_cols = ["aging_basis", "payer_class", "claim_count", *(c for c, _ in q.AR_BUCKETS)]
    aging_cols += ["gross_balance_amount", "net_balance_amount", "aged_over_90_pct"]
    return (
        f'<section class="card" id="ar" data-period="{esc(period)}"><h2>A/R aging at {esc(period)} '
        "period end and days in A/R</h2>"
        + chart
        + '<div class="scroll">'
        + table(aging, aging_cols, table_id="table-ar-aging")
        + "</div><h3>Net A/R and net days in A/R by month</h3>"
        + days_chart
        + table(
            ar_months,
            ["period_id", "net_ar_amount", "avg_daily_net_revenue_amount", "net_days_in_ar"],
            table_id="table-ar-days",
        )
        + '<p class="note">Gross payer A/R (mart_ar_aging) aged from the discharge date and from '
        "the bill date (claims not billed at the period end are unbilled); aged over 90 days "
        "= billed A/R over 90 days / billed A/R (HFMA AR-2 by payer class, AR-1 over all). "
        "Facility and service line do not apply to the aging (filter net days in A/R by facility). "
        "Net days in A/R = net A/R (payer A/R net of the contractual reserve + patient A/R) / "
        "average daily net patient service revenue of the last three periods "
        "(mart_revenue_cycle_kpis).</p></section>"
    )


def render_weekly(snap: q.Snapshot, f: q.Filters) -> str:
    snap.require_marts()
    cur = snap.cursor()
    opts = q.filter_options(cur)
    rows, total = q.margin_weekly(cur, f)
    trend = q.margin_weekly_trend(cur, f).dicts()
    chart = bar_line_chart(
        [str(r["week_start_date"]) for r in trend],
        [("Net revenue", [r["net_revenue_amount"] for r in trend], "#2e90fa")],
        line=("Contribution margin", [r["contribution_margin_amount"] for r in trend], "#12b76a"),
        chart_id="chart-weekly",
    )
    shown = (
        f"showing the first {len(rows.rows):,} of {total:,} rows; narrow the filters to see the rest"
        if total > len(rows.rows)
        else f"{total:,} rows"
    )
    back = "/?" + urlencode(f.as_query())
    body = (
        filter_form("/weekly", f, opts)
        + f'<p><a href="{esc(back)}">&larr; back to the overview</a></p>'
        + '<section class="card" id="weekly"><h2>Weekly margin by location and physician</h2>'
        + chart
        + f'<p class="note">{esc(shown)}</p><div class="scroll" style="max-height:900px">'
        + table(
            rows,
            [
                "week_start_date",
                "facility_id",
                "provider_name",
                "rendering_npi",
                "service_line_code",
                "encounter_count",
                "gross_charge_amount",
                "net_revenue_amount",
                "direct_cost_amount",
                "indirect_cost_amount",
                "contribution_margin_amount",
                "margin_pct",
            ],
            table_id="table-weekly",
        )
        + "</div></section>"
    )
    return page("Weekly drill-down", body, snap)


# --------------------------------------------------------------------------- server


def make_handler(snap: q.Snapshot) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "careledger-dashboard/1"

        def log_message(self, fmt: str, *args: Any) -> None:  # route to logging
            log.debug("%s %s", self.address_string(), fmt % args)

        def _send(self, status: int, body: str, ctype: str = "text/html; charset=utf-8") -> None:
            data = body.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            f = q.Filters.from_query(parse_qs(url.query))
            started = time.perf_counter()
            try:
                if url.path == "/":
                    body = render_overview(snap, f)
                elif url.path == "/weekly":
                    body = render_weekly(snap, f)
                elif url.path == "/healthz":
                    snap.cursor()
                    self._send(HTTPStatus.OK, f"ok {snap.manifest.get('version', '')}\n", "text/plain; charset=utf-8")
                    return
                else:
                    self._send(HTTPStatus.NOT_FOUND, "<h1>not found</h1>")
                    return
            except FileNotFoundError as exc:
                self._send(HTTPStatus.SERVICE_UNAVAILABLE, f"<h1>No snapshot yet</h1><p>{esc(exc)}</p>")
                return
            except q.MissingMarts as exc:
                self._send(HTTPStatus.SERVICE_UNAVAILABLE, f"<h1>Snapshot incomplete</h1><p>{esc(exc)}</p>")
                return
            except Exception:
                log.exception("error rendering %s", self.path)
                self._send(HTTPStatus.INTERNAL_SERVER_ERROR, "<h1>Dashboard error</h1><p>see the server log</p>")
                return
            log.info("GET %s %.0f ms", self.path, (time.perf_counter() - started) * 1000)
            self._send(HTTPStatus.OK, body)

    return Handler


def make_server(serving_dir: Path, host: str = "127.0.0.1", port: int = 8050) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), make_handler(q.Snapshot(Path(serving_dir))))
    server.daemon_threads = True
    return server


def serve(serving_dir: Path, host: str = "127.0.0.1", port: int = 8050) -> None:
    """Serve the dashboard until interrupted (blocking)."""
    server = make_server(serving_dir, host, port)
    h, p = server.server_address[:2]
    print(f"careledger dashboard on http://{h}:{p}/ (serving {serving_dir}); Ctrl-C stops it", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


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
    serving_dir: Path, host: str = "127.0.0.1", port: int | None = None, timeout: float = 30.0
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


def start_thread(serving_dir: Path, host: str = "127.0.0.1", port: int = 0) -> tuple[ThreadingHTTPServer, str]:
    """Start the dashboard in a daemon thread (for in-process use); returns (server, url)."""
    server = make_server(serving_dir, host, port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    h, p = server.server_address[:2]
    return server, f"http://{h}:{p}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="careledger dashboard", description="Serve the executive dashboard.")
    parser.add_argument(
        "--serving-dir", type=Path, default=None, help="serving snapshot folder (default $CARELEDGER_HOME/serving)"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8050)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    serving = args.serving_dir or Home.from_env().serving
    serve(serving, args.host, args.port)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
