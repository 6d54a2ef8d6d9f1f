"""The dbt manifest the Dagster definitions load, parsed when it is missing or stale.

No Dagster import here: ``careledger ui`` calls :func:`ensure_manifest` before it starts the
webserver, so the code server finds a fresh manifest instead of running ``dbt parse`` while
the UI waits (docs/benchmarks.md, "careledger ui").
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

from careledger.config import DBT_PROFILES_DIR, DBT_PROJECT_DIR, Home, dbt_executable

log = logging.getLogger(__name__)

#: Where ``dbt parse`` writes the manifest (the DbtProject's ``target_path`` is ``target``).
MANIFEST_PATH = DBT_PROJECT_DIR / "target" / "manifest.json"


def _newest_source_mtime() -> float:
    newest = 0.0
    for folder in (
        DBT_PROJECT_DIR / "models",
        DBT_PROJECT_DIR / "macros",
        DBT_PROJECT_DIR / "snapshots",
        DBT_PROJECT_DIR / "tests",
        DBT_PROJECT_DIR.parent / "seeds",
    ):
        for f in folder.rglob("*") if folder.exists() else []:
            if f.suffix in {".sql", ".yml", ".yaml", ".csv"}:
                newest = max(newest, f.stat().st_mtime)
    return max(newest, (DBT_PROJECT_DIR / "dbt_project.yml").stat().st_mtime)


def ensure_manifest() -> Path:
    """Parse the dbt project when the manifest is missing or older than the project files."""
    manifest = MANIFEST_PATH
    if manifest.exists() and manifest.stat().st_mtime >= _newest_source_mtime():
        return manifest
    env_home = Home.from_env()
    env_home.export_env()
    log.info("preparing dbt manifest (dbt parse)")
    proc = subprocess.run(
        [dbt_executable(), "parse", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROFILES_DIR)],
        cwd=str(DBT_PROJECT_DIR),
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"dbt parse failed, so the Dagster definitions cannot load:\n{proc.stdout[-4000:]}{proc.stderr[-2000:]}"
        )
    return manifest
