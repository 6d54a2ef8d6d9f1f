"""Two-phase posting: a publish killed with SIGKILL at any named point is settled by the
rerun, which gives the clean run's ledger and the clean run's files (sha256), never a second
file for the same journals, and leaves no temporary file behind."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest
from test_erp_support import ledger_rows, make_warehouse, replace_mart
from test_posting_ledger import changed_rows

from careledger.publish.delivery.engine import load_pending
from careledger.publish.erp import publish_erp
from careledger.publish.erp.publisher import KILL_AT_ENV

POINTS = ("after_pending", "after_file", "after_posted")
STABLE = ("target", "journal_id", "idempotency_key", "posting_type", "status", "content_hash", "file_name")


def _publish_killed_at(wh: Path, target: str, out: Path, point: str) -> None:
    code = textwrap.dedent(f"""
        from pathlib import Path
        from careledger.publish.erp import publish_erp
        publish_erp(Path({str(wh)!r}), {target!r}, Path({str(out)!r}))
    """)
    proc = subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, KILL_AT_ENV: f"publish:{point}"}, capture_output=True
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]


def _files(out: Path) -> dict[str, str]:
    return {
        str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file()
    }


def _ledger(wh: Path, target: str) -> list[tuple]:
    return [tuple(r[c] for c in STABLE) for r in ledger_rows(wh, target)]


def _clean(tmp_path: Path, target: str, late_change: bool) -> tuple[list[tuple], dict[str, str]]:
    (tmp_path / "clean").mkdir()
    wh, out = make_warehouse(tmp_path / "clean" / "warehouse.duckdb"), tmp_path / "clean" / "out"
    publish_erp(wh, target, out)
    if late_change:
        replace_mart(wh, changed_rows())
        publish_erp(wh, target, out)
    return _ledger(wh, target), _files(out)


@pytest.mark.parametrize("late_change", [False, True], ids=["first-posting", "reversal-and-replacement"])
@pytest.mark.parametrize("point", POINTS)
@pytest.mark.parametrize("target", ["json", "oracle", "sap"])
def test_a_kill_at_any_point_is_settled_by_the_rerun(tmp_path: Path, target: str, point: str, late_change: bool):
    wh, out = make_warehouse(tmp_path / "warehouse.duckdb"), tmp_path / "out"
    if late_change:
        publish_erp(wh, target, out)
        replace_mart(wh, changed_rows())
    _publish_killed_at(wh, target, out, point)
    statuses = {r["status"] for r in ledger_rows(wh, target)}
    assert ("pending" in statuses) is (point != "after_posted")
    if point == "after_pending":
        (out / target).mkdir(parents=True, exist_ok=True)
        (out / target / ".partial.json.tmp").write_bytes(b'{"half a fi')  # a kill during the write
    rerun = publish_erp(wh, target, out)
    assert {r["status"] for r in ledger_rows(wh, target)} <= {"posted", "reversed"}
    assert not [p for p in out.rglob("*.tmp")]
    clean_ledger, clean_files = _clean(tmp_path, target, late_change)
    assert _ledger(wh, target) == clean_ledger
    assert _files(out) == clean_files  # the same files, byte for byte: none twice, none missing
    if point == "after_pending":
        assert rerun.journals > 0  # rolled back, posted again with the same ids
    if point == "after_posted":
        assert rerun.journals == 0 and rerun.files == []


def test_delivery_never_sends_a_pending_journal(tmp_path: Path) -> None:
    wh, out = make_warehouse(tmp_path / "warehouse.duckdb"), tmp_path / "out"
    _publish_killed_at(wh, "json", out, "after_pending")
    with duckdb.connect(str(wh)) as con:
        assert {r[0] for r in con.execute("select status from publish.posting_ledger").fetchall()} == {"pending"}
        unsent, _ = load_pending(con, "json")
    assert unsent == []  # recorded, but its file may not exist: not the delivery's yet
