"""The command line: every subcommand answers --help, and lists only real commands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from careledger.cli import build_parser

CARELEDGER = str(Path(sys.executable).parent / "careledger")


def _subcommands() -> list[list[str]]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    out = []
    for name, p in sub.choices.items():
        out.append([name])
        nested = [a for a in p._actions if a.__class__.__name__ == "_SubParsersAction"]
        for n in nested:
            out.extend([name, child] for child in n.choices)
    return out


def test_top_level_help_lists_every_command():
    result = subprocess.run([CARELEDGER, "--help"], capture_output=True, text=True, check=True)
    for cmd in ("demo", "synth", "ingest", "refresh", "backfill", "publish", "extract", "dashboard", "ui", "bench"):
        assert cmd in result.stdout


@pytest.mark.parametrize("argv", _subcommands(), ids=lambda a: " ".join(a))
def test_every_subcommand_has_help(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args([*argv, "--help"])
    assert exc.value.code == 0
    assert "usage:" in capsys.readouterr().out


def test_bad_date_is_a_clear_error(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["backfill", "--from", "2026-13-01", "--to", "2026-01-02"])
    assert "is not a date" in capsys.readouterr().err
