"""``python -m careledger.publish.erp``: the same arguments as ``careledger publish erp``."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from test_erp_support import D, Day, daily_rows, make_warehouse, standard_rows

from careledger.publish.erp.__main__ import main


def test_cli_posts_then_reports_nothing_new(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wh = make_warehouse(tmp_path / "w.duckdb")
    out = tmp_path / "out"
    args = [
        "--target",
        "oracle",
        "--warehouse",
        str(wh),
        "--out",
        str(out),
        "--from",
        "2025-02-01",
        "--to",
        "2025-02-28",
    ]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "oracle: 2 file(s), 4 journals" in printed and "debits" in printed
    assert sorted(p.suffix for p in (out / "oracle").iterdir()) == [".csv", ".zip"]
    assert main(args) == 0
    assert "nothing new to post (4 journals already posted" in capsys.readouterr().out


def test_cli_errors_are_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--target", "json", "--warehouse", str(tmp_path / "missing.duckdb"), "--out", str(tmp_path)]) == 2
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--target", "json", "--date", "2025-02-03", "--from", "2025-02-01", "--warehouse", str(tmp_path / "x")])


def test_cli_exit_code_says_a_journal_was_held(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outside = Day("F100", date(2026, 7, 1), "cardiology", D(10), D(1), D(0), D(0))
    wh = make_warehouse(tmp_path / "w.duckdb", rows=standard_rows() + daily_rows([outside]))
    assert main(["--target", "json", "--warehouse", str(wh), "--out", str(tmp_path / "out")]) == 3
    printed = capsys.readouterr().out
    assert "1 held back" in printed and "no accounting period covers 2026-07-01" in printed
    assert "Traceback" not in printed
    assert list((tmp_path / "out" / "json").iterdir())
