"""The ingest benchmark's figures are counts and ratios that add up (no timing is asserted)."""

from __future__ import annotations

import shutil
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def test_bench_splits_hl7_and_x12_for_a_fair_bare_figure(tmp_path: Path) -> None:
    from careledger.bench.ingest import bench_ingest

    landing = tmp_path / "landing"
    shutil.copytree(FIXTURES / "hl7", landing / "hl7", ignore=shutil.ignore_patterns("*.py"))
    shutil.copytree(FIXTURES / "x12", landing / "x12", ignore=shutil.ignore_patterns("*.py"))
    figures = bench_ingest(landing, tmp_path / "bench")
    formats = figures["formats"]
    assert set(formats) == {"hl7", "x12-835"}
    assert formats["hl7"]["files"] == 4 and formats["x12-835"]["files"] == 3
    for fam in formats.values():
        assert fam["records"] == fam["accepted"] + fam["quarantined"]
        assert fam["bare_seconds"] > 0 and fam["bare_split_seconds"] > 0
        assert fam["ratio_to_split"] is not None


def test_model_timings_pick_the_slowest_models_and_every_mart(tmp_path: Path) -> None:
    import json

    from careledger.bench.orchestration import _model_timings

    results = [{"unique_id": f"model.careledger.m{i}", "execution_time": float(i)} for i in range(15)]
    results += [
        {"unique_id": "model.careledger.mart_x", "execution_time": 0.5},
        {"unique_id": "test.careledger.some_test", "execution_time": 99.0},
    ]
    (tmp_path / "run_results.json").write_text(json.dumps({"results": results}))
    timings = _model_timings(tmp_path)
    assert list(timings["slowest_models"]) == [f"m{i}" for i in range(14, 4, -1)]
    assert timings["marts"] == {"mart_x": 0.5}
