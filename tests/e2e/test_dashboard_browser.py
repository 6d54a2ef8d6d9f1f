"""The executive dashboard (Plotly Dash) in a real browser: headless Chromium renders the page
served on 127.0.0.1 (React, so the DOM is dumped after the callbacks ran, with a virtual time
budget), and the figures in the DOM must equal plain SQL on the marts in serving.duckdb, at 1400
and 1024 px, without and with filters, on the home and the weekly view. Screenshots of each
view go to the test artifacts. The snapshot is published from the session's ``built_warehouse``."""

from __future__ import annotations

import re
import shutil
import subprocess
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode

import duckdb
import pytest

from careledger.dashboard.app import RunningDashboard, start_subprocess
from careledger.dashboard.formatting import fmt_money_short
from careledger.dashboard.queries import LATER_ADJUSTMENTS
from careledger.publish.serving import current_snapshot_path, publish_serving_snapshot

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
    "--hide-scrollbars",
    # Dash renders with React after fetching its layout and running the page callback: let
    # virtual time run until the network is idle (the budget is an upper bound, not a wait)
    "--virtual-time-budget=30000",
]
WIDTHS = (1400, 1024)

requires_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="/usr/bin/chromium is missing (install Debian's chromium; .ci/run does)"
)


class DashboardDom(HTMLParser):
    """KPI tiles (data-metric / data-value, the shown value and its title), DataTable cells by
    table id, row and column (data-dash-row / data-dash-column), element attributes by id."""

    def __init__(self) -> None:
        super().__init__()
        self.kpis: dict[str, dict[str, str]] = {}
        self.tables: dict[str, dict[int, dict[str, str]]] = {}
        self.attrs: dict[str, dict[str, str]] = {}
        self.text_of: dict[str, list[str]] = {}
        self._kpi: str | None = None
        self._value = False
        self._table: str | None = None
        self._cell: tuple[int, str] | None = None
        self._buf: list[str] = []
        self._open_ids: list[tuple[str, int]] = []
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self._depth += 1
        if a.get("id"):
            self.attrs[a["id"]] = a
            self.text_of[a["id"]] = []
            self._open_ids.append((a["id"], self._depth))
        cls = a.get("class", "").split()
        if "kpi" in cls and a.get("data-metric"):
            self._kpi = a["data-metric"]
            self.kpis[self._kpi] = {"raw": a.get("data-value", "")}
        elif self._kpi and "value" in cls:
            self._value = True
            self.kpis[self._kpi]["title"] = a.get("title", "")
        if "dash-table-container" in cls:
            self._table = a["id"]
            self.tables[self._table] = {}
        if tag == "td" and self._table and "data-dash-column" in a:
            self._cell = (int(a["data-dash-row"]), a["data-dash-column"])
            self._buf = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None and self._table:
            row, col = self._cell
            self.tables[self._table].setdefault(row, {})[col] = "".join(self._buf).strip().replace("\u2212", "-")
            self._cell = None
        if self._open_ids and self._open_ids[-1][1] == self._depth:
            self._open_ids.pop()
        self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._value and self._kpi:
            self.kpis[self._kpi]["shown"] = data.strip()
            self._value, self._kpi = False, None
        if self._cell is not None:
            self._buf.append(data)
        for i, _ in self._open_ids:
            self.text_of[i].append(data)

    def rows(self, table: str) -> list[dict[str, str]]:
        return [self.tables[table][i] for i in sorted(self.tables[table])]

    def text(self, element_id: str) -> str:
        return "".join(self.text_of.get(element_id, []))


def money(v: Decimal) -> str:
    return f"{'-' if v < 0 else ''}${abs(v):,.2f}"


def cell_money(v: Decimal) -> str:
    """A money cell of a table: the header carries the ($)."""
    return f"{v:,.2f}"


def amount(text: str) -> Decimal:
    return Decimal(text.replace("$", "").replace(",", ""))


def chromium(url: str, tmp: Path, width: int, screenshot: Path | None = None) -> str:
    args = [str(CHROMIUM), *CHROMIUM_FLAGS, f"--user-data-dir={tmp / 'profile'}"]
    if screenshot is not None:
        args += [f"--screenshot={screenshot}", f"--window-size={width},3400", url]
    else:
        args += [f"--window-size={width},3400", "--dump-dom", url]
    proc = subprocess.run(args, capture_output=True, timeout=180)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-2000:]
    return proc.stdout.decode("utf-8")


def wide_tables(dom: str) -> list[str]:
    """The tables the page measured wider than their card (``id:table/card`` in px), which
    would scroll sideways and hide columns."""
    m = re.search(r'data-wide-tables="([^"]*)"', dom)
    assert m, "the page did not measure its tables"
    return m.group(1).split()


def parse(dom: str) -> DashboardDom:
    p = DashboardDom()
    p.feed(dom)
    assert "page" in p.attrs and "data-render-ms" in dom, "the page callback did not render"
    return p


def sql(serving: Path, query: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(current_snapshot_path(serving)), read_only=True)
    try:
        return con.execute(query, params or []).fetchall()
    finally:
        con.close()


def expected_tiles(serving: Path, facility: str = "", payer_class: str = "") -> dict[str, Decimal]:
    """The tile figures, straight from serving.duckdb with plain SQL."""
    fac = "where facility_id = ?" if facility else ""
    params = [facility] if facility else []
    m = sql(
        serving,
        "select sum(gross_charge_amount), sum(net_revenue_amount), sum(contribution_margin_amount) "
        f"from mart_service_line_margin_monthly {fac}",
        params,
    )[0]
    conds = (["facility_id = ?"] if facility else []) + (["payer_class = ?"] if payer_class else [])
    where = ("where " + " and ".join(conds)) if conds else ""
    denied = sql(
        serving,
        f"select coalesce(sum(denied_amount), 0) from mart_denial_trends_monthly {where}",
        params + ([payer_class] if payer_class else []),
    )[0][0]
    exc = sql(serving, f"select coalesce(sum(amount), 0) from mart_reconciliation_exceptions {fac}", params)[0][0]
    held = sql(serving, f"select coalesce(sum(debit_total), 0) from held_journals {fac}", params)[0][0]
    return {
        "gross_charge_amount": m[0],
        "net_revenue_amount": m[1],
        "contribution_margin_amount": m[2],
        "denied_amount": denied,
        "open_exception_amount": exc,
        "held_amount": held,
    }


def check_tiles(dom: DashboardDom, want: dict[str, Decimal]) -> None:
    for metric, value in want.items():
        tile = dom.kpis[metric]
        assert Decimal(tile["raw"]) == value, metric
        assert tile["shown"] == fmt_money_short(value), metric  # $4.33M on the tile
        assert tile["title"] == money(value), metric  # the exact amount on hover


AR_BUCKETS = (
    "ar_0_30_amount",
    "ar_31_60_amount",
    "ar_61_90_amount",
    "ar_91_120_amount",
    "ar_121_180_amount",
    "ar_over_180_amount",
    "ar_unbilled_amount",
)


def check_ar(dom: DashboardDom, serving: Path, facility: str = "", payer_class: str = "") -> None:
    """The A/R section: mart_ar_aging at its latest period end (every bucket of both bases,
    AR-1 over the payer classes the filter keeps) and net A/R / net days in A/R of
    mart_revenue_cycle_kpis (facility filter)."""
    assert {"ar", "chart-ar-aging", "chart-ar-days"} <= set(dom.attrs)
    period = sql(serving, "select max(period_end_date) from mart_ar_aging")[0][0]
    aging = {
        basis: values
        for basis, *values in sql(
            serving,
            f"select aging_basis, {', '.join(f'sum({c})' for c in AR_BUCKETS)}, sum(gross_balance_amount) "
            "from mart_ar_aging where period_end_date = ? and (payer_class = ? or ? = '') group by 1",
            [period, payer_class, payer_class],
        )
    }
    # the buckets and the balances are two tables of the same rows (one would not fit 1024 px)
    totals: dict[str, dict[str, str]] = {}
    for table in ("table-ar-aging", "table-ar-balances"):
        rows = {r["aging_basis"]: r for r in dom.rows(table) if r["payer_class_name"].endswith("(AR-1)")}
        assert set(rows) == set(aging) == {"discharge", "bill"}, table
        for basis, r in rows.items():
            totals.setdefault(basis, {}).update(r)
    for basis, values in aging.items():
        for col, v in zip([*AR_BUCKETS, "gross_balance_amount"], values):
            assert totals[basis][col] == cell_money(v), (basis, col, totals[basis][col], v)
    fac = "and facility_id = ?" if facility else ""
    kpi_rows = sql(
        serving,
        "select strftime(period_start_date, '%Y-%m'), sum(net_ar_amount), sum(avg_daily_net_revenue_amount), "
        f"any_value(net_days_in_ar), count(*) from mart_revenue_cycle_kpis where period_start_date is not null "
        f"{fac} group by 1 order by 1",
        [facility] if facility else [],
    )
    period_id, net_ar, avg_daily, own_days, n = kpi_rows[-1]
    days = own_days if n == 1 else (net_ar / avg_daily).quantize(Decimal("0.01"))
    assert Decimal(dom.kpis["net_ar_amount"]["raw"]) == net_ar
    assert Decimal(dom.kpis["net_days_in_ar"]["raw"]) == days
    shown = {r["period_id"]: r for r in dom.rows("table-ar-days")}
    assert set(shown) == {r[0] for r in kpi_rows}
    assert shown[period_id]["net_ar_amount"] == cell_money(net_ar)


def check_overview(dom: DashboardDom, serving: Path) -> None:
    assert {
        "dq-banner",
        "kpis",
        "margin-trend",
        "margin-by-service-line",
        "denials",
        "reconciliation",
        "freshness",
        "chart-margin-trend",
        "chart-denials",
        "completeness",
    } <= set(dom.attrs)
    want = expected_tiles(serving)
    check_tiles(dom, want)
    # the monthly table's rows add up to the tiles, and say how complete each month is
    months = dom.rows("table-margin-month")
    assert sum(amount(r["gross_charge_amount"]) for r in months) == want["gross_charge_amount"]
    assert sum(amount(r["contribution_margin_amount"]) for r in months) == want["contribution_margin_amount"]
    latest = sql(serving, "select max(period_end_date) from mart_ar_subledger")[0][0]
    for r in months:
        open_claims = sql(
            serving,
            "select count(*) from mart_ar_subledger where period_end_date = ? and is_billed "
            "and strftime(bill_date, '%Y-%m') = ? and gross_balance_amount = charges_to_date_amount",
            [latest, r["period_id"]],
        )[0][0]
        submitted = sql(
            serving,
            "select sum(submitted_claim_count) from mart_revenue_cycle_kpis where strftime(period_start_date, '%Y-%m') = ?",
            [r["period_id"]],
        )[0][0]
        share = min(Decimal(open_claims) / Decimal(submitted), Decimal(1))
        assert r["unremitted_claim_pct"] == f"{share * 100:.1f}%", (r["period_id"], r["unremitted_claim_pct"], share)
    # initial denial rate over every first adjudication (mart_revenue_cycle_kpis), with a target
    denied, adjudicated = sql(
        serving, "select sum(initial_denied_claim_count), sum(adjudicated_claim_count) from mart_revenue_cycle_kpis"
    )[0]
    rate = (Decimal(denied) / Decimal(adjudicated)).quantize(Decimal("0.0001"))
    assert Decimal(dom.kpis["initial_denial_rate"]["raw"]) == rate
    assert dom.kpis["initial_denial_rate"]["shown"] == f"{rate * 100:.1f}%"
    # the data-quality banner counts what is not in the figures
    quarantined = sql(serving, "select coalesce(sum(rows_quarantined), 0) from source_freshness")[0][0]
    open_count, open_amount = sql(
        serving, "select count(*), coalesce(sum(amount), 0) from mart_reconciliation_exceptions"
    )[0]
    held = sql(serving, "select count(*), coalesce(sum(debit_total), 0) from held_journals")[0]
    banner = dom.attrs["dq-banner"]
    assert int(banner["data-quarantined"]) == quarantined
    assert int(banner["data-open-exceptions"]) == open_count
    assert Decimal(banner["data-open-exception-amount"]) == open_amount
    assert (int(banner["data-held-journals"]), Decimal(banner["data-held-amount"])) == (held[0], held[1])
    assert money(open_amount) in dom.text("dq-banner")
    # names, not codes; every source in the freshness table
    sources = sql(serving, "select count(*) from source_freshness")[0][0]
    assert len(dom.rows("table-freshness")) == sources
    names = dict(sql(serving, "select facility_id, facility_name from dim_facility"))
    shown = {r["facility_name"] for r in dom.rows("table-margin-sl")}
    assert shown and shown <= set(names.values()) | {"UNMAPPED"}
    check_ar(dom, serving)


def busiest(serving: Path) -> tuple[str, str, str]:
    facility, service_line = sql(
        serving,
        "select facility_id, service_line_code from mart_service_line_margin_monthly "
        "group by all order by sum(encounter_count) desc limit 1",
    )[0]
    payer_class = sql(
        serving,
        "select payer_class from mart_denial_trends_monthly group by 1 order by sum(denied_amount) desc limit 1",
    )[0][0]
    return facility, service_line, payer_class


def check_filtered(dom: DashboardDom, serving: Path, facility: str, payer_class: str) -> None:
    check_tiles(dom, expected_tiles(serving, facility, payer_class))
    name = sql(serving, "select facility_name from dim_facility where facility_id = ?", [facility])[0][0]
    payer_class_name = sql(
        serving, "select any_value(payer_class_name) from dim_payer where payer_class = ?", [payer_class]
    )[0][0]
    state = dom.text("filter-state")
    assert f"facility {name}" in state and f"payer class {payer_class_name}" in state
    # the margin section says that payer class does not apply to it
    assert "Not applied here: payer class" in dom.text("margin-trend")
    check_ar(dom, serving, facility, payer_class)


def check_weekly(dom: DashboardDom, serving: Path, facility: str, service_line: str) -> None:
    rows = dom.rows("table-weekly")
    mart = sql(
        serving,
        "select count(*) filter (where encounter_count > 0 or gross_charge_amount <> 0), "
        "count(distinct (week_start_date, service_line_code)) filter (where encounter_count = 0 "
        "and gross_charge_amount = 0 and (net_revenue_amount <> 0 or contractual_adjustment_amount <> 0 "
        "or denial_amount <> 0 or payment_amount <> 0 or direct_cost_amount <> 0 or indirect_cost_amount <> 0 "
        "or contribution_margin_amount <> 0 or expected_reimbursement_amount <> 0)), "
        "sum(gross_charge_amount), sum(net_revenue_amount), sum(contribution_margin_amount) "
        "from mart_service_line_margin_weekly where facility_id = ? and service_line_code = ?",
        [facility, service_line],
    )[0]
    physician_rows, adjustment_rows, gross, net, margin = mart
    assert len(rows) == min(physician_rows + adjustment_rows, 400)
    # no empty physician rows: every physician row has an encounter or a charge
    for r in rows:
        if r["provider_name"] != LATER_ADJUSTMENTS:
            assert int(r["encounter_count"].replace(",", "")) > 0 or amount(r["gross_charge_amount"]) != 0, r
    if len(rows) < 400:  # and no money vanished with them
        assert sum(amount(r["gross_charge_amount"]) for r in rows) == gross
        assert sum(amount(r["net_revenue_amount"]) for r in rows) == net
        assert sum(amount(r["contribution_margin_amount"]) for r in rows) == margin
    facility_name, sl_name = sql(
        serving,
        "select (select facility_name from dim_facility where facility_id = ?), "
        "(select service_line_name from dim_service_line where service_line_code = ?)",
        [facility, service_line],
    )[0]
    assert {r["facility_name"] for r in rows} == {facility_name}
    assert {r["service_line_name"] for r in rows} == {sl_name}


@requires_chromium
def test_dashboard_figures_equal_marts_in_chromium(built_warehouse, tmp_path: Path, artifacts_dir: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(built_warehouse.warehouse, warehouse)  # the refresh below changes a mart
    serving = tmp_path / "serving"
    publish_serving_snapshot(warehouse, serving)
    dash: RunningDashboard = start_subprocess(serving)
    try:
        facility, service_line, payer_class = busiest(serving)
        filtered = urlencode({"facility": facility, "payer_class": payer_class})
        weekly = urlencode({"facility": facility, "service_line": service_line})
        for width in WIDTHS:
            overview = chromium(dash.url + "/", tmp_path, width)
            check_overview(parse(overview), serving)
            filtered_dom = chromium(f"{dash.url}/?{filtered}", tmp_path, width)
            check_filtered(parse(filtered_dom), serving, facility, payer_class)
            weekly_dom = chromium(f"{dash.url}/weekly?{weekly}", tmp_path, width)
            check_weekly(parse(weekly_dom), serving, facility, service_line)
            for dom in (overview, filtered_dom, weekly_dom):
                assert wide_tables(dom) == [], f"tables wider than their card at {width} px"
            for view, url in (
                ("overview", "/"),
                ("overview_filtered", f"/?{filtered}"),
                ("weekly", f"/weekly?{weekly}"),
            ):
                shot = artifacts_dir / f"dashboard_{view}_{width}.png"
                chromium(dash.url + url, tmp_path, width, shot)
                assert shot.stat().st_size > 10_000

        # a refresh while the dashboard runs: the next page view shows the new snapshot
        before = expected_tiles(serving)["gross_charge_amount"]
        con = duckdb.connect(str(warehouse))
        con.execute("update marts.mart_service_line_margin_monthly set gross_charge_amount = gross_charge_amount + 1")
        con.close()
        publish_serving_snapshot(warehouse, serving)
        after = expected_tiles(serving)["gross_charge_amount"]
        assert after > before
        dom = parse(chromium(dash.url + "/", tmp_path, WIDTHS[0]))
        assert Decimal(dom.kpis["gross_charge_amount"]["raw"]) == after
        # SIGTERM stops the server cleanly
        dash.process.terminate()
        assert dash.process.wait(timeout=30) == 0
    finally:
        dash.stop()
