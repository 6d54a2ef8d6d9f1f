"""Billing and ERP CSV exports (ingest/csv_exports.py)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from careledger.ingest.csv import contract
from careledger.ingest.csv import loader as csv_exports
from careledger.ingest.landing import FileResult, record_hash
from careledger.ingest.run import ingest_paths

CSV = Path(__file__).resolve().parents[2] / "fixtures" / "csv"
BILLING, ERP = CSV / "billing", CSV / "erp"


def land(warehouse: Path, *paths: Path, **kw) -> list[FileResult]:
    return ingest_paths(warehouse, list(paths), **kw).files


def query(warehouse: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


EXPECTED_ROWS = {
    "claims_20260105.csv": ("raw_billing.claim_lines", 4),
    "denial_events_20260110.csv": ("raw_billing.denial_events", 3),
    "payers.csv": ("raw_billing.payers", 2),
    "legal_entities.csv": ("raw_erp.legal_entities", 1),
    "facilities.csv": ("raw_erp.facilities", 2),
    "cost_centers.csv": ("raw_erp.cost_centers", 2),
    "chart_of_accounts.csv": ("raw_erp.chart_of_accounts", 2),
    "suppliers.csv": ("raw_erp.suppliers", 1),
    "accounting_periods.csv": ("raw_erp.accounting_periods", 2),
    "gl_actuals_202601.csv": ("raw_erp.gl_actuals", 4),
    "payroll_202601.csv": ("raw_erp.payroll", 2),
    "supply_spend_202601.csv": ("raw_erp.supply_spend", 2),
    "crosswalks.csv": ("raw_erp.crosswalks", 2),
}


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, FileResult]]:
    wh = tmp_path_factory.mktemp("csv") / "wh.duckdb"
    paths = [p for d in (BILLING, ERP) for p in sorted(d.iterdir())]
    files = land(wh, *paths)
    return wh, {Path(f.path).name: f for f in files}


def test_every_good_export_lands_clean(good: tuple[Path, dict[str, FileResult]]) -> None:
    wh, files = good
    for name, (table, n) in EXPECTED_ROWS.items():
        f = files[name]
        assert (f.status, f.records_read, f.records_accepted, f.records_quarantined) == ("landed", n, n, 0), name
        got = query(
            wh,
            f"select count(*), min(_source_record), max(_source_record) from {table} "
            f"where _source_file like '%/{name}'",
        )
        assert got == [(n, 1, n)], name
    assert query(wh, "select count(*) from raw_meta.quarantine") == [(0,)]
    assert query(wh, "select count(*) from raw_meta.validation_findings") == [(0,)]


def test_types_and_quoting(good: tuple[Path, dict[str, FileResult]]) -> None:
    wh, _ = good
    line2 = query(
        wh,
        "select charge_amount, units, revenue_code, modifiers, service_date, line_number "
        "from raw_billing.claim_lines where _source_record = 2",
    )
    assert line2 == [(Decimal("1200.00"), Decimal("2.500"), "0250", "26:LT", date(2026, 1, 2), 2)]
    # the credit line lands as is, with no finding (negative charges are normal on credits)
    assert query(
        wh, "select charge_amount, principal_diagnosis_code from raw_billing.claim_lines where _source_record = 4"
    ) == [(Decimal("-150.00"), "J06.9, acute")]
    assert query(wh, "select payer_name, outpatient_rate from raw_billing.payers order by payer_code") == [
        ("Medicare Part A", Decimal("1.0000")),
        ("Acme Health, Inc.", Decimal("0.6500")),
    ]
    assert query(wh, "select is_active from raw_erp.cost_centers order by cost_center_id") == [(True,), (False,)]
    assert query(wh, "select bed_count from raw_erp.facilities order by facility_id") == [(250,), (None,)]
    notes = query(
        wh, "select note, amount from raw_billing.denial_events where _source_file like '%.csv' order by _source_record"
    )
    assert notes == [("no auth", Decimal("1200.00")), ('appeal "urgent"', None), (None, Decimal("1200.00"))]


def test_record_hash_is_md5_of_the_line(good: tuple[Path, dict[str, FileResult]]) -> None:
    wh, _ = good
    lines = (ERP / "suppliers.csv").read_text().splitlines()
    assert query(wh, "select _record_hash from raw_erp.suppliers") == [(record_hash(lines[1]),)]


def test_denials_as_json_land_like_the_csv(good: tuple[Path, dict[str, FileResult]]) -> None:
    wh, files = good
    for name in ("denial_events_20260111.ndjson", "denial_events_20260112.json"):
        assert (files[name].records_read, files[name].records_accepted) == (3, 3)
    cols = "event_id, claim_id, event_type, event_date, amount, note, _source_record"
    by_file = {
        ext: query(wh, f"select {cols} from raw_billing.denial_events where _source_file like '%{ext}' order by 1")
        for ext in (".csv", ".ndjson", ".json")
    }
    assert by_file[".csv"] == by_file[".ndjson"] == by_file[".json"]


def write(tmp_path: Path, name: str, header: list[str], rows: list[list[str]]) -> Path:
    p = tmp_path / name
    p.write_text("\n".join([",".join(header)] + [",".join(r) for r in rows]) + "\n")
    return p


SUPPLIER_COLS = list(contract.column_names("suppliers"))


def test_extra_column_is_ignored_with_a_warning(tmp_path: Path) -> None:
    p = write(tmp_path, "s.csv", SUPPLIER_COLS + ["region"], [["S1", "Acme", "lab", "east"]])
    wh = tmp_path / "wh.duckdb"
    (res,) = land(wh, p, source="erp")
    assert (res.records_accepted, res.records_quarantined) == (1, 0)
    assert query(wh, "select supplier_id, supplier_name from raw_erp.suppliers") == [("S1", "Acme")]
    assert query(wh, "select record_index, severity, rule, location from raw_meta.validation_findings") == [
        (0, "warning", "EXTRA_COLUMN", "header")
    ]


def test_missing_optional_column_lands_null_with_a_warning(tmp_path: Path) -> None:
    cols = [c for c in contract.column_names("claim_lines") if c != "modifiers"]
    src = (BILLING / "claims_20260105.csv").read_text().splitlines()
    header = src[0].split(",")
    keep = [header.index(c) for c in cols]
    import csv as _csv

    rows = [[r[i] for i in keep] for r in _csv.reader(src[1:])]
    p = tmp_path / "c.csv"
    with p.open("w", newline="") as fh:
        w = _csv.writer(fh, lineterminator="\n")
        w.writerow(cols)
        w.writerows(rows)
    wh = tmp_path / "wh.duckdb"
    (res,) = land(wh, p)
    assert (res.format, res.records_accepted) == ("claims:claim_lines", 4)
    assert query(wh, "select count(*) from raw_billing.claim_lines where modifiers is null") == [(4,)]
    assert query(wh, "select rule from raw_meta.validation_findings") == [("MISSING_OPTIONAL_COLUMN",)]


def test_missing_required_column_quarantines_every_row(tmp_path: Path) -> None:
    cols = [c for c in contract.column_names("claim_lines") if c != "claim_id"]
    p = write(tmp_path, "c.csv", cols, [["x"] * len(cols)] * 3)
    wh = tmp_path / "wh.duckdb"
    (res,) = land(wh, p)
    assert (res.status, res.records_read, res.records_accepted, res.records_quarantined) == ("quarantined", 3, 0, 3)
    q = query(wh, "select record_index, reason_code, message from raw_meta.quarantine order by 1")
    assert [(r[0], r[1]) for r in q] == [(1, "MISSING_COLUMN"), (2, "MISSING_COLUMN"), (3, "MISSING_COLUMN")]
    assert q[0][2].startswith("c.csv line 1: the header has no required column 'claim_id'")
    assert query(wh, "select count(*) from raw_billing.claim_lines") == [(0,)]


def test_negative_amount_rule(tmp_path: Path) -> None:
    cols = list(contract.column_names("supply_spend"))
    p = write(tmp_path, "ss.csv", cols, [["I1", "2026-01-02", "S1", "CC-1", "lab", "-10.00"]])
    cols_d = list(contract.column_names("denial_events"))
    d = write(
        tmp_path, "d.csv", cols_d, [["E1", "C1", "P1", "written_off", "2026-01-02", "CO", "45", "-3.10", "Q", ""]]
    )
    wh = tmp_path / "wh.duckdb"
    results = land(wh, p, d)
    assert all(r.records_accepted == 1 for r in results)
    findings = query(wh, "select source_file, record_index, rule, location from raw_meta.validation_findings")
    assert [(Path(f[0]).name, f[1], f[2], f[3]) for f in findings] == [("d.csv", 1, "NEGATIVE_AMOUNT", "amount")]


def test_line_numbers_with_blank_lines_crlf_and_shuffled_header(tmp_path: Path) -> None:
    cols = list(reversed(SUPPLIER_COLS))
    p = tmp_path / "s.csv"
    p.write_bytes(b"\xef\xbb\xbf" + (",".join(cols) + "\r\n" + "lab,Acme,S1\r\n\r\nlab,Beta,S2\r\nbad,,\r\n").encode())
    wh = tmp_path / "wh.duckdb"
    (res,) = land(wh, p)
    assert (res.records_read, res.records_accepted, res.records_quarantined) == (3, 2, 1)
    assert query(wh, "select _source_record, supplier_id, supplier_name from raw_erp.suppliers order by 1") == [
        (1, "S1", "Acme"),
        (3, "S2", "Beta"),
    ]
    assert query(wh, "select record_index, reason_code, raw_text from raw_meta.quarantine") == [
        (4, "MISSING_REQUIRED", "bad,,")
    ]


@pytest.mark.parametrize("damage", ["short_row", "multiline_field", "bad_utf8"])
def test_exact_parser_matches_the_fast_path(tmp_path: Path, damage: str) -> None:
    """Files the DuckDB fast path hands to the line parser keep the same numbering and values."""
    good_rows = ["S1,Acme,lab", "S2,Beta,lab", "S3,Gamma,lab"]
    extra = {"short_row": "S9,only-two", "multiline_field": 'S4,"Multi\nLine Co",lab', "bad_utf8": "S9,Bad\udcff,lab"}[
        damage
    ]
    text = ",".join(SUPPLIER_COLS) + "\n" + "\n".join(good_rows[:2] + [extra] + good_rows[2:]) + "\n"
    p = tmp_path / "s.csv"
    p.write_bytes(text.encode("utf-8", "surrogateescape"))
    wh = tmp_path / "wh.duckdb"
    (res,) = land(wh, p)
    rows = query(wh, "select _source_record, supplier_id from raw_erp.suppliers order by 1")
    if damage == "multiline_field":
        assert rows == [(1, "S1"), (2, "S2"), (3, "S4"), (5, "S3")]
        assert query(wh, "select supplier_name from raw_erp.suppliers where supplier_id = 'S4'") == [
            ("Multi\nLine Co",)
        ]
        assert res.records_quarantined == 0
    else:
        assert rows == [(1, "S1"), (2, "S2"), (4, "S3")]
        code = {"short_row": "WRONG_COLUMN_COUNT", "bad_utf8": "BAD_ENCODING"}[damage]
        assert query(wh, "select record_index, reason_code from raw_meta.quarantine") == [(3, code)]


def test_unknown_kind_is_a_bug_not_content(tmp_path: Path) -> None:
    from datetime import datetime

    from careledger.ingest.landing import IngestError, LoadContext

    ctx = LoadContext(
        con=duckdb.connect(), path=BILLING / "payers.csv", batch_id="b", loaded_at=datetime.now(), kind="nope"
    )
    with pytest.raises(IngestError):
        csv_exports.load(ctx)


def test_json_array_of_denials_keeps_element_numbers(tmp_path: Path) -> None:
    rows = [
        dict(
            zip(
                contract.column_names("denial_events"),
                [f"E{i}", "C1", "P1", "denial_received", "2026-01-02", "CO", "45", "1.00", "Q", None],
            )
        )
        for i in range(1, 4)
    ]
    rows[1]["event_date"] = "2026/01/02"
    p = tmp_path / "d.json"
    p.write_text(json.dumps(rows))
    wh = tmp_path / "wh.duckdb"
    (res,) = land(wh, p)
    assert (res.records_read, res.records_accepted, res.records_quarantined) == (3, 2, 1)
    assert query(wh, "select record_index, reason_code from raw_meta.quarantine") == [(2, "BAD_DATE")]


def test_header_only_and_duplicate_columns(tmp_path: Path) -> None:
    empty = write(tmp_path, "empty.csv", SUPPLIER_COLS, [])
    dup = write(
        tmp_path, "dup.csv", SUPPLIER_COLS[:2] + ["supplier_name"] + SUPPLIER_COLS[2:], [["S1", "A", "B", "lab"]]
    )
    wh = tmp_path / "wh.duckdb"
    results = land(wh, empty, dup, source="erp")
    assert [(r.status, r.records_read, r.records_accepted) for r in results] == [("landed", 0, 0), ("landed", 1, 1)]
    assert query(wh, "select supplier_id, supplier_name, supplier_category from raw_erp.suppliers") == [
        ("S1", "A", "lab")
    ]
    assert query(wh, "select rule from raw_meta.validation_findings") == [("DUPLICATE_COLUMN",)]


def _landed_rows(warehouse: Path) -> tuple[list[tuple], list[tuple], list[tuple]]:
    return (
        query(
            warehouse,
            "select _source_record, _record_hash, supplier_id, supplier_name, supplier_category "
            "from raw_erp.suppliers order by 1",
        ),
        query(warehouse, "select record_index, reason_code, message, raw_text from raw_meta.quarantine order by 1"),
        query(warehouse, "select record_index, rule, location, message from raw_meta.validation_findings order by 1"),
    )


def test_split_path_matches_the_exact_parser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A quote-free file (fields split in SQL) lands exactly as the line-by-line parser lands it:
    BOM, CRLF, blank and whitespace-only lines, short and long rows, empty values, an extra column."""
    cols = SUPPLIER_COLS + ["region"]
    lines = [
        ",".join(cols),
        "S1,Acme,lab,east",
        "",
        "S2,Beta,,west",
        "   ",
        "S3,Gamma",
        "S4,D,lab,x,y",
        ",NoId,lab,n",
        "S5, Spaced ,lab,s",
        "\t",
        "S6,Last,lab,e",
    ]
    p = tmp_path / "s.csv"
    p.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode())  # no final line break either
    split_wh, exact_wh = tmp_path / "split.duckdb", tmp_path / "exact.duckdb"
    (split,) = land(split_wh, p, source="erp")
    monkeypatch.setattr(csv_exports, "_clean_text", lambda data: None)  # force the exact parser
    (exact,) = land(exact_wh, p, source="erp")
    assert (split.records_read, split.records_accepted, split.records_quarantined) == (7, 4, 3)
    assert (exact.records_read, exact.records_accepted, exact.records_quarantined) == (7, 4, 3)
    assert _landed_rows(split_wh) == _landed_rows(exact_wh)
    rows, quarantined, _ = _landed_rows(split_wh)
    assert [r[0] for r in rows] == [1, 3, 8, 10]
    assert rows[0][1] == record_hash("S1,Acme,lab,east")
    assert [(q[0], q[1]) for q in quarantined] == [
        (5, "WRONG_COLUMN_COUNT"),
        (6, "WRONG_COLUMN_COUNT"),
        (7, "MISSING_REQUIRED"),
    ]
    assert quarantined[0][3] == "S3,Gamma"


def test_quoted_files_take_the_duckdb_scan_and_keep_values(tmp_path: Path) -> None:
    """A file with quotes cannot be split on commas; it lands through the strict DuckDB scan."""
    p = tmp_path / "s.csv"
    p.write_text(",".join(SUPPLIER_COLS) + '\nS1,"Acme, Inc.",lab\n\nS2,Beta,lab\n')
    wh = tmp_path / "wh.duckdb"
    (res,) = land(wh, p, source="erp")
    assert (res.records_read, res.records_accepted) == (2, 2)
    assert query(wh, "select _source_record, supplier_name, _record_hash from raw_erp.suppliers order by 1") == [
        (1, "Acme, Inc.", record_hash('S1,"Acme, Inc.",lab')),
        (3, "Beta", record_hash("S2,Beta,lab")),
    ]


def test_scan_safe_checks_utf8_across_chunks(tmp_path: Path) -> None:
    from careledger.ingest.lines import scan_safe

    p = tmp_path / "f"
    cases = {
        b"a" * 7 + "é".encode() + b"b" * 10: True,  # a 2-byte character split across two chunks
        b"a" * 7 + "é".encode()[:1] + b"b" * 10: False,  # a truncated character before ASCII
        b"a" * 16 + b"\xff": False,
        b"a" * 16 + b"\x01": False,
        b"a" * 16 + "€".encode(): True,
        b"a" * 16 + "€".encode()[:2]: False,  # truncated at the end of the file
    }
    for data, expected in cases.items():
        p.write_bytes(data)
        assert scan_safe(p, chunk_size=8) is expected, data


def test_payer_classes_come_from_the_seed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The payer-class code list is seeds/payer_classes.csv: a class the seed lacks is an
    UNKNOWN_CODE finding, and adding it to (a copy of) the seed is all it takes to accept it."""
    import csv as _csv
    import shutil

    from careledger.config import SEEDS_DIR

    with (SEEDS_DIR / "payer_classes.csv").open(newline="") as fh:
        seeded = tuple(r["payer_class"] for r in _csv.DictReader(fh))
    assert contract.enums()["payers"]["payer_class"] == seeded
    cols = list(contract.column_names("payers"))
    row = {
        "payer_code": "PYR077",
        "payer_name": "Tricare",
        "payer_class": "tricare",
        "outpatient_method": "fee_schedule",
    }
    p = write(tmp_path, "payers.csv", cols, [[row.get(c, "") for c in cols]])

    def findings(warehouse: Path) -> list[tuple]:
        (res,) = land(warehouse, p)
        assert res.records_accepted == 1
        return query(warehouse, "select rule, location from raw_meta.validation_findings where rule = 'UNKNOWN_CODE'")

    assert findings(tmp_path / "a.duckdb") == [("UNKNOWN_CODE", "payer_class")]
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS_DIR, seeds)
    with (seeds / "payer_classes.csv").open("a", newline="") as fh:
        fh.write("tricare,TRICARE,true\n")
    monkeypatch.setattr(contract, "SEEDS_DIR", seeds)
    contract.enums.cache_clear()
    csv_exports._checks_sql.cache_clear()  # the check query is built once per file shape
    try:
        assert findings(tmp_path / "b.duckdb") == []
    finally:
        monkeypatch.undo()
        contract.enums.cache_clear()
        csv_exports._checks_sql.cache_clear()
