from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from careledger.simulator.simulator import SynthResult, synthesize


@pytest.fixture(scope="session")
def faulted(tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    """A small landing folder with every fault kind injected."""
    out = tmp_path_factory.mktemp("synth") / "faulted"
    return synthesize(
        out,
        encounters=1200,
        seed=7,
        start_date=date(2026, 1, 1),
        days=75,
        facilities=4,
        faults=0.03,
        unmapped_share=0.05,
    )


@pytest.fixture(scope="session")
def clean(tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    """A small clean landing folder (faults off), as the demo runs it."""
    out = tmp_path_factory.mktemp("synth") / "clean"
    return synthesize(out, encounters=600, seed=11, days=60, facilities=3, faults=0.0)


@pytest.fixture(scope="session")
def faulted_dir(faulted: SynthResult) -> Path:
    return faulted.out_dir


@pytest.fixture(scope="session")
def clean_dir(clean: SynthResult) -> Path:
    return clean.out_dir
