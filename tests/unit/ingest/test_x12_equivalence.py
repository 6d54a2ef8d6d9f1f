"""The single-pass 835 loader lands exactly what the polars parser it replaced landed.

``ingest/x12/remit_835_polars.py`` keeps the old parser. Each test lands the same files twice, once
through ``careledger.ingest.x12.loader.load`` and once through ``careledger.ingest.x12.loader.load_polars``, and
compares every raw remit table, the quarantine, the findings and the batch counts row for
row (batch ids and load times aside). The simulated folder has faults, so quarantined
transaction sets, bad dates and out-of-balance findings are covered; the fixtures cover
every quarantine reason and finding of the bad corpus, pretty-printed X12, a BOM and other
delimiters.
"""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import duckdb
import polars as pl
import pytest

from careledger.ingest import formats
from careledger.ingest.run import ingest_paths
from careledger.ingest.x12 import loader as x12_loader
from careledger.ingest.x12 import remit_835 as x12_835
from careledger.ingest.x12.loader import load_polars
from careledger.ingest.x12.remit_835 import decode_835_bytes, parse_835_text
from careledger.ingest.x12.remit_835_polars import parse_835_text_polars
from careledger.simulator.simulator import synthesize

FIXTURES = Path(__file__).parents[2] / "fixtures"
GOOD = sorted((FIXTURES / "x12").glob("*.835"))
BAD = sorted((FIXTURES / "bad" / "x12").glob("*.835"))
TABLES = (
    "remit_payments",
    "remit_claims",
    "remit_service_lines",
    "remit_adjustments",
    "remit_remarks",
    "remit_provider_adjustments",
)
LINEAGE = ("_batch_id", "_loaded_at")
CLP3 = "CLP*PCN0000000003*2*800*100*0*MB*PCC003*13*1"


def _rows(con: duckdb.DuckDBPyConnection, table: str, exclude: tuple[str, ...]) -> list[tuple]:
    cols = [
        c
        for (c,) in con.execute(
            "select column_name from information_schema.columns where table_schema || '.' || table_name = ? "
            "order by ordinal_position",
            [table],
        ).fetchall()
        if c not in exclude
    ]
    return sorted(con.execute(f"select {', '.join(cols)} from {table}").fetchall(), key=repr)


def _landed(warehouse: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        out = {t: _rows(con, f"raw_billing.{t}", LINEAGE) for t in TABLES}
        out["quarantine"] = _rows(con, "raw_meta.quarantine", ("batch_id", "quarantined_at"))
        out["findings"] = _rows(con, "raw_meta.validation_findings", ("batch_id",))
        out["batches"] = _rows(con, "raw_meta.batches", ("batch_id", "started_at", "finished_at"))
        return out
    finally:
        con.close()


def _land_both(tmp_path: Path, files: list[Path], monkeypatch: pytest.MonkeyPatch) -> tuple[dict, dict]:
    new_report = ingest_paths(tmp_path / "new.duckdb", files, source="x12-835")
    with monkeypatch.context() as m:
        m.setattr(formats, "loader_for", lambda fmt: (load_polars, "billing"))
        polars_report = ingest_paths(tmp_path / "polars.duckdb", files, source="x12-835")
    assert [f.status for f in new_report.files] == [f.status for f in polars_report.files]
    assert not [f for f in new_report.files if f.status == "failed"], [f.message for f in new_report.files]
    return _landed(tmp_path / "new.duckdb"), _landed(tmp_path / "polars.duckdb")


def _assert_same(new: dict, old: dict) -> None:
    for key in old:
        assert new[key] == old[key], f"{key}: {len(new[key])} rows from the new loader, {len(old[key])} from polars"


def test_fixtures_land_the_same_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = [f for f in GOOD + BAD if f.name not in ("empty.835", "not_x12.835", "utf16.835")]
    new, old = _land_both(tmp_path, files, monkeypatch)
    assert new["remit_claims"] and new["quarantine"] and new["findings"]
    _assert_same(new, old)


def test_simulated_folder_lands_the_same_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synthesize(tmp_path / "l", encounters=300, seed=3, faults=0.05)
    files = sorted((tmp_path / "l" / "billing" / "remits").glob("*.835"))
    assert len(files) > 50
    new, old = _land_both(tmp_path, files, monkeypatch)
    assert len(new["remit_claims"]) > 100 and new["quarantine"], "the folder should have faults to compare"
    _assert_same(new, old)
    # every landed payment names its facility's payee NPI and tax id as the simulator wrote them
    with (tmp_path / "l" / "ground_truth" / "payees.csv").open() as f:
        payees = {(row["payee_npi"], row["payee_tax_id"]) for row in csv.DictReader(f)}
    con = duckdb.connect(str(tmp_path / "new.duckdb"), read_only=True)
    landed = con.execute("select distinct payee_npi, payee_tax_id from raw_billing.remit_payments").fetchall()
    con.close()
    assert landed and set(landed) <= payees, (landed, payees)


def test_size_dispatch_uses_both_parsers_and_lands_the_same_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``load`` sends files above SINGLE_PASS_MAX_CHARS to the polars parser: with the threshold
    at the median file, both parsers run in one folder and the rows equal an all-single-pass run."""
    import functools

    import careledger.ingest.x12.remit_835_polars as x12_polars

    synthesize(tmp_path / "l", encounters=300, seed=3, faults=0.05)
    files = sorted((tmp_path / "l" / "billing" / "remits").glob("*.835"))
    sizes = sorted(len(decode_835_bytes(f.read_bytes())[0]) for f in files)
    monkeypatch.setattr(x12_loader, "SINGLE_PASS_MAX_CHARS", sizes[len(sizes) // 2])
    polars_calls: list[str] = []

    def counted(text: str, source_name: str = "<text>"):
        polars_calls.append(source_name)
        return parse_835_text_polars(text, source_name)

    monkeypatch.setattr(x12_polars, "parse_835_text_polars", counted)
    ingest_paths(tmp_path / "mixed.duckdb", files, source="x12-835")
    assert 0 < len(polars_calls) < len(files)
    single = functools.partial(x12_loader.load, parser=parse_835_text)
    with monkeypatch.context() as m:
        m.setattr(formats, "loader_for", lambda fmt: (single, "billing"))
        ingest_paths(tmp_path / "single.duckdb", files, source="x12-835")
    _assert_same(_landed(tmp_path / "mixed.duckdb"), _landed(tmp_path / "single.duckdb"))


@pytest.mark.parametrize("path", GOOD + BAD, ids=lambda p: p.name)
def test_parse_835_text_matches_the_polars_parser(path: Path) -> None:
    text, _ = decode_835_bytes(path.read_bytes(), path.name)
    new, old = parse_835_text(text, path.name), parse_835_text_polars(text, path.name)
    assert (new.records_read, new.quarantined, new.findings) == (old.records_read, old.quarantined, old.findings)
    for key, frame in old.tables.items():
        assert new.tables[key].columns == frame.columns or frame.height == 0, key
        assert new.tables[key].rows() == frame.rows(), key


def test_both_parsers_quarantine_only_a_truncated_claim_loop() -> None:
    """A truncated CLP between two good claims of one ST..SE: both parsers quarantine that loop
    only (same record, reason, message and raw text) and land the same rows and findings."""
    spec = importlib.util.spec_from_file_location("x12_make_fixtures_eq", FIXTURES / "x12" / "make_fixtures.py")
    fx = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fx)
    good = [s for s in fx.CLAIMS_2 if not s.startswith("LX")]
    first, second = good[: good.index(CLP3)], good[good.index(CLP3) :]
    claims = ["LX*1", *first, "CLP*TRUNC01*1*99", "SVC*HC:99213*99*$0**1", "CAS*CO*45*99", *second]
    text = fx.build_835([fx.transaction("0007", fx.HEADER_2 + claims + fx.TRAILER_1)])
    new, old = parse_835_text(text, "trunc.835"), parse_835_text_polars(text, "trunc.835")
    assert (new.records_read, new.quarantined, new.findings) == (old.records_read, old.quarantined, old.findings)
    for key, frame in old.tables.items():
        assert new.tables[key].rows() == frame.rows(), key
    (q,) = new.quarantined
    assert (q.record_index, q.reason_code) == (2, "MISSING_REQUIRED_ELEMENT")
    assert "CLP01 'TRUNC01'" in q.message and "ST02 0007" in q.message and "trunc.835" in q.message
    assert q.raw_text == "CLP*TRUNC01*1*99~SVC*HC:99213*99*$0**1~CAS*CO*45*99~"
    assert new.tables["claims"]["patient_control_number"].to_list() == ["PCN0000000002", "PCN0000000003"]
    (gap,) = [f for f in new.findings if f.rule == "PAYMENT_OUT_OF_BALANCE"]
    assert "CLP01 'TRUNC01' (CLP04 not readable)" in gap.message


ODD_DATES = [
    "20251220",
    "2025122",
    "20251340",
    "2025-12-20",
    " 20251220",
    "20251220 ",
    "202512201",
    "+20251220",
    "20250229",
    "20240229",
    "00010101",
    "2025 1220",
    "20251 20",
    "202511",
    "2025 1 2",
    "2025\t1220",
    "2025012",
    "20251",
    "",
    "2025-1-2",
    "2025 0 1",
    "20250001",
    "２０２５１２２０",
]
ODD_AMOUNTS = [
    "12",
    "12.345",
    "12.34567",
    "5.",
    ".5",
    "-0.5",
    "1e3",
    " 12",
    "12 ",
    "1,000",
    "$5",
    "+5",
    "1.2.3",
    "0x10",
    "inf",
    "nan",
    "-",
    ".",
    "00012.5",
    "٣",
]


def test_dates_and_amounts_read_like_polars() -> None:
    """The parser's date and decimal readers agree with the polars casts the old parser used."""
    expected_dates = pl.Series(ODD_DATES).str.to_date("%Y%m%d", strict=False).to_list()
    assert [x12_835._to_date(v) for v in ODD_DATES] == expected_dates
    expected = pl.Series(ODD_AMOUNTS).cast(pl.Decimal(38, 4), strict=False).to_list()
    assert [x12_835._to_decimal(v) for v in ODD_AMOUNTS] == expected
