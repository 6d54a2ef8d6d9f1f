"""SQL never embeds a path or argument unquoted (careledger.sql.literal): a CARELEDGER_HOME whose
path holds a single quote ingests, publishes the serving snapshot (ATTACH and COPY ... TO) and
publishes ERP files; and no f-string in careledger puts a value between quotes by hand."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest
from test_erp_support import make_warehouse

from careledger import cli
from careledger.config import PACKAGE_DIR
from careledger.ingest.run import ingest_paths
from careledger.publish.serving import open_serving, publish_serving_snapshot
from careledger.sql import literal

QUOTED = "o'brien's home"

#: SQL that takes a path or value as a literal, written as an f-string with the value between
#: quotes by hand ('{x}'), which breaks on a value holding a quote
HAND_QUOTED = re.compile(
    r"""(attach|to|from|read_\w+\(|glob\(|copy|install|load|comment on \w+ [\w."{}()]+ is)\s*'\{[^}]+\}'""",
    re.IGNORECASE,
)


def test_literal_doubles_single_quotes() -> None:
    assert literal("o'brien") == "'o''brien'"
    assert literal(Path("/a/it's/b.duckdb")) == "'/a/it''s/b.duckdb'"
    with duckdb.connect() as con:
        assert con.execute(f"select {literal(QUOTED)}").fetchone()[0] == QUOTED


def test_no_sql_f_string_quotes_a_value_by_hand() -> None:
    found = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if HAND_QUOTED.search(line):
                found.append(f"{path.relative_to(PACKAGE_DIR.parent)}:{number}: {line.strip()}")
    assert not found, "quote values with careledger.sql.literal:\n" + "\n".join(found)


def test_a_home_with_a_quote_ingests(tmp_path: Path) -> None:
    home = tmp_path / QUOTED
    landing = home / "it's landing"
    landing.mkdir(parents=True)
    fixtures = Path(__file__).resolve().parents[2] / "fixtures"
    (landing / "Encounter's.ndjson").write_bytes((fixtures / "fhir" / "Encounter.ndjson").read_bytes())
    report = ingest_paths(home / "warehouse.duckdb", [landing])
    assert [(f.status, f.records_quarantined) for f in report.files] == [("landed", 0)]
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        (source,) = con.execute("select distinct _source_file from raw_ehr.fhir_resources").fetchone()
    assert source.endswith("it's landing/Encounter's.ndjson")


@pytest.mark.parametrize("partition_min_rows", [1, 10**9], ids=["partitioned", "single-file"])
def test_a_home_with_a_quote_publishes_the_serving_snapshot(tmp_path: Path, partition_min_rows: int) -> None:
    home = tmp_path / QUOTED
    home.mkdir()
    warehouse = make_warehouse(home / "warehouse.duckdb")
    result = publish_serving_snapshot(warehouse, home / "serving", partition_min_rows=partition_min_rows)
    rows = result.tables["mart_erp_journal_lines"]
    assert rows > 0
    with open_serving(home / "serving") as snap:
        assert snap.execute("select count(*) from mart_erp_journal_lines").fetchone()[0] == rows
    parquet = home / "serving" / "parquet" / "mart_erp_journal_lines"
    with duckdb.connect() as con:
        read = con.execute(f"select count(*) from read_parquet({literal(parquet / '**' / '*.parquet')})").fetchone()
    assert read[0] == rows


def test_the_cli_publishes_erp_files_under_a_home_with_a_quote(tmp_path: Path, capsys) -> None:
    home = tmp_path / QUOTED
    home.mkdir()
    make_warehouse(home / "warehouse.duckdb")
    assert cli.main(["--home", str(home), "publish", "erp", "--target", "json", "--json"]) == 0
    assert list((home / "exports" / "erp" / "json").glob("*.json"))
