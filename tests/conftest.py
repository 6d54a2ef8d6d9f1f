"""Shared fixtures. ``built_warehouse`` runs the real pipeline once per test session:
simulate (with faults) -> ingest -> dbt build, in a temporary CARELEDGER_HOME."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Hypothesis profiles (docs/reliability.md, "Fuzzing"). `careledger`, the default, keeps
# `make test` fast and repeatable: a few examples per property, the same ones every run, no
# example database written. `careledger-long` is the campaign: run it with
#   .venv/bin/python -m pytest -p no:randomly tests/unit/ingest/test_fuzz_parsers.py \
#       --hypothesis-profile=careledger-long --hypothesis-show-statistics
# No deadline in either: timings belong in docs/benchmarks.md, not in tests.
_FUZZ_HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
settings.register_profile(
    "careledger", max_examples=15, derandomize=True, database=None, deadline=None, suppress_health_check=_FUZZ_HEALTH
)
settings.register_profile("careledger-long", max_examples=200, deadline=None, suppress_health_check=_FUZZ_HEALTH)
settings.load_profile("careledger")


def pytest_addoption(parser) -> None:
    parser.addoption(
        "--kill-campaign",
        choices=("seed", "long"),
        default="seed",
        help="tests/e2e/test_kill_campaign.py: 'seed' (default) kills each command at a fixed small set of "
        "points; 'long' kills it at every point several times and refresh at random moments, appending a "
        "record per try to test-artifacts/kill_campaign.jsonl",
    )
    parser.addoption("--kill-tries", type=int, default=3, help="--kill-campaign=long: tries per kill point (default 3)")
    parser.addoption(
        "--kill-seed", type=int, default=None, help="--kill-campaign=long: random seed (default: a new one each run)"
    )


REPO_ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO_ROOT / "test-artifacts"

BUILT_ENCOUNTERS = 1500
BUILT_SEED = 7
BUILT_FAULTS = 0.02


@dataclass
class BuiltWarehouse:
    home: Path
    warehouse: Path
    landing: Path
    ground_truth: dict
    ground_truth_dir: Path


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def built_warehouse(tmp_path_factory) -> BuiltWarehouse:
    from careledger.ingest.run import ingest_paths
    from careledger.orchestration.dbt_runner import run_dbt
    from careledger.simulator.simulator import synthesize

    root = tmp_path_factory.mktemp("built")
    home = root / "home"
    landing = root / "landing"
    home.mkdir()
    previous = os.environ.get("CARELEDGER_HOME")
    synthesize(landing, encounters=BUILT_ENCOUNTERS, seed=BUILT_SEED, faults=BUILT_FAULTS)
    warehouse = home / "warehouse.duckdb"
    ingest_paths(warehouse, [landing])
    try:
        run_dbt(["build"], home=home)
    finally:
        if previous is None:
            os.environ.pop("CARELEDGER_HOME", None)
        else:
            os.environ["CARELEDGER_HOME"] = previous
    gt_path = landing / "ground_truth.json"
    return BuiltWarehouse(home, warehouse, landing, json.loads(gt_path.read_text()), landing / "ground_truth")
