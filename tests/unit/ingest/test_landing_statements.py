"""The fixed per-file cost of landing: how many SQL statements a file costs, and which ones.

No timing is asserted (the machine is shared); the statement count and the absence of
catalog lookups and ``count(*)`` rescans are what keep the per-file cost down, and they are
deterministic.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from careledger.ingest.landing import LandedFiles, connect, ensure_schema
from careledger.ingest.run import land_file

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
CLAIMS = FIXTURES / "csv" / "billing" / "claims_20260105.csv"
GL = FIXTURES / "csv" / "erp" / "gl_actuals_202601.csv"
ENCOUNTERS = FIXTURES / "fhir" / "Encounter.ndjson"


class CountingConnection:
    """A DuckDB connection that records every statement it executes."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con
        self.statements: list[str] = []

    def execute(self, sql: str, *args, **kwargs):
        self.statements.append(" ".join(str(sql).split()))
        return self._con.execute(sql, *args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self._con, name)


@pytest.fixture()
def con(tmp_path: Path):
    raw = connect(tmp_path / "wh.duckdb")
    ensure_schema(raw)
    yield CountingConnection(raw)
    raw.close()


# begin, progress-bar setting, the check query, the insert, the batch row, commit (+ the
# sha256 lookup when no run index is given)
MAX_STATEMENTS = {GL: 7, ENCOUNTERS: 14}


@pytest.mark.parametrize("path", [GL, ENCOUNTERS], ids=["csv", "fhir-ndjson"])
def test_a_clean_file_costs_a_handful_of_statements(con: CountingConnection, path: Path) -> None:
    result = land_file(con, path)
    assert result.status == "landed" and result.records_quarantined == 0, result
    assert len(con.statements) <= MAX_STATEMENTS[path], "\n".join(con.statements)
    text = "\n".join(con.statements).lower()
    assert "information_schema" not in text
    assert "count(*) from raw_" not in text  # the insert's own row count is used


def test_the_run_index_replaces_the_per_file_sha256_lookup(con: CountingConnection) -> None:
    landed = LandedFiles(con._con)
    first = land_file(con, CLAIMS, landed=landed)
    assert first.status == "landed"
    con.statements.clear()
    again = land_file(con, CLAIMS, landed=landed)
    assert (again.status, again.batch_id) == ("skipped", first.batch_id)
    assert con.statements == []  # answered from the index, no query at all
    # a fresh index (the next run) sees the file too, and force still lands it again
    assert land_file(con, CLAIMS, landed=LandedFiles(con._con)).status == "skipped"
    forced = land_file(con, CLAIMS, force=True, landed=landed)
    assert forced.status == "landed" and forced.batch_id != first.batch_id


def test_a_failed_file_is_not_added_to_the_run_index(
    con: CountingConnection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from careledger.ingest.csv import loader as csv_exports

    def broken(ctx):
        raise RuntimeError("loader exploded")

    monkeypatch.setattr(csv_exports, "load", broken)
    landed = LandedFiles(con._con)
    failed = land_file(con, CLAIMS, landed=landed)
    assert failed.status == "failed" and "loader exploded" in failed.message
    monkeypatch.undo()
    retried = land_file(con, CLAIMS, landed=landed)
    assert retried.status == "landed" and retried.records_accepted == 4
    assert con._con.execute("select status, count(*) from raw_meta.batches group by 1 order by 1").fetchall() == [
        ("failed", 1),
        ("landed", 1),
    ]
