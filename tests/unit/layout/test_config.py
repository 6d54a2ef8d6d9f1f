"""careledger/config.py owns every environment variable careledger reads: one table (SETTINGS),
each read when asked for, documented in the README's "Configuration" section; no other module
reads (or names) a CARELEDGER_ variable."""

from __future__ import annotations

import ast
import re
from datetime import time
from pathlib import Path

import careledger
from careledger import config

PACKAGE = Path(careledger.__file__).resolve().parent
REPO = PACKAGE.parent
VAR = re.compile(r"^CARELEDGER_[A-Z0-9_]+$")


def test_no_module_but_config_names_a_careledger_variable():
    """Reading, setting or passing a CARELEDGER_ variable needs its name as a string: only config.py has one."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == PACKAGE / "config.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and VAR.match(node.value):
                found.append(f"{path.relative_to(REPO)}:{node.lineno} {node.value}")
            if isinstance(node, ast.JoinedStr) and node.values:
                head = node.values[0]
                if isinstance(head, ast.Constant) and str(head.value).startswith("CARELEDGER_"):
                    found.append(f"{path.relative_to(REPO)}:{node.lineno} f'{head.value}...'")
    assert not found, "CARELEDGER_ variables read outside careledger/config.py:\n" + "\n".join(found)


def test_config_reads_nothing_at_import_time():
    """No module-level statement of config.py reads the environment (each value is read when asked for)."""
    tree = ast.parse((PACKAGE / "config.py").read_text(encoding="utf-8"))
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef | ast.ClassDef | ast.Import | ast.ImportFrom):
            continue
        reads = [
            n
            for n in ast.walk(stmt)
            if (isinstance(n, ast.Attribute) and n.attr in ("environ", "getenv"))
            or (isinstance(n, ast.Call) and getattr(n.func, "id", None) in ("setting", "getenv"))
        ]
        assert not reads, f"config.py line {stmt.lineno} reads the environment at import time"


def test_values_follow_the_environment_when_asked(monkeypatch, tmp_path):
    monkeypatch.setenv("CARELEDGER_QUARANTINE_WARN_SHARE", "0.25")
    monkeypatch.setenv("CARELEDGER_POSTING_DEADLINE", "06:30")
    monkeypatch.setenv("CARELEDGER_HOME", str(tmp_path / "h"))
    monkeypatch.delenv("CARELEDGER_LANDING", raising=False)
    assert config.quarantine_warn_share() == 0.25
    assert config.posting_deadline() == time(6, 30)
    assert config.Home.from_env().warehouse == (tmp_path / "h" / "warehouse.duckdb").resolve()
    assert config.landing_override() is None
    monkeypatch.delenv("CARELEDGER_QUARANTINE_WARN_SHARE")
    assert config.quarantine_warn_share() == 0.01


def test_every_variable_dbt_reads_is_in_the_table():
    dbt_files = [REPO / "profiles.yml", *sorted((REPO / "dbt_project").rglob("*.yml"))]
    dbt_files += sorted((REPO / "dbt_project" / "models").rglob("*.sql"))
    dbt_files += sorted((REPO / "dbt_project" / "macros").rglob("*.sql"))
    read = set()
    for path in dbt_files:
        if "target" in path.relative_to(REPO).parts or "dbt_packages" in path.parts:
            continue
        read |= set(re.findall(r"env_var\(\s*['\"](CARELEDGER_[A-Z0-9_]+)", path.read_text(encoding="utf-8")))
    by_name = {s.name: s for s in config.SETTINGS}
    assert read - set(by_name) == set(), "dbt reads variables config.SETTINGS does not list"
    assert {s.name for s in config.SETTINGS if s.read_by == "dbt"} <= read


def test_the_table_is_one_line_per_variable_and_the_readme_shows_it():
    names = [s.name for s in config.SETTINGS]
    assert len(names) == len(set(names))
    for s in config.SETTINGS:
        assert VAR.match(s.name) and s.description and "\n" not in s.description, s
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "## Configuration" in readme
    assert config.markdown_table() in readme, (
        "README's Configuration table differs from careledger.config.SETTINGS; paste config.markdown_table()"
    )
