"""The executive dashboard in a real browser: headless Chromium loads the page served on
127.0.0.1, and the figures in the DOM must equal the marts in serving.duckdb. The snapshot is
published from the session's ``built_warehouse`` (simulator -> ingest -> dbt build)."""

from __future__ import annotations

import shutil
import subprocess
import urllib.request
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode

import duckdb
import pytest

from careledger.dashboard.app import RunningDashboard, start_subprocess
from careledger.publish.serving import current_snapshot_path, publish_serving_snapshot, read_manifest

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

requires_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="/usr/bin/chromium is missing (install Debian's chromium; .ci/run does)"
)


class DashboardDom(HTMLParser):
    """KPI cards (data-metric/data-value + shown text) and table cells by table id."""

    def __init__(self) -> None:
        super().__init__()
        self.kpis: dict[str, tuple[str, str]] = {}
        self.tables: dict[str, list[list[str]]] = {}
        self.ids: set[str] = set()
        self._kpi: str | None = None
        self._kpi_raw = ""
        self._in_value = False
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"] or "")
        cls = (a.get("class") or "").split()
        if "kpi" in cls and a.get("data-metric"):
            self._kpi, self._kpi_raw = a["data-metric"], a.get("data-value") or ""
        elif self._kpi and "value" in cls:
            self._in_value = True
        if tag == "table" and a.get("id"):
            self._table = a["id"]
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._in_value and self._kpi:
            self.kpis[self._kpi] = (self._kpi_raw, data.strip())
            self._in_value, self._kpi = False, None
        if self._cell is not None:
            self._cell.append(data)


def money(v: Decimal) -> str:
    return f"{'-' if v < 0 else ''}${abs(v):,.2f}"


def chromium(url: str, tmp: Path, screenshot: Path | None = None) -> str:
    args = [str(CHROMIUM), *CHROMIUM_FLAGS, f"--user-data-dir={tmp / 'profile'}"]
    if screenshot is not None:
        args += [f"--screenshot={screenshot}", "--window-size=1400,3600", url]
    else:
        args += ["--dump-dom", url]
    proc = subprocess.run(args, capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-2000:]
    return proc.stdout.decode("utf-8")


def parse(dom: str) -> DashboardDom:
    p = DashboardDom()
    p.feed(dom)
    return p


def expected(serving: Path, facility: str = "", payer_class: str = "") -> dict[str, Decimal]:
    """The same figures, straight from serving.duckdb with plain SQL."""
    con = duckdb.connect(str(current_snapshot_path(serving)), read_only=True)
    try:
        fac = "where facility_id = ?" if facility else ""
        params = [facility] if facility else []
        m = con.execute(
            f"select sum(gross_charge_amount), sum(net_revenue_amount), "
            f"sum(contribution_margin_amount) from mart_service_line_margin_monthly {fac}",
            params,
        ).fetchone()
        conds = (["facility_id = ?"] if facility else []) + (["payer_class = ?"] if payer_class else [])
        where = ("where " + " and ".join(conds)) if conds else ""
        d = con.execute(
            f"select coalesce(sum(denied_amount), 0) from mart_denial_trends_monthly {where}",
            params + ([payer_class] if payer_class else []),
        ).fetchone()
        return {
            "gross_charge_amount": m[0],
            "net_revenue_amount": m[1],
            "contribution_margin_amount": m[2],
            "denied_amount": d[0],
        }
    finally:
        con.close()


AR_BUCKETS = (
    "ar_0_30_amount",
    "ar_31_60_amount",
    "ar_61_90_amount",
    "ar_91_120_amount",
    "ar_121_180_amount",
    "ar_over_180_amount",
    "ar_unbilled_amount",
)


def check_ar(dom: DashboardDom, serving: Path, facility: str = "") -> None:
    """The A/R section shows mart_ar_aging at its latest period end (every bucket of both
    bases, AR-1) and the net A/R / net days in A/R of mart_revenue_cycle_kpis."""
    assert {"ar", "chart-ar-aging", "chart-ar-days"} <= dom.ids
    con = duckdb.connect(str(current_snapshot_path(serving)), read_only=True)
    try:
        period = con.execute("select max(period_end_date) from mart_ar_aging").fetchone()[0]
        aging = {
            basis: values
            for basis, *values in con.execute(
                f"select aging_basis, {', '.join(f'sum({c})' for c in AR_BUCKETS)}, sum(gross_balance_amount), "
                "any_value(ar1_aged_over_90_pct) from mart_ar_aging where period_end_date = ? group by 1",
                [period],
            ).fetchall()
        }
        fac = "and facility_id = ?" if facility else ""
        kpi_rows = con.execute(
            "select strftime(period_start_date, '%Y-%m'), sum(net_ar_amount), sum(avg_daily_net_revenue_amount), "
            f"any_value(net_days_in_ar), count(*) from mart_revenue_cycle_kpis where period_start_date is not null "
            f"{fac} group by 1 order by 1",
            [facility] if facility else [],
        ).fetchall()
    finally:
        con.close()
    assert set(aging) == {"discharge", "bill"}
    table = dom.tables["table-ar-aging"]
    head = table[0]
    totals = {r[0]: r for r in table[1:] if r[1] == "all payer classes (AR-1)"}
    assert set(totals) == set(aging)
    for basis, values in aging.items():
        row = totals[basis]
        for col, v in zip([*AR_BUCKETS, "gross_balance_amount"], values[:-1]):
            label = col.replace("_amount", "").replace("_", " ").capitalize()
            assert row[head.index(label)] == money(v), (basis, col)
        assert row[head.index("Aged over 90 pct")] == ("\u2014" if values[-1] is None else f"{values[-1] * 100:.1f}%")
    period_id, net_ar, avg_daily, own_days, n = kpi_rows[-1]
    days = own_days if n == 1 else (net_ar / avg_daily).quantize(Decimal("0.01"))
    assert Decimal(dom.kpis["net_ar_amount"][0]) == net_ar
    assert dom.kpis["net_ar_amount"][1] == money(net_ar)
    assert Decimal(dom.kpis["net_days_in_ar"][0]) == days
    assert dom.kpis["net_days_in_ar"][1] == f"{days.quantize(Decimal('0.1'))} days"
    shown = {r[0]: r for r in dom.tables["table-ar-days"][1:]}
    assert set(shown) == {r[0] for r in kpi_rows}
    assert shown[period_id][1] == money(net_ar)


def check_overview(dash: RunningDashboard, serving: Path, tmp: Path, artifacts: Path, tag: str) -> None:
    dom = parse(chromium(dash.url + "/", tmp))
    assert {
        "kpis",
        "margin-trend",
        "margin-by-service-line",
        "denials",
        "reconciliation",
        "freshness",
        "chart-margin-trend",
        "chart-denials",
    } <= dom.ids
    want = expected(serving)
    for metric, value in want.items():
        raw, shown = dom.kpis[metric]
        assert Decimal(raw) == value, metric
        assert shown == money(value), metric
    # the monthly table's Total row shows the same gross charges and margin
    month = dom.tables["table-margin-month"]
    head, total = month[0], month[-1]
    assert total[0] == "Total"
    assert total[head.index("Gross charge")] == money(want["gross_charge_amount"])
    assert total[head.index("Contribution margin")] == money(want["contribution_margin_amount"])
    assert len(dom.tables["table-freshness"]) > 1
    con = duckdb.connect(str(current_snapshot_path(serving)), read_only=True)
    open_count = con.execute("select count(*) from mart_reconciliation_exceptions").fetchone()[0]
    sources = con.execute("select count(*) from source_freshness").fetchone()[0]
    con.close()
    assert int(dom.kpis["open_exception_count"][0]) == open_count
    con = duckdb.connect(str(current_snapshot_path(serving)), read_only=True)
    denied, adjudicated = con.execute(
        "select sum(initial_denied_claim_count), sum(adjudicated_claim_count) from mart_revenue_cycle_kpis"
    ).fetchone()
    con.close()
    rate = (Decimal(denied) / Decimal(adjudicated)).quantize(Decimal("0.0001"))
    assert Decimal(dom.kpis["initial_denial_rate"][0]) == rate
    assert dom.kpis["initial_denial_rate"][1] == f"{rate * 100:.1f}%"
    assert len(dom.tables["table-freshness"]) == 1 + max(sources, 1)
    check_ar(dom, serving)
    chromium(dash.url + "/", tmp, artifacts / f"dashboard_overview_{tag}.png")
    assert (artifacts / f"dashboard_overview_{tag}.png").stat().st_size > 10_000


def check_filters_and_drilldown(dash: RunningDashboard, serving: Path, tmp: Path, artifacts: Path, tag: str) -> None:
    con = duckdb.connect(str(current_snapshot_path(serving)), read_only=True)
    facility, service_line = con.execute(
        "select facility_id, service_line_code from mart_service_line_margin_monthly "
        "group by all order by sum(encounter_count) desc limit 1"
    ).fetchone()
    payer_class = con.execute(
        "select payer_class from mart_denial_trends_monthly group by 1 order by sum(denied_amount) desc limit 1"
    ).fetchone()[0]
    weekly_rows = con.execute(
        "select count(*) from (select distinct week_start_date, facility_id, rendering_npi, "
        "provider_name, service_line_code from mart_service_line_margin_weekly "
        "where facility_id = ? and service_line_code = ?)",
        [facility, service_line],
    ).fetchone()[0]
    weekly_gross = con.execute(
        "select sum(gross_charge_amount) from mart_service_line_margin_weekly "
        "where facility_id = ? and service_line_code = ?",
        [facility, service_line],
    ).fetchone()[0]
    con.close()

    query = urlencode({"facility": facility, "payer_class": payer_class})
    dom = parse(chromium(f"{dash.url}/?{query}", tmp))
    want = expected(serving, facility, payer_class)
    for metric, value in want.items():
        assert Decimal(dom.kpis[metric][0]) == value, metric
    dom = parse(chromium(f"{dash.url}/?{urlencode({'facility': facility})}", tmp))
    check_ar(dom, serving, facility)

    query = urlencode({"facility": facility, "service_line": service_line})
    dom = parse(chromium(f"{dash.url}/weekly?{query}", tmp))
    rows = dom.tables["table-weekly"][1:]
    assert len(rows) == min(weekly_rows, 400)
    if weekly_rows <= 400:
        head = dom.tables["table-weekly"][0]
        shown = sum(Decimal(r[head.index("Gross charge")].replace("$", "").replace(",", "")) for r in rows)
        assert shown == weekly_gross
    chromium(f"{dash.url}/weekly?{query}", tmp, artifacts / f"dashboard_weekly_{tag}.png")


@requires_chromium
def test_dashboard_figures_equal_marts_in_chromium(built_warehouse, tmp_path: Path, artifacts_dir: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(built_warehouse.warehouse, warehouse)  # the refresh below changes a mart
    serving = tmp_path / "serving"
    publish_serving_snapshot(warehouse, serving)
    dash = start_subprocess(serving)
    try:
        check_overview(dash, serving, tmp_path, artifacts_dir, "built")
        check_filters_and_drilldown(dash, serving, tmp_path, artifacts_dir, "built")
        # a refresh while the dashboard runs: the next page view shows the new snapshot
        before = expected(serving)["gross_charge_amount"]
        con = duckdb.connect(str(warehouse))
        con.execute("update marts.mart_service_line_margin_monthly set gross_charge_amount = gross_charge_amount + 1")
        con.close()
        publish_serving_snapshot(warehouse, serving)
        with urllib.request.urlopen(dash.url + "/") as resp:  # plain HTTP is enough here
            dom = parse(resp.read().decode("utf-8"))
        after = expected(serving)["gross_charge_amount"]
        assert after > before
        assert Decimal(dom.kpis["gross_charge_amount"][0]) == after
        with urllib.request.urlopen(dash.url + "/healthz") as resp:
            assert resp.read().decode().split()[1] == read_manifest(serving)["version"]
    finally:
        dash.stop()
