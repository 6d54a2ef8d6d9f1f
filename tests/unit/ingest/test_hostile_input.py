"""Hostile input (docs/reliability.md, "Hostile input"): no file can stop the run or land
another file's records.

File names are literal (no glob expansion in DuckDB), a file that cannot be read (special
file, permission, size, nesting) is reported by name and the run goes on to the next file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import pytest

from careledger.ingest import detect, run
from careledger.ingest.landing import duckdb_path
from careledger.ingest.run import ingest_paths

REPO = Path(__file__).resolve().parents[3]
ENCOUNTER = json.loads(
    (REPO / "tests" / "fixtures" / "fhir" / "Encounter.ndjson").read_text("utf-8-sig").splitlines()[0]
)


def encounter(resource_id: str) -> str:
    return json.dumps({**ENCOUNTER, "id": resource_id}) + "\n"


def ids_by_file(warehouse: Path) -> dict[str, list[str]]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(
            "select _source_file, resource_id from raw_ehr.fhir_resources order by _source_file, resource_id"
        ).fetchall()
    finally:
        con.close()
    out: dict[str, list[str]] = {}
    for source_file, resource_id in rows:
        out.setdefault(Path(source_file).name, []).append(resource_id)
    return out


def by_name(report: run.IngestReport) -> dict[str, run.FileResult]:
    return {Path(f.path).name: f for f in report.files}


def test_glob_characters_in_file_and_folder_names_are_literal(tmp_path: Path) -> None:
    landing = tmp_path / "landing" / "ehr[1]?"
    landing.mkdir(parents=True)
    names = {"enc1.ndjson": "E1", "enc?.ndjson": "EQ", "enc[1].ndjson": "EB", "enc*.ndjson": "ES", "encX.ndjson": "EX"}
    for name, resource_id in names.items():
        (landing / name).write_text(encounter(resource_id))
    report = ingest_paths(tmp_path / "wh.duckdb", [tmp_path / "landing"])
    assert {name: (f.status, f.records_read) for name, f in by_name(report).items()} == {
        name: ("landed", 1) for name in names
    }
    # each file landed exactly its own record: none of another file's, none lost
    assert ids_by_file(tmp_path / "wh.duckdb") == {name: [rid] for name, rid in names.items()}


def test_duckdb_path_names_exactly_one_file(tmp_path: Path) -> None:
    for name in ("a1.csv", "a?.csv", "a[1].csv", "a*.csv", "it's.csv"):
        (tmp_path / name).write_text(f"x\n{name}\n")
    con = duckdb.connect()
    for name in ("a?.csv", "a[1].csv", "a*.csv", "it's.csv"):
        rows = con.execute(f"select x from read_csv({duckdb_path(tmp_path / name)}, header=true)").fetchall()
        assert rows == [(name,)]


def test_deeply_nested_first_line_is_unknown_with_a_reason_and_the_run_goes_on(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "a_deep.ndjson").write_text("[" * 100_000 + "]" * 100_000 + "\n")
    (landing / "b_deep_object.ndjson").write_text('{"a":' * 50_000 + "1" + "}" * 50_000 + "\n")
    (landing / "c_good.ndjson").write_text(encounter("GOOD1"))
    results = by_name(ingest_paths(tmp_path / "wh.duckdb", [landing]))
    for name in ("a_deep.ndjson", "b_deep_object.ndjson"):
        assert results[name].status == "unknown"
        assert name in results[name].message and "nested deeper" in results[name].message
    assert results["c_good.ndjson"].status == "landed"
    assert detect.detect(landing / "a_deep.ndjson").format is None


def test_deeply_nested_record_after_a_good_one_is_quarantined_alone(tmp_path: Path) -> None:
    path = tmp_path / "enc.ndjson"
    deep = '{"resourceType": "Encounter", "id": "D2", "x": ' + "[" * 100_000 + "]" * 100_000 + "}\n"
    path.write_text(encounter("OK1") + deep)
    (result,) = ingest_paths(tmp_path / "wh.duckdb", [path]).files
    assert (result.status, result.records_read, result.records_accepted, result.records_quarantined) == (
        "landed",
        2,
        1,
        1,
    )
    con = duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True)
    quarantined = con.execute("select source_file, record_index from raw_meta.quarantine").fetchall()
    con.close()
    assert quarantined == [(str(path), 2)]


def test_a_fifo_is_refused_by_name_without_opening_it(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    os.mkfifo(landing / "pipe.ndjson")
    (landing / "z_good.ndjson").write_text(encounter("GOOD1"))
    results = by_name(ingest_paths(tmp_path / "wh.duckdb", [landing]))  # would hang if the FIFO were opened
    assert results["pipe.ndjson"].status == "failed"
    assert "pipe.ndjson: a FIFO, not a regular file" in results["pipe.ndjson"].message
    assert results["z_good.ndjson"].status == "landed"
    # given by name too
    (direct,) = ingest_paths(tmp_path / "wh.duckdb", [landing / "pipe.ndjson"]).files
    assert direct.status == "failed"


def test_a_dangling_link_is_reported_not_skipped(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "gone.ndjson").symlink_to(tmp_path / "nowhere.ndjson")
    results = by_name(ingest_paths(tmp_path / "wh.duckdb", [landing]))
    assert results["gone.ndjson"].status == "failed"
    assert "gone.ndjson: cannot be opened" in results["gone.ndjson"].message


def test_an_unreadable_file_fails_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    for name in ("a.ndjson", "b_secret.ndjson", "c.ndjson"):
        (landing / name).write_text(encounter(name.split(".")[0].upper()))
    real_detect = detect.detect

    def denied(path: Path, source: str = "auto") -> detect.Detected:
        if path.name == "b_secret.ndjson":  # root reads any file, so the refusal is simulated
            raise PermissionError(13, "Permission denied", str(path))
        return real_detect(path, source)

    monkeypatch.setattr(detect, "detect", denied)
    results = by_name(ingest_paths(tmp_path / "wh.duckdb", [landing]))
    assert [results[n].status for n in ("a.ndjson", "b_secret.ndjson", "c.ndjson")] == ["landed", "failed", "landed"]
    assert "b_secret.ndjson: could not be read (PermissionError" in results["b_secret.ndjson"].message


def test_a_file_over_the_size_limit_is_refused_with_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.ndjson"
    path.write_text(encounter("B1") * 10)
    monkeypatch.setattr(run, "MAX_FILE_BYTES", 1000)
    (result,) = ingest_paths(tmp_path / "wh.duckdb", [path]).files
    assert result.status == "failed"
    assert "over the 1,000-byte limit per file (MAX_FILE_BYTES)" in result.message
