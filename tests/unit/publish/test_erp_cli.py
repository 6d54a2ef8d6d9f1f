"""``careledger publish erp --out DIR``: the one way to post ERP files outside the Dagster job
(the CLI, ``backfill`` and the Dagster assets all call ``orchestration.erp_posting.post_erp``)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from test_erp_support import D, Day, daily_rows, make_warehouse, standard_rows

from careledger.cli import main


def _warehouse(home: Path, **kw) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    return make_warehouse(home / "warehouse.duckdb", **kw)


def _publish(home: Path, *args: str) -> int:
    return main(["--home", str(home), "publish", "erp", *args])


def test_cli_posts_then_reports_nothing_new(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    _warehouse(home)
    out = tmp_path / "out"
    args = ["--target", "oracle", "--out", str(out), "--from", "2025-02-01", "--to", "2025-02-28"]
    assert _publish(home, *args) == 0
    printed = capsys.readouterr().out
    assert "2 file(s) written: 4 journals" in printed and "debits " in printed
    assert sorted(p.suffix for p in (out / "oracle").iterdir()) == [".csv", ".zip"]
    status = json.loads((home / "exports" / "posting_status.json").read_text())
    assert status["oracle"]["last_posted_date"] == "2025-02-28"
    assert _publish(home, *args) == 0
    again = capsys.readouterr().out
    assert "0 files written" in again and "already posted" in again and "--resend" in again


def test_cli_errors_are_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _publish(tmp_path / "empty", "--target", "json", "--out", str(tmp_path / "out")) == 4
    printed = capsys.readouterr().err
    assert "nothing has landed yet" in printed and "Traceback" not in printed
    home = tmp_path / "home"
    _warehouse(home)
    assert _publish(home, "--target", "json", "--date", "2025-02-03", "--from", "2025-02-01", "--to", "2025-02-03") == 2
    assert "use either --date or --from/--to" in capsys.readouterr().err


def test_cli_exit_code_says_a_journal_was_held(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outside = Day("F100", date(2026, 7, 1), "cardiology", D(10), D(1), D(0), D(0))
    home = tmp_path / "home"
    _warehouse(home, rows=standard_rows() + daily_rows([outside]))
    assert _publish(home, "--target", "json", "--out", str(tmp_path / "out")) == 3
    printed = capsys.readouterr().out
    assert "held back" in printed and "no accounting period covers 2026-07-01" in printed
    assert "Traceback" not in printed
    assert list((tmp_path / "out" / "json").iterdir())
    # status names the held journal of that facility and day, and why
    assert main(["--home", str(home), "status", "--facility", "F100", "--date", "2026-07-01"]) == 0
    trail = capsys.readouterr().out
    assert "held json " in trail and "NO_ACCOUNTING_PERIOD: " in trail and "2026-07-01" in trail


def test_one_way_to_post_erp_files() -> None:
    """Only orchestration/erp_posting.py calls the publisher; the CLI and the assets call post_erp."""
    import ast

    import careledger

    package = Path(careledger.__file__).resolve().parent
    callers = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name in ("publish_erp", "post_erp"):
                    callers.add((str(path.relative_to(package)), name))
    assert callers == {
        ("orchestration/erp_posting.py", "publish_erp"),
        ("cli.py", "post_erp"),
        ("orchestration/assets/publish.py", "post_erp"),
    }
    assert not (package / "publish" / "erp" / "__main__.py").exists()
