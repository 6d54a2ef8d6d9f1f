"""``python -m careledger.publish.erp``: the same arguments as ``careledger publish erp``."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_erp_support import make_warehouse

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
    assert "oracle: 1 file(s), 4 journals" in printed and "debits" in printed
    assert len(list((out / "oracle").iterdir())) == 1
    assert main(args) == 0
    assert "nothing new to post (4 journals already posted" in capsys.readouterr().out


def test_cli_errors_are_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--target", "json", "--warehouse", str(tmp_path / "missing.duckdb"), "--out", str(tmp_path)]) == 2
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--target", "json", "--date", "2025-02-03", "--from", "2025-02-01", "--warehouse", str(tmp_path / "x")])
