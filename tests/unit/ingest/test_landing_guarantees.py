"""The raw-layer invariants of docs/architecture.md, each with a test that can fail.

read = accepted + quarantined (per file and in total); a file already landed (same sha256)
is skipped and reported, ``force=True`` lands it again as a new batch; a file lands whole or
not at all, even when the process dies mid-file; a second writer waits and then exits with
a clear message without corrupting the warehouse; ``ingest/`` never imports Dagster.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from careledger.ingest.landing import WarehouseBusy
from careledger.ingest.run import ingest_paths

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures"
CLAIMS = FIXTURES / "csv" / "billing" / "claims_20260105.csv"
ENCOUNTERS = FIXTURES / "fhir" / "Encounter.ndjson"
CHILD_ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}

# one raw table per export kind: one raw row per accepted record
RECORD_TABLES = {
    "fhir": "raw_ehr.fhir_resources",
    "claims:claim_lines": "raw_billing.claim_lines",
    "denials:denial_events": "raw_billing.denial_events",
    "payers:payers": "raw_billing.payers",
    "patient-transactions:patient_transactions": "raw_billing.patient_transactions",
}


def query(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def test_read_equals_accepted_plus_quarantined_per_file_and_in_total(tmp_path: Path) -> None:
    # good files plus a slice of each bad corpus (the full corpora have their own tests)
    bad = (
        sorted((FIXTURES / "bad" / "csv").glob("*.csv"))[:10] + sorted((FIXTURES / "bad" / "fhir").glob("*.ndjson"))[:6]
    )
    folders = [FIXTURES / "csv", FIXTURES / "fhir", *bad]
    wh = tmp_path / "wh.duckdb"
    report = ingest_paths(wh, folders)
    landed = [f for f in report.files if f.status in ("landed", "quarantined")]
    assert len(landed) > 30 and all(f.status != "failed" for f in report.files)
    assert any(f.records_quarantined for f in landed)
    for f in landed:
        assert f.records_read == f.records_accepted + f.records_quarantined, f
    totals = report.totals
    assert totals["records_read"] == totals["records_accepted"] + totals["records_quarantined"]
    assert totals["records_read"] == sum(f.records_read for f in landed)
    # the warehouse agrees with the report, batch by batch
    batches = query(wh, "select batch_id, format, rows_read, rows_accepted, rows_quarantined from raw_meta.batches")
    assert len(batches) == len(landed)
    for batch_id, fmt, read, accepted, quarantined in batches:
        assert read == accepted + quarantined
        (distinct_q,) = query(
            wh, "select count(distinct record_index) from raw_meta.quarantine where batch_id = ?", [batch_id]
        )[0]
        assert distinct_q == quarantined
        table = RECORD_TABLES.get(fmt.split(":")[0] if fmt.startswith("fhir") else fmt)
        if fmt.startswith("erp:"):
            table = f"raw_erp.{fmt.split(':')[1]}"
        (rows,) = query(wh, f"select count(*) from {table} where _batch_id = ?", [batch_id])[0]
        assert rows == accepted, (fmt, batch_id)
    (q_total,) = query(wh, "select count(*) from (select distinct batch_id, record_index from raw_meta.quarantine)")[0]
    assert q_total == totals["records_quarantined"]


def test_same_sha256_is_skipped_and_force_lands_a_new_batch(tmp_path: Path) -> None:
    wh = tmp_path / "wh.duckdb"
    first = ingest_paths(wh, [CLAIMS]).files[0]
    copy = tmp_path / "renamed_export.csv"
    copy.write_bytes(CLAIMS.read_bytes())  # same bytes under another name: still the same file
    again = ingest_paths(wh, [CLAIMS, copy]).files
    assert [f.status for f in again] == ["skipped", "skipped"]
    assert all(f.batch_id == first.batch_id and "already landed" in f.message for f in again)
    assert query(wh, "select count(*) from raw_billing.claim_lines") == [(4,)]
    forced = ingest_paths(wh, [CLAIMS], force=True).files[0]
    assert forced.status == "landed" and forced.batch_id != first.batch_id
    assert query(wh, "select count(*), count(distinct _batch_id) from raw_billing.claim_lines") == [(8, 2)]
    assert query(wh, "select count(*) from raw_meta.batches where status = 'landed'") == [(2,)]


CHILD_DIES_MID_FILE = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from careledger.ingest.landing import LoadContext
    from careledger.ingest.run import ingest_paths

    real = LoadContext.insert_select

    def insert_then_die(self, table, columns, select_sql):
        n = real(self, table, columns, select_sql)
        print(n, flush=True)  # the rows are in the open transaction ...
        os._exit(1)           # ... and the process dies before the commit

    LoadContext.insert_select = insert_then_die
    ingest_paths(Path(sys.argv[1]), [Path(sys.argv[2])])
    """
)


@pytest.mark.parametrize(
    ("path", "table", "rows"), [(CLAIMS, "raw_billing.claim_lines", 4), (ENCOUNTERS, "raw_ehr.fhir_resources", 4)]
)
def test_a_file_lands_whole_or_not_at_all(tmp_path: Path, path: Path, table: str, rows: int) -> None:
    wh = tmp_path / "wh.duckdb"
    child = subprocess.run(
        [sys.executable, "-c", CHILD_DIES_MID_FILE, str(wh), str(path)],
        capture_output=True,
        text=True,
        env=CHILD_ENV,
        cwd=REPO,
        timeout=120,
    )
    assert child.returncode == 1, child.stderr
    assert child.stdout.strip() == str(rows)  # it really had inserted them
    assert query(wh, f"select count(*) from {table}") == [(0,)]
    assert query(wh, "select count(*) from raw_meta.batches") == [(0,)]
    rerun = ingest_paths(wh, [path]).files[0]
    assert (rerun.status, rerun.records_accepted) == ("landed", rows)
    assert query(wh, f"select count(*) from {table}") == [(rows,)]
    assert ingest_paths(wh, [path]).files[0].status == "skipped"
    assert query(wh, f"select count(*) from {table}") == [(rows,)]


HOLD_WRITE_LOCK = textwrap.dedent(
    """
    import sys, duckdb
    con = duckdb.connect(sys.argv[1])
    print("ready", flush=True)
    sys.stdin.read()  # hold the write lock until the parent closes our stdin
    con.close()
    """
)


def test_a_second_writer_gets_warehouse_busy_and_nothing_is_corrupted(tmp_path: Path) -> None:
    wh = tmp_path / "wh.duckdb"
    ingest_paths(wh, [CLAIMS])
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_WRITE_LOCK, str(wh)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=CHILD_ENV,
        cwd=REPO,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(WarehouseBusy) as err:
            ingest_paths(wh, [ENCOUNTERS], wait_seconds=1)
        assert str(wh) in str(err.value) and "another process" in str(err.value)
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    assert query(wh, "select count(*) from raw_billing.claim_lines") == [(4,)]
    assert query(wh, "select count(*) from raw_ehr.fhir_resources") == [(0,)]
    assert ingest_paths(wh, [ENCOUNTERS]).files[0].records_accepted == 4


def test_ingest_never_imports_dagster() -> None:
    offenders = []
    for py in sorted((REPO / "ingest").rglob("*.py")):
        tree = ast.parse(py.read_text(), filename=str(py))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in (
                "__import__",
                "import_module",
            ):
                names = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            offenders += [f"{py.relative_to(REPO)}: {n}" for n in names if n.split(".")[0].startswith("dagster")]
    assert not offenders, offenders


def test_bench_reports_what_it_landed(tmp_path: Path) -> None:
    """The benchmark lands through the real path and its counts add up (no timing asserted)."""
    from careledger.bench.ingest import bench_ingest

    figures = bench_ingest(FIXTURES / "csv", tmp_path / "bench")
    formats = figures["formats"]
    assert set(formats) == {"claims", "denials", "payers", "patient-transactions", "erp"}
    assert formats["claims"]["records"] == formats["claims"]["accepted"] == 4
    assert formats["erp"]["files"] == 10
    assert figures["records_read"] == sum(f["records"] for f in formats.values())
    assert all(f["bare_seconds"] > 0 and f["ratio"] is not None for f in formats.values())


def test_symlinked_folders_are_walked_once(tmp_path: Path) -> None:
    """A landing folder that links to an export share lands its files; a loop is walked once."""
    from careledger.ingest.landing import iter_files

    share = tmp_path / "share" / "adt"
    share.mkdir(parents=True)
    (share / "a.hl7").write_text("MSH|^~\\&|X\r")
    (share / ".hidden").write_text("x")
    landing = tmp_path / "landing"
    (landing / "ehr").mkdir(parents=True)
    (landing / "ehr" / "adt").symlink_to(share, target_is_directory=True)
    (share / "loop").symlink_to(landing, target_is_directory=True)
    files = [f.relative_to(landing).as_posix() for f in iter_files([landing])]
    assert files == ["ehr/adt/a.hl7"]
