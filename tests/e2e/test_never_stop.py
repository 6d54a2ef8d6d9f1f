"""A failing invariant blocks only what depends on it (docs/data_contracts.md, never-stop policy).

The test breaks one mart's invariant for real: it adds an error-severity singular dbt test on
mart_reconciliation_facility_days that fails whenever the mart has rows, then runs
``careledger refresh`` on a small simulated health system. dbt skips the two public marts built
on that mart (mart_reconciliation_daily, mart_reconciliation_exceptions); everything else
builds, the serving snapshot is published without the held-back marts, its data-quality table
names the failing test, and refresh says so and exits 3 instead of 1 with nothing published.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from careledger.config import DBT_PROJECT_DIR

CARELEDGER = str(Path(sys.executable).parent / "careledger")
BROKEN_MART = "mart_reconciliation_facility_days"  # internal mart; two public marts read it
DEPENDENTS = {"mart_reconciliation_daily", "mart_reconciliation_exceptions"}
BREAKER = DBT_PROJECT_DIR / "tests" / "singular" / "assert_pytest_broken_invariant.sql"


@pytest.mark.e2e
def test_failing_invariant_holds_back_only_its_dependents(tmp_path):
    from careledger.publish.contracts import public_mart_names
    from careledger.simulator.simulator import synthesize

    landing = tmp_path / "landing"
    home = tmp_path / "home"
    synthesize(landing, encounters=120, seed=11, faults=0.02)
    env = {k: v for k, v in os.environ.items() if k not in ("CARELEDGER_HOME", "DAGSTER_HOME", "CARELEDGER_LANDING")}
    env["COLUMNS"] = "200"
    BREAKER.write_text(
        "{{ config(severity='error') }}\n"
        "-- written by tests/e2e/test_never_stop.py for the length of one test: fails on any row\n"
        f"select facility_id from {{{{ ref('{BROKEN_MART}') }}}}\n"
    )
    try:
        proc = subprocess.run(
            [CARELEDGER, "--home", str(home), "refresh", "--landing", str(landing)],
            capture_output=True,
            text=True,
            env=env,
        )
    finally:
        BREAKER.unlink(missing_ok=True)
        # the Dagster manifest parsed with the breaker is newer than every remaining file
        (DBT_PROJECT_DIR / "target" / "manifest.json").unlink(missing_ok=True)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 3, out[-5000:]
    assert "Traceback" not in out
    assert f"invariant test assert_pytest_broken_invariant on {BROKEN_MART}" in out
    for mart in DEPENDENTS:  # the public marts built on the broken one (itself is not public)
        assert f"not published: {mart}" in out

    serving = home / "serving" / "serving.duckdb"
    with duckdb.connect(str(serving), read_only=True) as con:
        tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
        status = con.execute(
            "select severity, status, source from mart_data_quality_status where check_name = ?",
            ["assert_pytest_broken_invariant"],
        ).fetchall()
        margin_rows = con.execute("select count(*) from mart_service_line_margin_monthly").fetchone()[0]
    published = set(public_mart_names()) - {BROKEN_MART, *DEPENDENTS}
    assert published <= tables, f"missing from the snapshot: {published - tables}"
    assert not ({BROKEN_MART, *DEPENDENTS} & tables)
    assert status == [("error", "fail", BROKEN_MART)]
    assert margin_rows > 0

    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        journals = con.execute("select count(*) from marts.mart_erp_journal_lines").fetchone()[0]
    assert journals > 0
