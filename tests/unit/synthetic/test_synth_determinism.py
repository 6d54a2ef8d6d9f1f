"""Same seed and options give byte-identical files; another seed gives other files."""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import pytest

from careledger.simulator.cli import add_arguments, run_from_args
from careledger.simulator.simulator import synthesize


def _digests(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    a = synthesize(tmp_path / "a", encounters=400, seed=5, days=40, faults=0.03)
    b = synthesize(tmp_path / "b", encounters=400, seed=5, days=40, faults=0.03)
    da, db = _digests(a.out_dir), _digests(b.out_dir)
    assert len(da) > 50
    assert da == db


def test_other_seed_other_bytes(tmp_path: Path) -> None:
    a = synthesize(tmp_path / "a", encounters=300, seed=1, days=30)
    b = synthesize(tmp_path / "b", encounters=300, seed=2, days=30)
    da, db = _digests(a.out_dir), _digests(b.out_dir)
    assert da["ehr/fhir/Encounter.ndjson"] != db["ehr/fhir/Encounter.ndjson"]
    assert da["ground_truth/daily_reimbursement.csv"] != db["ground_truth/daily_reimbursement.csv"]


def test_cli_wiring(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(
        [
            "--out",
            str(tmp_path / "cli"),
            "--encounters",
            "150",
            "--seed",
            "9",
            "--start-date",
            "2026-03-01",
            "--days",
            "20",
            "--facilities",
            "2",
            "--faults",
            "0.01",
            "--json",
        ]
    )
    result = run_from_args(args)
    assert result.ground_truth.exists()
    assert '"out_dir"' in capsys.readouterr().out
    with pytest.raises(SystemExit):
        parser.parse_args(["--out", "x", "--start-date", "2026-13-01"])


def test_refuses_to_wipe_foreign_folder(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(ValueError, match="did not write"):
        synthesize(tmp_path, encounters=50, days=10)
    assert (tmp_path / "precious.txt").exists()
    again = tmp_path / "again"
    synthesize(again, encounters=50, days=10)
    synthesize(again, encounters=60, days=10)  # a previous output is replaced
    assert (again / "ground_truth.json").exists()


def test_a_tiny_system_is_simulated(tmp_path: Path) -> None:
    """20 encounters: some ADT events (merges, cancelled discharges) have no row at all, which
    once gave a Null-typed column and a polars SchemaError instead of a landing folder."""
    out = synthesize(tmp_path / "tiny", encounters=20, seed=5, faults=0)
    files = _digests(out.out_dir)
    assert "ehr/fhir/Encounter.ndjson" in files
    assert any(name.startswith("ehr/adt/adt_") for name in files)
