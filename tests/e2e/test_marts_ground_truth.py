"""The finance marts against the simulator's ground truth, to the cent.

Runs on the session's ``built_warehouse`` (simulated landing folder with faults on ->
ingest -> dbt build). Every mart total must equal what the simulator booked: payments,
adjustments, patient responsibility and denials (also by denial category), gross charges
and direct cost. On every margin row, contribution margin = net revenue - direct cost -
indirect cost, and the indirect allocation conserves the overhead of every
facility-period for each of the three drivers.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

ZERO = Decimal("0.00")
REMIT_MEASURES = (
    "payment_amount",
    "contractual_adjustment_amount",
    "patient_responsibility_amount",
    "denial_amount",
)
MARGIN_MARTS = ("mart_service_line_margin_monthly", "mart_service_line_margin_weekly")
DRIVERS = ("gross_charges", "encounters", "payroll_hours")
REPO_ROOT = Path(__file__).resolve().parents[2]


def _d(value: object) -> Decimal:
    return ZERO if value in (None, "") else Decimal(str(value))


def _truth_rows(built_warehouse, name: str) -> list[dict[str, str]]:
    path: Path = built_warehouse.ground_truth_dir / name
    assert path.exists(), f"ground truth file {path} is missing"
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _truth_total(rows: list[dict[str, str]], column: str) -> Decimal:
    return sum((_d(r[column]) for r in rows), ZERO)


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> Decimal:
    (value,) = con.execute(sql).fetchone()
    return _d(value)


def _copy_warehouse(source: Path, folder: Path) -> Path:
    """Copy the warehouse (and its WAL, if any) so that no test holds the session's file."""
    target = folder / "warehouse.duckdb"
    shutil.copy2(source, target)
    wal = source.with_name(source.name + ".wal")
    if wal.exists():
        shutil.copy2(wal, target.with_name(target.name + ".wal"))
    return target


@pytest.fixture(scope="module")
def con(built_warehouse, tmp_path_factory):
    warehouse = _copy_warehouse(built_warehouse.warehouse, tmp_path_factory.mktemp("marts_gt"))
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        yield connection


@pytest.fixture(scope="module")
def daily_truth(built_warehouse) -> list[dict[str, str]]:
    rows = _truth_rows(built_warehouse, "daily_reimbursement.csv")
    assert rows, "ground truth daily_reimbursement.csv is empty"
    return rows


# ------------------------------------------------------------------ remit-side totals
@pytest.mark.parametrize("measure", REMIT_MEASURES)
@pytest.mark.parametrize("mart", MARGIN_MARTS)
def test_margin_remit_measures_equal_ground_truth(con, daily_truth, mart: str, measure: str) -> None:
    truth = _truth_total(daily_truth, measure)
    got = _scalar(con, f"select sum({measure}) from marts.{mart}")
    assert got == truth, f"{mart}.{measure}: {got} != ground truth {truth}"


@pytest.mark.parametrize("measure", REMIT_MEASURES)
def test_margin_remit_measures_by_month_equal_ground_truth(con, daily_truth, measure: str) -> None:
    truth: dict[str, Decimal] = defaultdict(Decimal)
    for r in daily_truth:
        truth[r["remit_date"][:7]] += _d(r[measure])
    rows = con.execute(
        f"""
        select strftime(p.period_start_date, '%Y-%m'), sum(m.{measure})
        from marts.mart_service_line_margin_monthly as m
        inner join core.dim_accounting_period as p using (period_id)
        group by 1
        """
    ).fetchall()
    got = {month: _d(v) for month, v in rows}
    truth = {k: v for k, v in truth.items() if v != 0}
    got = {k: v for k, v in got.items() if v != 0}
    assert got == truth


def test_denial_trends_equal_ground_truth(con, daily_truth) -> None:
    """Denials as received plus reversed denials = the remit-side denials of the truth."""
    truth = _truth_total(daily_truth, "denial_amount")
    got = _scalar(
        con,
        "select sum(denied_amount + reversed_denied_amount) from marts.mart_denial_trends_monthly",
    )
    assert got == truth


def test_denials_by_category_equal_ground_truth(con, built_warehouse) -> None:
    rows = _truth_rows(built_warehouse, "denials_by_category.csv")
    truth: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    for r in rows:
        truth[(r["denial_category"], r["group_code"], r["carc_code"])] += _d(r["denied_amount"])
    got = {
        (category, group, carc): _d(amount)
        for category, group, carc, amount in con.execute(
            """
            select denial_category, group_code, carc_code, sum(denied_amount)
            from marts.mart_denial_trends_monthly group by 1, 2, 3
            """
        ).fetchall()
    }
    assert {k: v for k, v in got.items() if v != 0} == {k: v for k, v in truth.items() if v != 0}


def test_kpi_cash_equals_ground_truth(con, daily_truth) -> None:
    truth = _truth_total(daily_truth, "payment_amount")
    assert _scalar(con, "select sum(payment_amount) from marts.mart_revenue_cycle_kpis") == truth


# ------------------------------------------------------------------ charges and cost
@pytest.mark.parametrize("mart", MARGIN_MARTS)
def test_gross_charges_equal_ground_truth(con, built_warehouse, mart: str) -> None:
    rows = _truth_rows(built_warehouse, "charges_daily.csv")
    for measure in ("charge_amount", "expected_reimbursement_amount"):
        truth = _truth_total(rows, measure)
        column = "gross_charge_amount" if measure == "charge_amount" else measure
        got = _scalar(con, f"select sum({column}) from marts.{mart}")
        assert got == truth, f"{mart}.{column}: {got} != ground truth {truth}"


def test_gross_charges_by_month_and_facility_equal_ground_truth(con, built_warehouse) -> None:
    truth: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    for r in _truth_rows(built_warehouse, "charges_daily.csv"):
        truth[(r["statement_to_date"][:7], r["facility_id"], r["service_line_code"])] += _d(r["charge_amount"])
    rows = con.execute(
        """
        select strftime(period_start_date, '%Y-%m'), facility_id, service_line_code,
            sum(gross_charge_amount)
        from marts.mart_service_line_margin_monthly group by 1, 2, 3
        """
    ).fetchall()
    got = {(m, f, s): _d(v) for m, f, s, v in rows}
    assert {k: v for k, v in got.items() if v != 0} == {k: v for k, v in truth.items() if v != 0}


def _cost_truth(built_warehouse, *, direct: bool) -> dict[tuple[str, str, str], Decimal]:
    """(period, facility, service line) -> payroll + supply + other; overhead has no line."""
    out: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    for r in _truth_rows(built_warehouse, "direct_costs.csv"):
        if bool(r["service_line_code"]) != direct:
            continue
        amount = _d(r["payroll_cost_amount"]) + _d(r["supply_cost_amount"]) + _d(r["other_cost_amount"])
        out[(r["period_id"], r["facility_id"], r["service_line_code"])] += amount
    return out


@pytest.mark.parametrize("mart", MARGIN_MARTS)
def test_direct_cost_equals_ground_truth(con, built_warehouse, mart: str) -> None:
    truth = sum(_cost_truth(built_warehouse, direct=True).values(), ZERO)
    got = _scalar(con, f"select sum(direct_cost_amount) from marts.{mart}")
    assert got == truth


def test_direct_cost_by_period_facility_service_line_equals_ground_truth(con, built_warehouse) -> None:
    truth = _cost_truth(built_warehouse, direct=True)
    got = {
        (p, f, s): _d(v)
        for p, f, s, v in con.execute(
            """
            select period_id, facility_id, service_line_code, sum(direct_cost_amount)
            from marts.mart_service_line_margin_monthly group by 1, 2, 3
            """
        ).fetchall()
    }
    assert {k: v for k, v in got.items() if v != 0} == {k: v for k, v in truth.items() if v != 0}


@pytest.mark.parametrize("mart", MARGIN_MARTS)
def test_indirect_cost_equals_ground_truth_overhead(con, built_warehouse, mart: str) -> None:
    truth = sum(_cost_truth(built_warehouse, direct=False).values(), ZERO)
    got = _scalar(con, f"select sum(indirect_cost_amount) from marts.{mart}")
    assert got == truth


# ------------------------------------------------------------------ identities
@pytest.mark.parametrize("mart", MARGIN_MARTS)
def test_margin_identity_on_every_row(con, mart: str) -> None:
    (rows, broken) = con.execute(
        f"""
        select
            count(*),
            count(*) filter (
                where contribution_margin_amount
                    <> net_revenue_amount - direct_cost_amount - indirect_cost_amount
                or net_revenue_amount
                    <> gross_charge_amount - contractual_adjustment_amount - denial_amount
            )
        from marts.{mart}
        """
    ).fetchone()
    assert rows > 0
    assert broken == 0


def test_weekly_costs_add_up_to_monthly(con) -> None:
    totals = con.execute(
        """
        select
            (select sum(direct_cost_amount) from marts.mart_service_line_margin_monthly),
            (select sum(direct_cost_amount) from marts.mart_service_line_margin_weekly),
            (select sum(indirect_cost_amount) from marts.mart_service_line_margin_monthly),
            (select sum(indirect_cost_amount) from marts.mart_service_line_margin_weekly)
        """
    ).fetchone()
    assert totals[0] == totals[1]
    assert totals[2] == totals[3]


def test_reconciliation_ties_remits_to_journals(con) -> None:
    remitted, posted, unposted = con.execute(
        """
        select sum(remitted_amount), sum(posted_amount), sum(unposted_amount)
        from marts.mart_reconciliation_daily
        """
    ).fetchone()
    gap = _scalar(
        con,
        "select coalesce(sum(amount), 0) from marts.mart_reconciliation_exceptions "
        "where reason_code = 'JOURNAL_NOT_POSTED'",
    )
    assert _d(remitted) - _d(posted) == _d(unposted) == gap


def test_unmatched_remits_are_exceptions(con) -> None:
    unmatched = con.execute("select count(*) from core.fct_remittance_claims where not is_matched").fetchone()[0]
    exceptions = con.execute(
        "select count(*) from marts.mart_reconciliation_exceptions where reason_code = 'REMIT_NO_CLAIM'"
    ).fetchone()[0]
    assert exceptions == unmatched


def test_payee_crosswalk_equals_ground_truth_payees(con, built_warehouse) -> None:
    """The payee crosswalk the simulator lands (erp/crosswalks.csv, entity payee) maps each
    facility's payee NPI and TIN to the facility and legal entity of ground_truth/payees.csv,
    and every landed 835 claim payment's payee NPI and TIN name the facility of the claim it
    matched: a payment that matched no claim would post where the simulator booked it."""
    truth = _truth_rows(built_warehouse, "payees.csv")
    assert truth
    expected = {("npi", r["payee_npi"]): (r["facility_id"], r["legal_entity_id"]) for r in truth} | {
        ("tin", r["payee_tax_id"]): (r["facility_id"], r["legal_entity_id"]) for r in truth
    }
    rows = con.execute(
        "select source_system, source_code, facility_id, legal_entity_id from intermediate.int_crosswalk__payees"
    ).fetchall()
    assert {(r[0], r[1]): (r[2], r[3]) for r in rows} == expected
    disagree = con.execute(
        """
        select count(*), count(npis.facility_id), count(tins.facility_id)
        from core.fct_remittance_claims as r
        left join intermediate.int_crosswalk__payees as npis
            on npis.source_system = 'npi' and npis.source_code = r.payee_npi
        left join intermediate.int_crosswalk__payees as tins
            on tins.source_system = 'tin' and tins.source_code = r.payee_tax_id
        where r.facility_id <> 'UNMAPPED'
            and (npis.facility_id is distinct from r.facility_id or tins.facility_id is distinct from r.facility_id)
        """
    ).fetchone()
    assert disagree == (0, 0, 0)
    placed = con.execute(
        "select count(*) from core.fct_remittance_claims where facility_source in ('claim', 'payee_npi', 'payee_tin')"
    ).fetchone()[0]
    assert placed > 0


# ------------------------------------------------------------------ allocation per driver
OVERHEAD_SQL = """
    select g.period_id, c.facility_id, sum(g.debit_amount - g.credit_amount)
    from core.fct_gl_actuals as g
    inner join core.dim_cost_center as c using (cost_center_id)
    inner join core.dim_gl_account as a using (account_id)
    where c.cost_center_type = 'overhead' and a.account_type = 'expense'
    group by 1, 2
"""


@pytest.fixture(scope="module")
def driver_warehouses(built_warehouse, tmp_path_factory) -> dict[str, Path]:
    """The margin mart rebuilt with each allocation driver, on copies of the warehouse.

    dbt runs in a subprocess so that its DuckDB connection is closed when it returns.
    """
    dbt = Path(sys.executable).parent / "dbt"
    out: dict[str, Path] = {}
    for driver in DRIVERS:
        home = tmp_path_factory.mktemp(f"driver_{driver}")
        _copy_warehouse(built_warehouse.warehouse, home)
        env = {**os.environ, "CARELEDGER_HOME": str(home)}
        result = subprocess.run(
            [
                str(dbt),
                "run",
                "--select",
                "mart_service_line_margin_monthly",
                "--vars",
                f"{{indirect_cost_driver: {driver}}}",
                "--project-dir",
                str(REPO_ROOT / "dbt_project"),
                "--profiles-dir",
                str(REPO_ROOT),
                "--target-path",
                str(home / "target"),
                "--log-path",
                str(home / "logs"),
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, f"dbt run with {driver} failed:\n{result.stdout[-3000:]}"
        out[driver] = home / "warehouse.duckdb"
    return out


@pytest.mark.parametrize("driver", DRIVERS)
def test_allocation_conserves_overhead_per_facility_period(driver_warehouses, driver: str) -> None:
    with duckdb.connect(str(driver_warehouses[driver]), read_only=True) as con:
        overhead = {(p, f): _d(v) for p, f, v in con.execute(OVERHEAD_SQL).fetchall()}
        allocated = {
            (p, f): _d(v)
            for p, f, v in con.execute(
                """
                select period_id, facility_id, sum(indirect_cost_amount)
                from marts.mart_service_line_margin_monthly group by 1, 2
                """
            ).fetchall()
        }
        broken = con.execute(
            """
            select count(*) from marts.mart_service_line_margin_monthly
            where contribution_margin_amount
                <> net_revenue_amount - direct_cost_amount - indirect_cost_amount
            """
        ).fetchone()[0]
    assert overhead, "no overhead expense to allocate"
    assert {k: v for k, v in allocated.items() if v != 0} == {k: v for k, v in overhead.items() if v != 0}
    assert broken == 0


def test_drivers_allocate_differently(driver_warehouses) -> None:
    shares = {}
    for driver, path in driver_warehouses.items():
        with duckdb.connect(str(path), read_only=True) as con:
            shares[driver] = con.execute(
                """
                select period_id, facility_id, service_line_code, indirect_cost_amount
                from marts.mart_service_line_margin_monthly
                where indirect_cost_amount <> 0 order by 1, 2, 3
                """
            ).fetchall()
    assert len({tuple(v) for v in shares.values()}) == len(DRIVERS)
