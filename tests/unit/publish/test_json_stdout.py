"""``--json`` writes only JSON to stdout, for every command that accepts it: each is run as a
user runs it (the ``careledger`` executable in a subprocess) and all of its stdout must be one
JSON document; log lines go to stderr. Expected failures print one error object
(``{"error", "exit_code"}``) with the same exit code as without ``--json``. ``refresh`` and
``backfill`` run here on an empty home (their expected failure); their progress lines, which
also go to stderr, are the same Dagster logger that ``publish erp`` runs through here."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from test_erp_support import make_warehouse

from careledger.cli import build_parser

CARELEDGER = str(Path(sys.executable).parent / "careledger")


def json_commands() -> set[str]:
    """Every (sub)command whose parser has ``--json``, from the parser itself."""
    out: set[str] = set()

    def walk(sub: argparse._SubParsersAction, prefix: tuple[str, ...]) -> None:
        for name, parser in sub.choices.items():
            nested = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
            if nested:
                walk(nested[0], (*prefix, name))
            elif any("--json" in a.option_strings for a in parser._actions):
                out.add(" ".join((*prefix, name)))

    (top,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    walk(top, ())
    return out


@pytest.fixture(scope="module")
def homes(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("json")
    marts = root / "marts home"
    marts.mkdir()
    make_warehouse(marts / "warehouse.duckdb")
    return {"root": root, "landed": root / "landed home", "marts": marts, "empty": root / "empty home"}


def run_json(home: Path, *args: str) -> tuple[int, object, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CARELEDGER_", "DAGSTER_"))}
    proc = subprocess.run(
        [CARELEDGER, "--home", str(home), *args, "--json"], capture_output=True, text=True, env=env, timeout=900
    )
    try:
        document = json.loads(proc.stdout)
    except ValueError as exc:
        raise AssertionError(
            f"careledger {' '.join(args)} --json: stdout is not one JSON document ({exc}):\n{proc.stdout[:3000]}"
        ) from None
    if proc.returncode != 0:
        assert set(document) == {"error", "exit_code"} and document["exit_code"] == proc.returncode, document
        assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return proc.returncode, document, proc.stderr


#: each command with arguments that make it do its work on the homes above, in this order;
#: ``ok`` is whether it must succeed (False: an expected failure, which must be JSON too)
CASES: list[tuple[str, str, tuple[str, ...], bool]] = [
    ("synth", "root", ("synth", "--out", "{root}/landing", "--encounters", "20", "--days", "5"), True),
    ("ingest", "landed", ("ingest", "{root}/landing"), True),
    ("status", "landed", ("status",), True),
    ("unlock", "landed", ("unlock",), True),
    ("replay", "landed", ("replay", "--batch", "no-such-batch"), False),
    ("refresh", "empty", ("refresh",), False),
    ("backfill", "empty", ("backfill", "--from", "2026-01-01", "--to", "2026-01-02"), False),
    ("publish erp", "marts", ("publish", "erp", "--target", "json"), True),
    ("publish serving", "marts", ("publish", "serving"), True),
    (
        "deliver erp",
        "marts",
        ("deliver", "erp", "--target", "json", "--endpoint", "http://127.0.0.1:9", "--dry-run"),
        True,
    ),
    ("extract", "marts", ("extract", "--period", "2026-01"), False),
    # an --since that is no FHIR instant stops before any request (no server needed)
    ("fetch fhir", "landed", ("fetch", "fhir", "--base", "http://127.0.0.1:9/fhir", "--since", "yesterday"), False),
    ("bench", "root", ("bench", "synth", "--encounters", "20", "--work", "{root}/bench"), True),
]


def test_every_json_command_is_covered() -> None:
    assert {name for name, *_ in CASES} == json_commands()


def test_json_output_is_only_json(homes: dict[str, Path]) -> None:
    for name, home_key, args, ok in CASES:
        args = tuple(a.format(root=homes["root"]) for a in args)
        code, document, stderr = run_json(homes[home_key], *args)
        assert (code == 0) is ok, f"careledger {name} --json exited {code}: {document}\n{stderr[-3000:]}"
        assert isinstance(document, dict | list)


def test_refresh_json_keeps_dbt_and_child_output_off_stdout(tmp_path: Path) -> None:
    """dagster-dbt re-emits every dbt log line with ``sys.stdout.write`` and a child process
    inherits file descriptor 1: with ``--json`` both end up on stderr, and stdout is the one
    JSON document (tests/e2e/test_kill_campaign.py runs the real ``refresh --json``)."""
    home = tmp_path / "home"
    (home / "landing").mkdir(parents=True)
    (home / "landing" / "claims.csv").write_text("claim_id\n1\n")
    code = textwrap.dedent(f"""
        import subprocess, sys
        import careledger.cli as cli

        def run_job(home, name, landing=None):
            sys.stdout.write("1 of 646 START sql view model staging.stg_x ... [RUN]\\n")
            print("a print from a Dagster op")
            subprocess.run(["echo", "a child writing to the inherited stdout"], check=True)
            return None

        cli.run_job = run_job
        cli.materialization_meta = lambda result: {{"raw/x": {{"rows": 1}}}}
        cli._held_back_payload = lambda home: None
        sys.exit(cli.main(["--home", {str(home)!r}, "refresh", "--json"]))
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CARELEDGER_", "DAGSTER_"))}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    document = json.loads(proc.stdout)
    assert document["command"] == "refresh" and document["assets"] == {"raw/x": {"rows": 1}}
    for line in ("1 of 646 START", "a print from a Dagster op", "a child writing to the inherited stdout"):
        assert line in proc.stderr
