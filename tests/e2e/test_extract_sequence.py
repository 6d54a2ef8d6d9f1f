"""The sequence of issue #21, through the real command line: journals held back by unmapped
codes -> ``careledger backfill`` -> ``careledger extract --period P`` shows the posting break
with the held journals and exits non-zero, with no ``publish serving`` in between. Then the
re-send of already posted files to a new folder."""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from careledger.cli import EXIT_BREAK, EXIT_JOURNALS_HELD, EXIT_OK

pytestmark = pytest.mark.e2e

CARELEDGER = str(Path(sys.executable).parent / "careledger")


def _run(home: Path, *argv: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("CARELEDGER_HOME", "DAGSTER_HOME", "CARELEDGER_LANDING")}
    env["COLUMNS"] = "200"
    return subprocess.run([CARELEDGER, "--home", str(home), *argv], capture_output=True, text=True, env=env)


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def posted(built_warehouse, tmp_path_factory) -> tuple[Path, str]:
    """A copy of the built warehouse's home after ``careledger backfill`` over every posting date."""
    home = tmp_path_factory.mktemp("sequence") / "home"
    shutil.copytree(built_warehouse.home, home, ignore=shutil.ignore_patterns("*.lock"))
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        lo, hi, unmapped = con.execute(
            "select min(posting_date), max(posting_date), count(*) filter (where account_id = 'UNMAPPED' "
            "or facility_id = 'UNMAPPED' or legal_entity_id = 'UNMAPPED') from marts.mart_erp_journal_lines"
        ).fetchone()
    assert unmapped, "the faulted simulation is expected to leave journals with unmapped codes"
    result = _run(home, "backfill", "--from", lo.isoformat(), "--to", hi.isoformat())
    assert result.returncode == EXIT_JOURNALS_HELD, result.stdout[-3000:] + result.stderr[-3000:]
    assert "journal(s) held back" in result.stdout
    return home, hi.strftime("%Y-%m")


def test_extract_after_backfill_shows_the_held_journals_and_breaks(posted, tmp_path: Path) -> None:
    home, _ = posted
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        period = con.execute(
            "select strftime(min(posting_date), '%Y-%m') from publish.held_journals where target = 'json'"
        ).fetchone()[0]
        held_json = con.execute(
            "select sum(debit_total) from publish.held_journals where target = 'json' "
            "and strftime(posting_date, '%Y-%m') = ?",
            [period],
        ).fetchone()[0]
    assert held_json > 0
    result = _run(home, "extract", "--period", period, "--format", "csv", "--out", str(tmp_path))
    assert result.returncode == EXIT_BREAK, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    folder = tmp_path / f"careledger_extract_{period}"
    tie = {r["check"]: r for r in _read(folder / "tieout.csv")}
    posted_json = tie["Posted to json (posting ledger)"]
    assert posted_json["status"] == "BREAK" and Decimal(posted_json["difference"]) == held_json
    assert tie["Posted + held for json"]["status"] == "tied"
    held = [r for r in _read(folder / "held_journals.csv") if r["target"] == "json"]
    assert sum(Decimal(r["debit_amount"]) for r in held) == held_json
    assert all(r["reason_code"] and r["message"] for r in held)
    # the snapshot was refreshed by the backfill: BI and the dashboard see the same held money
    from careledger.publish.serving import open_serving

    with open_serving(home / "serving") as con:
        in_snapshot = con.execute(
            "select sum(debit_total) from held_journals where target = 'json' and strftime(posting_date, '%Y-%m') = ?",
            [period],
        ).fetchone()[0]
    assert in_snapshot == held_json


def test_publish_to_a_new_folder_says_all_posted_and_resend_copies_the_files(posted, tmp_path: Path) -> None:
    home, _ = posted
    again = _run(home, "publish", "erp", "--target", "json", "--out", str(tmp_path / "new"))
    assert again.returncode == EXIT_JOURNALS_HELD, again.stdout + again.stderr
    assert "0 files written" in again.stdout and "already posted" in again.stdout
    assert not list((tmp_path / "new").rglob("*.json"))
    resent = _run(home, "publish", "erp", "--target", "json", "--resend", "--out", str(tmp_path / "resend"))
    assert resent.returncode == EXIT_OK, resent.stdout + resent.stderr
    copies = sorted(p for p in (tmp_path / "resend").iterdir() if p.is_file())
    originals = {p.name: p for p in (home / "exports" / "erp" / "json").rglob("*") if p.is_file()}
    assert copies
    for c in copies:
        assert hashlib.sha256(c.read_bytes()).digest() == hashlib.sha256(originals[c.name].read_bytes()).digest()
