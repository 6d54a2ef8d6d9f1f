"""Every expected failure of the command line is one sentence on stderr with what to do next
and its own exit code (README, "Exit codes"), never a traceback; ``--json`` puts only JSON on
stdout."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from careledger import cli
from careledger.orchestration import locking

CARELEDGER = str(Path(sys.executable).parent / "careledger")


def _run(home: Path, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("CARELEDGER_HOME", "DAGSTER_HOME", "CARELEDGER_LANDING")}
    return subprocess.run(
        [CARELEDGER, "--home", str(home), *argv], capture_output=True, text=True, env=env, timeout=timeout
    )


def _one_sentence(result: subprocess.CompletedProcess, code: int, *words: str) -> None:
    assert result.returncode == code, (result.returncode, result.stdout[-2000:], result.stderr[-2000:])
    assert "Traceback" not in result.stderr + result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    for w in words:
        assert w in errors[0], errors[0]


def test_exit_codes_are_distinct_and_documented() -> None:
    names = {k: v for k, v in vars(cli).items() if k.startswith("EXIT_") and isinstance(v, int)}
    codes = set(names.values())
    assert codes == set(cli.EXIT_CODES)
    # one code per condition; only the two "held back, the rest published" share theirs
    shared = {k for k, v in names.items() if list(names.values()).count(v) > 1}
    assert shared == {"EXIT_JOURNALS_HELD", "EXIT_OUTPUTS_HELD"}
    readme = (Path(cli.REPO_ROOT) / "README.md").read_text()
    runbook = (Path(cli.REPO_ROOT) / "docs" / "runbook.md").read_text()
    for code in codes:
        assert f"| {code} |" in readme and f"| {code} |" in runbook, code


def test_refresh_on_an_empty_home_stops_at_once(tmp_path: Path) -> None:
    result = _run(tmp_path / "home", "refresh")
    _one_sentence(result, cli.EXIT_NOTHING_LANDED, "landing folder", "careledger demo")
    assert not (tmp_path / "home" / "warehouse.duckdb").exists()
    assert len(result.stdout.splitlines()) == 0


def test_status_before_anything_landed_says_so(tmp_path: Path) -> None:
    result = _run(tmp_path / "home", "status")
    assert result.returncode == cli.EXIT_OK and "nothing has landed yet" in result.stdout
    as_json = _run(tmp_path / "home", "status", "--json")
    assert json.loads(as_json.stdout)["warehouse"] is None


@pytest.mark.parametrize(
    "argv",
    [
        ["publish", "erp", "--target", "json"],
        ["extract", "--period", "2026-01"],
        ["backfill", "--from", "2026-01-01", "--to", "2026-01-02"],
    ],
    ids=["publish-erp", "extract", "backfill"],
)
def test_before_anything_landed(tmp_path: Path, argv: list[str]) -> None:
    _one_sentence(_run(tmp_path / "home", *argv), cli.EXIT_NOTHING_LANDED, "nothing has landed yet")


@pytest.fixture()
def unbuilt_home(tmp_path: Path) -> Path:
    """A home whose warehouse holds raw tables only (ingest ran, dbt build did not)."""
    home = tmp_path / "home"
    home.mkdir()
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        con.execute("create schema raw_meta; create table raw_meta.batches (batch_id varchar)")
    return home


@pytest.mark.parametrize(
    "argv",
    [["publish", "erp", "--target", "json"], ["extract", "--period", "2026-01"], ["publish", "serving"]],
    ids=["publish-erp", "extract", "publish-serving"],
)
def test_before_a_build(unbuilt_home: Path, argv: list[str]) -> None:
    _one_sentence(_run(unbuilt_home, *argv), cli.EXIT_NOT_BUILT, "careledger refresh")
    assert not (unbuilt_home / "serving" / "current").exists()


def test_while_another_process_writes_the_warehouse(unbuilt_home: Path) -> None:
    warehouse = unbuilt_home / "warehouse.duckdb"
    locking._write_holder(warehouse, locking.Holder.me("test writer"))  # this process's holder record
    with duckdb.connect(str(warehouse)):  # this process holds DuckDB's write lock
        result = _run(unbuilt_home, "status")
    _one_sentence(result, cli.EXIT_BUSY, "being written by", "test writer", "when it has finished")


def test_dashboard_without_a_snapshot(tmp_path: Path) -> None:
    _one_sentence(_run(tmp_path / "home", "dashboard"), cli.EXIT_NO_SNAPSHOT, "no serving snapshot", "refresh")


def test_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = _run(tmp_path / "home", "ui", "--port", str(port))
    _one_sentence(result, cli.EXIT_PORT_IN_USE, f"port {port}", "--port")


def test_usage_errors_are_one_sentence(tmp_path: Path) -> None:
    result = _run(tmp_path / "home", "backfill", "--from", "2026-02-01", "--to", "2026-01-01")
    _one_sentence(result, cli.EXIT_USAGE, "before --from")


@pytest.fixture(scope="module")
def built_home(built_warehouse, tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("cli") / "home"
    shutil.copytree(built_warehouse.home, home, ignore=shutil.ignore_patterns("*.lock"))
    return home


def test_a_period_without_journals(built_home: Path, tmp_path: Path) -> None:
    result = _run(built_home, "extract", "--period", "2019-01", "--out", str(tmp_path))
    _one_sentence(result, cli.EXIT_NO_PERIODS, "no journal lines for period 2019-01", "periods with journals")


def test_json_output_is_only_json(built_home: Path, tmp_path: Path) -> None:
    status = _run(built_home, "status", "--json")
    assert status.returncode == cli.EXIT_OK, status.stderr
    data = json.loads(status.stdout)
    assert data["batches"] and all(b["batch_id"] for b in data["batches"])
    assert {"failed_batches", "files_not_landed", "open_exceptions", "held_journals"} <= set(data)
    with duckdb.connect(str(built_home / "warehouse.duckdb"), read_only=True) as con:
        period = con.execute(
            "select strftime(max(posting_date), '%Y-%m') from marts.mart_erp_journal_lines"
        ).fetchone()[0]
    extract = _run(built_home, "extract", "--period", period, "--format", "csv", "--out", str(tmp_path), "--json")
    assert extract.returncode == cli.EXIT_BREAK  # nothing of this build is posted
    payload = json.loads(extract.stdout)
    assert payload["period"] == period and payload["all_tied"] is False
    published = _run(built_home, "publish", "serving", "--json")
    assert published.returncode == cli.EXIT_OK, published.stderr
    assert json.loads(published.stdout)["tables"]["held_journals"] == 0


def test_status_shows_batches_with_ids(built_home: Path) -> None:
    result = _run(built_home, "status")
    assert result.returncode == cli.EXIT_OK, result.stderr
    with duckdb.connect(str(built_home / "warehouse.duckdb"), read_only=True) as con:
        batch = con.execute("select batch_id from raw_meta.batches order by finished_at desc limit 1").fetchone()[0]
    assert batch in result.stdout
    for heading in ("failed batches", "files not landed", "open reconciliation exceptions", "held journals"):
        assert heading in result.stdout.lower(), heading
    assert "{" not in result.stdout  # tables and sentences, not dicts


def test_refresh_json_exits_3_and_names_what_was_held_back(tmp_path: Path, monkeypatch, capsys) -> None:
    """``refresh --json`` says what the build held back and exits 3, as refresh does without it."""
    import careledger.cli as cli
    from careledger.config import Home
    from careledger.publish.build_status import BuildStatus, FailedTest

    home = Home.from_env(tmp_path / "home").ensure()
    (home.landing / "billing").mkdir(parents=True, exist_ok=True)
    (home.landing / "billing" / "claims.837").write_text("ISA*00*~")
    status = BuildStatus(
        failed_tests=(FailedTest("assert_broken", ("mart_reconciliation_facility_days",), 2, "2 rows"),),
        blocked_models=("mart_reconciliation_facility_days", "mart_reconciliation_daily"),
    )

    def fake_run_job(h, job_name, **kw):  # the build ran to its end and held two marts back
        assert job_name == "refresh"
        status.write(h.build_status)

    monkeypatch.setattr(cli, "run_job", fake_run_job)
    monkeypatch.setattr(cli, "materialization_meta", lambda result: {})
    assert cli.main(["--home", str(home.root), "refresh", "--json"]) == 3
    out = json.loads(capsys.readouterr().out)
    assert out["held_back"]["failed_tests"][0]["name"] == "assert_broken"
    assert out["held_back"]["not_published"] == {
        "mart_reconciliation_daily": "not rebuilt: an upstream invariant test or model failed"
    }
    BuildStatus().write(home.build_status)  # a clean build: exit 0 and nothing held back
    monkeypatch.setattr(cli, "run_job", lambda h, job_name, **kw: None)
    assert cli.main(["--home", str(home.root), "refresh", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["held_back"] is None
