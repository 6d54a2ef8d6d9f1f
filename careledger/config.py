"""Where careledger reads and writes: everything under CARELEDGER_HOME."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
DBT_PROFILES_DIR = REPO_ROOT
SEEDS_DIR = REPO_ROOT / "seeds"
DEFAULT_HOME = Path(".careledger")


def dbt_executable() -> str:
    """The dbt that sits beside this Python, so nothing depends on the shell's PATH."""
    candidate = Path(sys.executable).parent / "dbt"
    return str(candidate) if candidate.exists() else "dbt"


@dataclass(frozen=True)
class Home:
    """The one folder that holds the warehouse, landing copies, exports, snapshots and logs."""

    root: Path

    @classmethod
    def from_env(cls, override: Path | str | None = None) -> Home:
        raw = override or os.environ.get("CARELEDGER_HOME") or DEFAULT_HOME
        return cls(Path(raw).expanduser().resolve())

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def exports(self) -> Path:
        return self.root / "exports"

    @property
    def erp_exports(self) -> Path:
        """Where ``careledger publish erp`` and the Dagster ERP assets write, one folder per target."""
        return self.exports / "erp"

    @property
    def extracts(self) -> Path:
        return self.exports / "extracts"

    @property
    def serving(self) -> Path:
        return self.root / "serving"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster"

    def ensure(self) -> Home:
        for p in (self.root, self.landing, self.exports, self.serving, self.logs, self.dagster_home):
            p.mkdir(parents=True, exist_ok=True)
        return self

    def export_env(self) -> None:
        """Make dbt (profiles.yml) and Dagster see this home."""
        os.environ["CARELEDGER_HOME"] = str(self.root)
        os.environ.setdefault("DAGSTER_HOME", str(self.dagster_home))
        # no internet here or in many hospital networks: dbt must not wait on telemetry calls
        os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
        os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")


def secret(name: str) -> str | None:
    """A credential from ``CARELEDGER_<NAME>``, or from the file named by ``CARELEDGER_<NAME>_FILE``
    (trailing newline dropped). Never logged; None when neither is set."""
    key = f"CARELEDGER_{name.upper()}"
    value = os.environ.get(key)
    if value:
        return value
    path = os.environ.get(f"{key}_FILE")
    if path:
        return Path(path).expanduser().read_text(encoding="utf-8").rstrip("\r\n")
    return None
