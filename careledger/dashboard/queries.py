"""The dashboard's questions, asked of the serving snapshot only (read-only DuckDB).

Every figure the page shows comes from one function here, so the browser test can ask the
same function (or plain SQL on ``serving.duckdb``) and compare to the cent. The queries read
the columns the public marts' contracts declare (dbt yml, ``contract: enforced``), nothing
else; a snapshot that lacks a mart the dashboard reads (exposure ``executive_dashboard``)
is an error naming it (:class:`MissingMarts`).
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from careledger.publish.contracts import ContractError, exposure_marts, ratio_metric, require_marts
from careledger.publish.extracts import reconciliation_checkpoints_sql
from careledger.publish.serving import current_snapshot_path, read_manifest

PERIOD_RE = re.compile(r"^\d{4}-?\d{2}$")
_CODE_RE = re.compile(r"^[A-Za-z0-9_.:\- ]{1,64}$")


@dataclass(frozen=True)
class Filters:
    """GET-form filters. Empty string = all."""

    period_from: str = ""
    period_to: str = ""
    facility: str = ""
    service_line: str = ""
    payer_class: str = ""

    @classmethod
    def from_query(cls, query: dict[str, list[str]]) -> Filters:
        def one(name: str, pattern: re.Pattern[str]) -> str:
            value = (query.get(name) or [""])[0].strip()
            return value if value and pattern.match(value) else ""

        return cls(
            period_from=one("period_from", PERIOD_RE),
            period_to=one("period_to", PERIOD_RE),
            facility=one("facility", _CODE_RE),
            service_line=one("service_line", _CODE_RE),
            payer_class=one("payer_class", _CODE_RE),
        )

    def as_query(self, **override: str) -> dict[str, str]:
        values = {
            "period_from": self.period_from,
            "period_to": self.period_to,
            "facility": self.facility,
            "service_line": self.service_line,
            "payer_class": self.payer_class,
        }
        values.update(override)
        return {k: v for k, v in values.items() if v}


def _where(
    f: Filters,
    *,
    period: str | None = "period_id",
    facility: str | None = "facility_id",
    service_line: str | None = "service_line_code",
    payer_class: str | None = None,
    date: str | None = None,
) -> tuple[str, list[Any]]:
    """SQL predicate + params for the filters that apply to a relation: each filter the user
    set is applied to the relation's column for it (a ``date`` column compares its month)."""
    month = f"strftime({date}, '%Y-%m')" if date else None
    rules = [  # (column expression, operator, filter value)
        (period, ">=", f.period_from),
        (period, "<=", f.period_to),
        (month, ">=", f.period_from),
        (month, "<=", f.period_to),
        (facility, "=", f.facility),
        (service_line, "=", f.service_line),
        (payer_class, "=", f.payer_class),
    ]
    conds = [f"{column} {op} ?" for column, op, value in rules if column and value]
    params: list[Any] = [value for column, _, value in rules if column and value]
    return ("where " + " and ".join(conds)) if conds else "", params


#: The ``YYYY-MM`` key of a monthly mart, from its contracted ``period_start_date`` (whatever
#: the ERP's period ids look like).
PERIOD = "strftime(period_start_date, '%Y-%m')"

#: The marts the dashboard reads: the ones its dbt exposure depends on.
DASHBOARD_EXPOSURE = "executive_dashboard"


class MissingMarts(ContractError):
    """The serving snapshot lacks a public mart the dashboard reads."""


@dataclass
class Rows:
    columns: list[str]
    rows: list[tuple[Any, ...]]

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, r)) for r in self.rows]


class Snapshot:
    """Read-only access to the current serving snapshot; follows the ``current`` symlink.

    One DuckDB connection per snapshot version, shared by request threads through cursors.
    When a newer snapshot is published the next request opens it; the previous connection
    is retired (requests still running on it finish; its file stays valid even when pruned).
    """

    def __init__(self, serving_dir: Path) -> None:
        self.serving_dir = Path(serving_dir)
        self._lock = threading.Lock()
        self._path: Path | None = None
        self._con: duckdb.DuckDBPyConnection | None = None
        self._retired: duckdb.DuckDBPyConnection | None = None
        self._tables: set[str] = set()
        self.manifest: dict[str, Any] = {}

    def cursor(self) -> duckdb.DuckDBPyConnection:
        path = current_snapshot_path(self.serving_dir)
        with self._lock:
            if path != self._path or self._con is None:
                con = duckdb.connect(str(path), read_only=True)
                tables = {
                    r[0]
                    for r in con.execute(
                        "select table_name from information_schema.tables where table_schema = 'main'"
                    ).fetchall()
                }
                # requests still running hold cursors of the previous connection: retire it
                # and close the one retired before it (a page view takes well under a second,
                # refreshes are minutes apart)
                if self._retired is not None:
                    self._retired.close()
                self._retired, self._con, self._path = self._con, con, path
                self._tables = tables
                try:
                    self.manifest = read_manifest(self.serving_dir)
                except (FileNotFoundError, ValueError):
                    self.manifest = {}
            return self._con.cursor()

    def require_marts(self) -> None:
        """Raise :class:`MissingMarts` (one sentence) unless the current snapshot holds every
        public mart the dashboard reads."""
        self.cursor().close()
        try:
            require_marts(
                self._tables,
                exposure_marts(DASHBOARD_EXPOSURE),
                f"serving snapshot {self._path}",
                "rebuild the marts (dbt build) and publish the serving snapshot again",
            )
        except ContractError as exc:
            raise MissingMarts(str(exc)) from None


def _q(cur: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> Rows:
    res = cur.execute(sql, params or [])
    return Rows([d[0] for d in res.description], res.fetchall())


# --------------------------------------------------------------------------- filter options


def _has(cur: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(
        cur.execute(
            "select count(*) from information_schema.tables where table_schema = 'main' and table_name = ?", [table]
        ).fetchone()[0]
    )


@dataclass(frozen=True)
class Names:
    """Display names of the codes the filters and tables use, from the snapshot's conformed
    dimensions (dim_facility, dim_service_line, dim_payer); a code no dimension names shows
    as itself."""

    facility: dict[str, str]
    service_line: dict[str, str]
    payer_class: dict[str, str]

    def of(self, kind: str, code: str | None) -> str:
        if code is None:
            return "\u2014"
        return getattr(self, kind).get(code, code)


def names(cur: duckdb.DuckDBPyConnection) -> Names:
    def pairs(sql: str) -> dict[str, str]:
        return {str(k): str(v or k) for k, v in cur.execute(sql).fetchall() if k is not None}

    facility = pairs("select facility_id, any_value(facility_name) from mart_service_line_margin_monthly group by 1")
    service_line = pairs(
        "select service_line_code, any_value(service_line_name) from mart_service_line_margin_monthly group by 1"
    )
    payer_class: dict[str, str] = {}
    if _has(cur, "dim_facility"):
        facility |= pairs("select facility_id, facility_name from dim_facility")
    if _has(cur, "dim_service_line"):
        service_line |= pairs("select service_line_code, service_line_name from dim_service_line")
    if _has(cur, "dim_payer"):
        payer_class = pairs("select payer_class, any_value(payer_class_name) from dim_payer group by 1")
    return Names(facility, service_line, payer_class)


def filter_options(cur: duckdb.DuckDBPyConnection, n: Names | None = None) -> dict[str, list[tuple[str, str]]]:
    """(value, label) pairs of each filter: the periods of the margin mart, the facilities and
    service lines it has, the payer classes of the denial mart, labelled by name."""
    n = n or names(cur)

    def codes(sql: str) -> list[str]:
        return [str(r[0]) for r in cur.execute(sql).fetchall() if r[0] is not None]

    def labelled(kind: str, values: list[str]) -> list[tuple[str, str]]:
        return sorted(((v, n.of(kind, v)) for v in values), key=lambda p: (p[1], p[0]))

    return {
        "period": [
            (p, p)
            for p in codes(
                f"select distinct {PERIOD} from mart_service_line_margin_monthly where period_id is not null order by 1"
            )
        ],
        "facility": labelled("facility", codes("select distinct facility_id from mart_service_line_margin_monthly")),
        "service_line": labelled(
            "service_line", codes("select distinct service_line_code from mart_service_line_margin_monthly")
        ),
        "payer_class": labelled(
            "payer_class",
            codes(
                "select distinct payer_class from mart_denial_trends_monthly union "
                "select distinct payer_class from mart_daily_reimbursement"
            ),
        ),
    }


# --------------------------------------------------------------------------- margin

_MARGIN_AMOUNTS = """
    encounter_count, gross_charge_amount, expected_reimbursement_amount, payment_amount,
    contractual_adjustment_amount, denial_amount, net_revenue_amount, direct_cost_amount,
    indirect_cost_amount, contribution_margin_amount"""

#: Margin % over many mart rows: the dbt ratio metric ``margin_pct`` (numerator and denominator
#: summed first, divided last); one mart row carries it as its contracted ``margin_pct`` column.
_MARGIN_PCT_OF = ratio_metric("margin_pct")

_MARGIN_SUMS = f"""
    sum(encounter_count)::bigint as encounter_count,
    sum(gross_charge_amount) as gross_charge_amount,
    sum(expected_reimbursement_amount) as expected_reimbursement_amount,
    sum(payment_amount) as payment_amount,
    sum(contractual_adjustment_amount) as contractual_adjustment_amount,
    sum(denial_amount) as denial_amount,
    sum(net_revenue_amount) as net_revenue_amount,
    sum(direct_cost_amount) as direct_cost_amount,
    sum(indirect_cost_amount) as indirect_cost_amount,
    sum(contribution_margin_amount) as contribution_margin_amount,
    case when sum({_MARGIN_PCT_OF[1]}) = 0 then null
         else round(sum({_MARGIN_PCT_OF[0]}) / sum({_MARGIN_PCT_OF[1]}), 4) end
        as margin_pct
"""


def margin_totals(cur: duckdb.DuckDBPyConnection, f: Filters) -> dict[str, Any]:
    where, params = _where(f, period=PERIOD)
    rows = _q(cur, f"select {_MARGIN_SUMS} from mart_service_line_margin_monthly {where}", params).dicts()
    return rows[0]


def margin_by_month(cur: duckdb.DuckDBPyConnection, f: Filters) -> Rows:
    where, params = _where(f, period=PERIOD)
    return _q(
        cur,
        f"""
        select {PERIOD} as period_id, {_MARGIN_SUMS}
        from mart_service_line_margin_monthly {where}
        group by 1 order by 1""",
        params,
    )


def margin_by_facility_service_line(cur: duckdb.DuckDBPyConnection, f: Filters) -> Rows:
    where, params = _where(f, period=PERIOD)
    return _q(
        cur,
        f"""
        select facility_id, any_value(facility_name) as facility_name, service_line_code,
               any_value(service_line_name) as service_line_name, {_MARGIN_SUMS}
        from mart_service_line_margin_monthly {where}
        group by facility_id, service_line_code
        order by facility_name, facility_id, contribution_margin_amount desc,
                 service_line_code""",
        params,
    )


#: Weekly rows with no encounter and no charge that still move money (a denial or a late
#: contractual adjustment of an earlier week's claim) show as one row per week x facility x
#: service line under this label instead of as a physician with 0 encounters.
LATER_ADJUSTMENTS = "later adjustments (no encounter this week)"


def margin_weekly(cur: duckdb.DuckDBPyConnection, f: Filters, limit: int = 400) -> tuple[Rows, int]:
    """Drill-down: week x location (facility) x physician x service line for the filters, with
    names. A physician row needs an encounter or a charge; the rest of the week's money (no
    encounter, no charge, an amount) is one :data:`LATER_ADJUSTMENTS` row per week x facility x
    service line, so the rows still sum to the mart; all-zero rows are dropped."""
    where, params = _where(f, period=None, date="week_start_date")
    amounts = [c.strip() for c in _MARGIN_AMOUNTS.split(",")][1:]
    nonzero = " or ".join(f"{c} <> 0" for c in amounts)
    sums = ",\n".join(f"sum({c}) as {c}" for c in amounts)
    ratio = f"case when sum({_MARGIN_PCT_OF[1]}) = 0 then null else round(sum({_MARGIN_PCT_OF[0]}) / sum({_MARGIN_PCT_OF[1]}), 4) end"
    sql = f"""
        with base as (
            select *, encounter_count > 0 or gross_charge_amount <> 0 as is_physician_row
            from mart_service_line_margin_weekly {where}
        ),
        shown as (
            select week_start_date, facility_id, service_line_code,
                   case when is_physician_row then rendering_npi end as rendering_npi,
                   case when is_physician_row then provider_name else '{LATER_ADJUSTMENTS}' end as provider_name,
                   sum(encounter_count)::bigint as encounter_count, {sums}, {ratio} as margin_pct
            from base
            where is_physician_row or {nonzero}
            group by week_start_date, facility_id, service_line_code, is_physician_row,
                     case when is_physician_row then rendering_npi end,
                     case when is_physician_row then provider_name else '{LATER_ADJUSTMENTS}' end
        )"""
    total = cur.execute(f"{sql} select count(*) from shown", params).fetchone()[0]
    rows = _q(
        cur,
        f"""{sql}
        select week_start_date, facility_id, service_line_code, rendering_npi, provider_name,
               {_MARGIN_AMOUNTS}, margin_pct
        from shown
        order by week_start_date desc, facility_id, rendering_npi is null, contribution_margin_amount desc,
                 rendering_npi, service_line_code
        limit {int(limit)}""",
        params,
    )
    return rows, int(total)


def margin_weekly_trend(cur: duckdb.DuckDBPyConnection, f: Filters) -> Rows:
    where, params = _where(f, period=None, date="week_start_date")
    return _q(
        cur,
        f"""
        select week_start_date, {_MARGIN_SUMS}
        from mart_service_line_margin_weekly {where}
        group by week_start_date order by week_start_date""",
        params,
    )


# --------------------------------------------------------------------------- denials


_DENIAL_SUMS = """
        sum(denied_claim_count)::bigint as denied_claim_count,
        sum(denied_amount) as denied_amount,
        sum(overturned_claim_count)::bigint as overturned_claim_count,
        sum(written_off_amount) as written_off_amount,
        sum(initial_denials)::bigint as initial_denied_claim_count,
        sum(adjudicated_claim_count)::bigint as adjudicated_claim_count,
        case when sum(adjudicated_claim_count) = 0 then null
             else round(sum(initial_denials) / sum(adjudicated_claim_count), 4) end
            as initial_denial_rate,
        case when sum(denied_claim_count) = 0 then null
             else round(sum(overturned_claim_count) / sum(denied_claim_count), 4) end
            as overturn_rate
"""


def _denial_base(cur: duckdb.DuckDBPyConnection, f: Filters) -> tuple[str, list[Any]]:
    """Denial rows rolled up to period x payer x facility x service line (``groups``).

    The adjudicated denominator is repeated on every reason row of such a group, so it is
    taken once per group (max); initial denials are rate x denominator per reason row.
    A hash aggregate, not a window: this runs on every page view.
    """
    where, params = _where(f, period=PERIOD, payer_class="payer_class")
    return (
        f"""
        with groups as not materialized (
            select {PERIOD} as period_id, payer_code, facility_id, service_line_code,
                   any_value(payer_name) as payer_name, any_value(payer_class) as payer_class,
                   sum(denied_claim_count) as denied_claim_count,
                   sum(denied_amount) as denied_amount,
                   sum(overturned_claim_count) as overturned_claim_count,
                   sum(written_off_amount) as written_off_amount,
                   sum(coalesce(initial_denied_claim_count, 0)) as initial_denials,
                   max(adjudicated_claim_count) as adjudicated_claim_count
            from mart_denial_trends_monthly {where}
            group by 1, payer_code, facility_id, service_line_code
        )""",
        params,
    )


def denial_totals(cur: duckdb.DuckDBPyConnection, f: Filters) -> dict[str, Any]:
    base, params = _denial_base(cur, f)
    return _q(cur, f"{base} select {_DENIAL_SUMS} from groups", params).dicts()[0]


def denial_rollups(cur: duckdb.DuckDBPyConnection, f: Filters) -> tuple[dict[str, Any], Rows, Rows]:
    """Totals, by month and by payer in one scan (grouping sets over the group roll-up):
    the same figures as denial_totals / denials_by(period_id) / denials_by(payer)."""
    base, params = _denial_base(cur, f)
    res = _q(
        cur,
        f"""{base}
        select grouping(period_id) as g_period, grouping(payer_code) as g_payer,
               period_id, payer_code, any_value(payer_name) as payer_name,
               any_value(payer_class) as payer_class, {_DENIAL_SUMS}
        from groups
        group by grouping sets ((), (period_id), (payer_code))""",
        params,
    )
    measures = res.columns[6:]
    total: dict[str, Any] = {m: None for m in measures}
    months: list[tuple[Any, ...]] = []
    payers: list[tuple[Any, ...]] = []
    for r in res.rows:
        if r[0] and r[1]:
            total = dict(zip(measures, r[6:]))
        elif not r[0]:
            months.append((r[2], *r[6:]))
        else:
            payers.append((r[3], r[4], r[5], *r[6:]))
    months.sort(key=lambda r: r[0])
    amount = measures.index("denied_amount")
    payers.sort(key=lambda r: (-(r[3 + amount] or 0), r[0]))
    return (
        total,
        Rows(["period_id", *measures], months),
        Rows(["payer_code", "payer_name", "payer_class", *measures], payers),
    )


def denials_by(cur: duckdb.DuckDBPyConnection, f: Filters, dim: str) -> Rows:
    """dim: period_id | denial_category | payer | payer_class."""
    base, params = _denial_base(cur, f)
    if dim == "denial_category":
        # a category's initial denial rate: its initial denials over all adjudicated claims
        where, params = _where(f, period=PERIOD, payer_class="payer_class")
        return _q(
            cur,
            f"""{base},
            adjudicated as (select sum(adjudicated_claim_count) as n from groups),
            by_category as (
                select denial_category,
                       sum(denied_claim_count)::bigint as denied_claim_count,
                       sum(denied_amount) as denied_amount,
                       sum(overturned_claim_count)::bigint as overturned_claim_count,
                       sum(written_off_amount) as written_off_amount,
                       sum(coalesce(initial_denied_claim_count, 0)) as initial_denials
                from mart_denial_trends_monthly {where}
                group by denial_category
            )
            select denial_category, denied_claim_count, denied_amount, overturned_claim_count,
                   written_off_amount,
                   case when adjudicated.n = 0 then null else
                       round(initial_denials / adjudicated.n, 4) end as initial_denial_rate,
                   case when denied_claim_count = 0 then null else round(
                       overturned_claim_count / denied_claim_count, 4) end as overturn_rate
            from by_category, adjudicated
            order by denied_amount desc, denial_category""",
            params + params,
        )
    if dim == "payer":
        sel = "payer_code, any_value(payer_name) as payer_name, any_value(payer_class) as payer_class"
        keys, order = "payer_code", "denied_amount desc, payer_code"
    elif dim in ("period_id", "payer_class"):
        sel = keys = order = dim
    else:
        raise ValueError(f"unknown denial dimension {dim}")
    return _q(cur, f"{base} select {sel}, {_DENIAL_SUMS} from groups group by {keys} order by {order}", params)


def kpi_initial_denial_rates(
    cur: duckdb.DuckDBPyConnection, f: Filters
) -> tuple[Decimal | None, dict[str, Decimal | None]] | None:
    """Initial denial rate over *all* first adjudications, from mart_revenue_cycle_kpis
    (period x facility): total and by month. ``None`` when a payer class or service line
    filter is set (the KPI mart has neither); callers then use the denial-trend figures,
    whose denominator only has payer x facility x service line groups with at least one
    denial."""
    if f.payer_class or f.service_line:
        return None
    where, params = _where(f, period=PERIOD, service_line=None)
    rows = cur.execute(
        f"""
        select {PERIOD} as p, sum(initial_denied_claim_count), sum(adjudicated_claim_count)
        from mart_revenue_cycle_kpis {where} group by rollup (1) order by 1 nulls first""",
        params,
    ).fetchall()

    def rate(n: Any, d: Any) -> Decimal | None:
        return None if not d else (Decimal(n or 0) / Decimal(d)).quantize(Decimal("0.0001"))

    total = next((rate(n, d) for p, n, d in rows if p is None), None)
    return total, {p: rate(n, d) for p, n, d in rows if p is not None}


# --------------------------------------------------------------------------- A/R

#: mart_ar_aging's buckets (contract columns) and how the page labels them.
AR_BUCKETS: tuple[tuple[str, str], ...] = (
    ("ar_0_30_amount", "0-30"),
    ("ar_31_60_amount", "31-60"),
    ("ar_61_90_amount", "61-90"),
    ("ar_91_120_amount", "91-120"),
    ("ar_121_180_amount", "121-180"),
    ("ar_over_180_amount", "over 180"),
    ("ar_unbilled_amount", "unbilled"),
)

_AR_SUMS = ", ".join(
    f"sum({c}) as {c}"
    for c in (
        *(b for b, _ in AR_BUCKETS),
        "gross_balance_amount",
        "reserve_balance_amount",
        "net_balance_amount",
        "billed_ar_amount",
        "billed_ar_over_90_amount",
    )
)


def ar_as_of_period(cur: duckdb.DuckDBPyConnection, f: Filters) -> str | None:
    """The period end the A/R section shows: the last period of mart_ar_aging within the
    period filters (a balance is as of a date, so a range shows its last period end)."""
    where, params = _where(f, period="strftime(period_end_date, '%Y-%m')", facility=None, service_line=None)
    return cur.execute(f"select max(strftime(period_end_date, '%Y-%m')) from mart_ar_aging {where}", params).fetchone()[
        0
    ]


def ar_aging(cur: duckdb.DuckDBPyConnection, f: Filters, period: str) -> Rows:
    """A/R at the end of ``period`` by aging basis x payer class (payer class filter applies),
    with aged over 90 days / billed A/R: HFMA AR-2 over the class's payers."""
    where, params = _where(f, period=None, facility=None, service_line=None, payer_class="payer_class")
    where = (where + " and " if where else "where ") + "strftime(period_end_date, '%Y-%m') = ?"
    return _q(
        cur,
        f"""
        select aging_basis, payer_class, sum(claim_count)::bigint as claim_count, {_AR_SUMS},
               case when sum(billed_ar_amount) = 0 then null
                    else round(sum(billed_ar_over_90_amount) / sum(billed_ar_amount), 4)::decimal(18, 4) end
                   as aged_over_90_pct
        from mart_ar_aging {where}
        group by grouping sets ((aging_basis), (aging_basis, payer_class))
        order by aging_basis desc, payer_class nulls last""",
        [*params, period],
    )


def ar_kpis_by_month(cur: duckdb.DuckDBPyConnection, f: Filters) -> Rows:
    """Net A/R and net days in A/R per period from mart_revenue_cycle_kpis (period x facility;
    the facility filter applies). One facility's month is the mart row's own net_days_in_ar;
    over several facilities it is their net A/R over their average daily net revenue, summed
    first and divided last."""
    where, params = _where(f, period=PERIOD, service_line=None)
    return _q(
        cur,
        f"""
        select {PERIOD} as period_id, sum(net_ar_amount) as net_ar_amount,
               sum(avg_daily_net_revenue_amount) as avg_daily_net_revenue_amount,
               case when count(*) = 1 then any_value(net_days_in_ar)
                    when sum(avg_daily_net_revenue_amount) = 0 then null
                    else round(sum(net_ar_amount) / sum(avg_daily_net_revenue_amount), 2)::decimal(18, 2)
               end as net_days_in_ar
        from mart_revenue_cycle_kpis {where}
        group by 1 having {PERIOD} is not null order by 1""",
        params,
    )


# --------------------------------------------------------------------------- reimbursement


def reimbursement_by_payer_class(cur: duckdb.DuckDBPyConnection, f: Filters) -> Rows:
    where, params = _where(f, period=None, date="remit_date", payer_class="payer_class")
    return _q(
        cur,
        f"""
        select payer_class, sum(claim_count)::bigint as claim_count,
               sum(charge_amount) as charge_amount, sum(payment_amount) as payment_amount,
               sum(contractual_adjustment_amount) as contractual_adjustment_amount,
               sum(denial_amount) as denial_amount,
               sum(patient_responsibility_amount) as patient_responsibility_amount
        from mart_daily_reimbursement {where}
        group by payer_class order by payment_amount desc""",
        params,
    )


# --------------------------------------------------------------------------- reconciliation


def reconciliation_status(cur: duckdb.DuckDBPyConnection, f: Filters) -> tuple[Rows, dict[str, Any]]:
    """Counts and amounts at each checkpoint for the filters, and the day-level status."""
    t = "mart_reconciliation_daily"
    where, params = _where(f, period=None, service_line=None, date="activity_date")
    rows = _q(cur, reconciliation_checkpoints_sql(t, where), params)
    status = _q(
        cur,
        f"""
        select count(*) as facility_day_count,
               count(*) filter (where is_reconciled) as reconciled_count,
               sum(exception_count) as exception_count,
               sum(unposted_amount) as unposted_amount
        from {t} {where}""",
        params,
    ).dicts()[0]
    return Rows(["checkpoint", "record_count", "amount"], [r[1:] for r in rows.rows]), status


def open_exceptions(cur: duckdb.DuckDBPyConnection, f: Filters) -> tuple[Rows, int]:
    """Open exceptions by checkpoint x reason, and the total open count (every row of the
    exceptions mart is an open break)."""
    where, params = _where(f, period=None, service_line=None)
    rows = _q(
        cur,
        f"""
        select checkpoint, reason_code, count(*)::bigint as open_count, sum(amount) as amount
        from mart_reconciliation_exceptions {where}
        group by checkpoint, reason_code order by open_count desc""",
        params,
    )
    total = sum(int(r[rows.columns.index("open_count")]) for r in rows.rows)
    return rows, total


def top_exceptions(cur: duckdb.DuckDBPyConnection, f: Filters, limit: int = 15) -> Rows:
    """The largest open exceptions with their explanation (what to do)."""
    where, params = _where(f, period=None, service_line=None)
    return _q(
        cur,
        f"""
        select exception_date, facility_id, reason_code, source_entity, source_id, amount, detail
        from mart_reconciliation_exceptions {where}
        order by amount desc nulls last, exception_date desc limit {int(limit)}""",
        params,
    )


# --------------------------------------------------------------------------- freshness


def freshness(cur: duckdb.DuckDBPyConnection) -> Rows:
    """Aggregate source freshness (every snapshot has the table, empty when nothing landed)."""
    return _q(
        cur,
        """
        select source_system, format, last_loaded_at, batch_count, landed_batch_count,
               failed_batch_count, rows_accepted, rows_quarantined
        from source_freshness order by source_system, format""",
    )


# --------------------------------------------------------------------------- completeness


def unremitted_share_by_month(cur: duckdb.DuckDBPyConnection, f: Filters) -> dict[str, Decimal | None]:
    """Per billing month: the share of the month's submitted claims that no remittance has
    touched yet, as of the snapshot's last period end: claims of mart_ar_subledger at its
    latest period end, billed in the month, whose gross balance is still their full charges,
    over ``submitted_claim_count`` of mart_revenue_cycle_kpis. Recent months' margin and denial
    figures rise as these remittances arrive (the trend caveat). Facility filter applies; the
    KPI mart has no payer class or service line, so those filters do not."""
    where, params = _where(f, period=PERIOD, service_line=None)
    sub_where, sub_params = _where(f, period=None, service_line=None)
    latest = "(select max(period_end_date) from mart_ar_subledger)"
    sub_where = (sub_where + " and " if sub_where else "where ") + f"period_end_date = {latest} and is_billed"
    rows = cur.execute(
        f"""
        with submitted as (
            select {PERIOD} as period_id, sum(submitted_claim_count) as submitted
            from mart_revenue_cycle_kpis {where} group by 1
        ),
        unremitted as (
            select strftime(bill_date, '%Y-%m') as period_id,
                   count(*) filter (where gross_balance_amount = charges_to_date_amount) as open_claims
            from mart_ar_subledger {sub_where} group by 1
        )
        select s.period_id, coalesce(u.open_claims, 0), s.submitted
        from submitted as s left join unremitted as u on u.period_id = s.period_id
        where s.period_id is not null order by 1""",
        [*params, *sub_params],
    ).fetchall()
    return {p: None if not n else min(Decimal(o) / Decimal(n), Decimal(1)) for p, o, n in rows}


# --------------------------------------------------------------------------- data quality


@dataclass(frozen=True)
class DataQuality:
    """What the banner says about the data behind the figures."""

    rows_quarantined: int
    failed_batches: int
    open_exceptions: int
    open_exception_amount: Decimal
    held_journals: int
    held_amount: Decimal
    failing_checks: list[tuple[str, int, Decimal]]  # (check, failing rows, amount)
    schema_changes: int | None  # None: the snapshot has no schema-change table

    @property
    def clean(self) -> bool:
        return not (
            self.rows_quarantined
            or self.failed_batches
            or self.open_exceptions
            or self.held_journals
            or self.failing_checks
            or self.schema_changes
        )


def data_quality(cur: duckdb.DuckDBPyConnection, f: Filters) -> DataQuality:
    """Quarantined rows and failed batches (source_freshness), open reconciliation exceptions
    with their amount (the facility filter applies), held journals with their debit total
    (held_journals; facility filter applies), failing data-quality checks
    (mart_data_quality_status) and open schema changes when the snapshot has such a table."""
    quarantined, failed = cur.execute(
        "select coalesce(sum(rows_quarantined), 0), coalesce(sum(failed_batch_count), 0) from source_freshness"
    ).fetchone()
    where, params = _where(f, period=None, service_line=None)
    exc_n, exc_amount = cur.execute(
        f"select count(*), coalesce(sum(amount), 0) from mart_reconciliation_exceptions {where}", params
    ).fetchone()
    held_n, held_amount = 0, Decimal(0)
    if _has(cur, "held_journals"):
        held_n, held_amount = cur.execute(
            f"select count(*), coalesce(sum(debit_total), 0) from held_journals {where}", params
        ).fetchone()
    checks: list[tuple[str, int, Decimal]] = []
    if _has(cur, "mart_data_quality_status"):
        checks = [
            (str(r[0]), int(r[1] or 0), to_decimal(r[2]))
            for r in cur.execute(
                "select check_name, failing_row_count, amount from mart_data_quality_status "
                "where status <> 'pass' order by amount desc nulls last, check_name"
            ).fetchall()
        ]
    schema_changes = None
    if _has(cur, "schema_changes"):
        schema_changes = int(cur.execute("select count(*) from schema_changes").fetchone()[0])
    return DataQuality(
        rows_quarantined=int(quarantined),
        failed_batches=int(failed),
        open_exceptions=int(exc_n),
        open_exception_amount=to_decimal(exc_amount),
        held_journals=int(held_n),
        held_amount=to_decimal(held_amount),
        failing_checks=checks,
        schema_changes=schema_changes,
    )


def snapshot_published_at(snap: Snapshot) -> str:
    return str(snap.manifest.get("published_at", ""))


def to_decimal(v: Any) -> Decimal:
    return v if isinstance(v, Decimal) else Decimal(str(v or 0))


def age(ts: dt.datetime | None, now: dt.datetime | None = None) -> str:
    if ts is None:
        return "never"
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    secs = (now - ts).total_seconds()
    if secs < 3600:
        return f"{max(secs, 0) / 60:.0f} min ago"
    if secs < 86400 * 2:
        return f"{secs / 3600:.1f} h ago"
    return f"{secs / 86400:.0f} days ago"
