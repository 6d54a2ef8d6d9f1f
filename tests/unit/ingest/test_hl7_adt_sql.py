"""The bulk SQL path for HL7 v2 ADT lands exactly what the pure-Python (hl7 package) path lands.

Every file is landed twice, once through ``hl7_adt.load`` (SQL, with the Python path for the
messages SQL does not call clean) and once through ``hl7_adt.load_python``; the four raw tables,
the quarantine, the findings and the batch counts must be identical row for row.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

import careledger.ingest.hl7.adt as adt
from careledger.ingest.hl7.adt_sql import PY_WHITESPACE, AdtSql, file_delimiters, is_plain
from careledger.ingest.run import ingest_paths
from careledger.simulator.simulator import synthesize

FIXTURES = Path(__file__).parents[2] / "fixtures"
GOOD = sorted((FIXTURES / "hl7").glob("*.hl7"))
BAD = sorted((FIXTURES / "bad" / "hl7").glob("*.hl7"))
RAW = ("raw_ehr.adt_messages", "raw_ehr.adt_diagnoses", "raw_ehr.adt_procedures", "raw_ehr.adt_insurance")
META = {
    "raw_meta.quarantine": "file_name, record_index, reason_code, message, raw_text",
    "raw_meta.validation_findings": "file_name, record_index, severity, rule, location, message",
    "raw_meta.batches": "file_name, format, rows_read, rows_accepted, rows_quarantined, status",
}

MSH = "MSH|^~\\&|EPIC|GH|CL|WH|{ts}||ADT^{ev}^ADT_A01|{ctrl}|P|2.5"
EVN = "EVN|{ev}|20260105083000"
PID = "PID|1||{mrn}||DOE^JANE||19800102|F|||1 MAIN ST^^BOSTON^MA^02110||(617)555-1234||||||123-45-6789"
PV1 = "PV1|1|I|D-1^101^A^L-1||||1234567893^SMITH^JOHN|||MED||||7|||||{visit}" + "|" * 25 + "{admit}|"
DG1 = "DG1|{n}|I10|I20.9^Angina^I10||20260105|A"
PR1 = "PR1|{n}|CPT|93000^ECG^CPT||{at}|||||||1234567893^SMITH"
IN1 = "IN1|1|GOLD01|PAY-1|ACME||||GRP-7" + "|" * 28 + "MBR01"


def message(
    ctrl: str,
    *,
    ev: str = "A01",
    ts: str = "20260105083000",
    mrn: str = "MRN1^^^CL^MR",
    visit: str = "V1",
    admit: str = "20260105080000",
    pr1_at: str = "20260105090000",
    extra: list[str] | None = None,
    dg1: int = 1,
) -> str:
    lines = [
        MSH.format(ts=ts, ev=ev, ctrl=ctrl),
        EVN.format(ev=ev),
        PID.format(mrn=mrn),
        PV1.format(visit=visit, admit=admit),
    ]
    lines += [DG1.format(n=n) for n in range(1, dg1 + 1)]
    lines += [PR1.format(n=1, at=pr1_at), IN1]
    return "\r".join(lines + (extra or []))


def land_both(tmp_path: Path, files: list[Path], monkeypatch: pytest.MonkeyPatch) -> duckdb.DuckDBPyConnection:
    """Land ``files`` through both paths; return a connection with both warehouses attached (py, sql)."""
    sql_load = adt.load
    for name, loader in (("py", adt.load_python), ("sql", sql_load)):
        monkeypatch.setattr(adt, "load", loader)
        report = ingest_paths(tmp_path / f"{name}.duckdb", files)
        assert not [f for f in report.files if f.status == "failed"], [f.message for f in report.files]
    monkeypatch.setattr(adt, "load", sql_load)
    con = duckdb.connect()
    con.execute(f"attach '{tmp_path / 'py.duckdb'}' as py (read_only)")
    con.execute(f"attach '{tmp_path / 'sql.duckdb'}' as sql (read_only)")
    return con


def differences(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, int]]:
    """Rows only in py / only in sql, per table (lineage ids and load times excluded)."""
    out: dict[str, tuple[int, int]] = {}
    queries = {t: f"select * exclude (_batch_id, _loaded_at) from {{db}}.{t}" for t in RAW}
    queries["raw_meta.batches"] = (
        "select file_name, format, rows_read, rows_accepted, rows_quarantined, status from {db}.raw_meta.batches"
    )
    for t, cols in META.items():
        if t != "raw_meta.batches":
            queries[t] = (
                f"select {cols} from {{db}}.{t} q join (select batch_id, file_name from "
                f"{{db}}.raw_meta.batches) using (batch_id)"
            )
    for t, q in queries.items():
        a, b = q.format(db="py"), q.format(db="sql")
        only_py = con.execute(f"select count(*) from ({a} except all {b})").fetchone()[0]
        only_sql = con.execute(f"select count(*) from ({b} except all {a})").fetchone()[0]
        out[t] = (only_py, only_sql)
    return out


def assert_identical(con: duckdb.DuckDBPyConnection) -> None:
    diff = differences(con)
    assert diff == {t: (0, 0) for t in diff}, diff
    for t in RAW:  # and in the same order
        q = f"select _source_file, _source_record, _record_hash from {{db}}.{t} order by rowid"
        assert con.execute(q.format(db="py")).fetchall() == con.execute(q.format(db="sql")).fetchall(), t


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "in" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def test_python_whitespace_constant() -> None:
    assert PY_WHITESPACE == "".join(chr(c) for c in range(0x110000) if chr(c).isspace())


def test_good_and_bad_fixtures_land_identically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    con = land_both(tmp_path, GOOD + BAD, monkeypatch)
    assert con.execute("select count(*) from sql.raw_ehr.adt_messages").fetchone()[0] > 50
    assert_identical(con)


def test_simulated_faulted_files_land_identically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synthesize(tmp_path / "l", encounters=300, seed=3, faults=0.05)
    folder = tmp_path / "l"
    faults = json.loads((folder / "ground_truth.json").read_text())["faults"]
    # a few plain days, and days with the simulator's HL7 faults (truncated MSH, late A08, out of order)
    faulted = [
        r["file"]
        for kind in ("malformed_hl7", "late_a08", "out_of_order")
        for r in faults[kind]["records"]
        if r["file"].startswith("ehr/adt/")
    ]
    assert faults["malformed_hl7"]["count"] > 0
    files = sorted({folder / f for f in faulted[:8]} | set(sorted((folder / "ehr" / "adt").glob("adt_*.hl7"))[:3]))
    con = land_both(tmp_path, files, monkeypatch)
    assert con.execute("select count(*) from sql.raw_meta.quarantine").fetchone()[0] > 0  # faults exercised
    assert_identical(con)


def test_edge_cases_land_identically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = [
        # escapes: the five basic ones land via SQL, hex and highlighting go to the Python path
        write(
            tmp_path,
            "escapes.hl7",
            "\r".join(
                [
                    message("E1", mrn="MR\\F\\1^^^CL^MR", visit="V\\S\\1"),
                    message("E2", mrn="MR\\E\\2\\T\\x^^^CL^MR", visit="V\\R\\2\\E\\F\\E\\"),
                    message("E3", mrn="MR\\X41\\3^^^CL^MR"),
                    message("E4", visit="V\\H\\4\\N\\"),
                    message("E5", visit="V\\E\\"),
                    message("E6", visit="bad\\"),
                ]
            ),
        ),
        # whitespace Python's str.strip() removes (incl. unicode) around lines and values
        write(
            tmp_path,
            "spaces.hl7",
            "\r\n".join(
                [
                    "\u3000" + message("S1", visit=" V1\u2003", mrn="\tMRN1 ^^^CL^MR") + " \x1c",
                    "",
                    "   ",
                    message("S2", visit="\u00a0"),
                ]
            ),
        ),
        # MRN from the repetition typed MR; many DG1; offsets; bad times and set ids; duplicates
        write(
            tmp_path,
            "fields.hl7",
            "\n".join(
                [
                    message("F1", mrn="111^^^SSA^SS~222^^^CL^MR~333^^^X^MR", dg1=4),
                    message("F2", mrn="~444^^^CL^MR"),
                    message("F3", ts="20260105083000.1234-0500", admit="202601050800+0100", pr1_at="20260105+0000"),
                    message("F4", ts="20260230083000"),
                    message("F5", admit="2026010508"),
                    message("F1"),
                    message("F6", ev="A40", extra=["MRG|MRN9^^^CL|||||V9"]),
                    message("F7", ev="Z99"),
                    message("F8", pr1_at="notatime"),
                    message("F9").replace("DG1|1|", "DG1|x|"),
                    message("F10").replace("EVN|A01|20260105083000", "EVN|A01|20260105083000|||||20260105083100-0600"),
                ]
            ),
        ),
        # more offset findings than the per-rule cap, in messages landed by SQL and by Python
        write(
            tmp_path,
            "cap.hl7",
            "\r".join(message(f"C{i}", ts="20260105083000-0500", ev="A01" if i % 3 else "A99") for i in range(1, 80)),
        ),
        # another delimiter set, segments before the first MSH, a batch envelope, latin-1
        write(
            tmp_path,
            "delims.hl7",
            "\r".join(
                message(f"D{i}").replace("|", "#").replace("^", "$").replace("MSH#$~\\&#", "MSH#$~\\&#")
                for i in range(1, 4)
            ),
        ),
        write(tmp_path, "orphans.hl7", "EVN|A01|x\rPID|1\r" + message("O1") + "\r" + message("O2")),
        write(
            tmp_path, "batch.hl7", "FHS|^~\\&\rBHS|^~\\&\r" + message("B1") + "\r" + message("B2") + "\rBTS|3\rFTS|1"
        ),
        write(tmp_path, "latin1.hl7", message("L1", visit="V\u00e91"), encoding="latin-1"),
        write(tmp_path, "empty_lines.hl7", "\r\r" + message("N1") + "\r\r\r" + message("N2") + "\r"),
    ]
    con = land_both(tmp_path, files, monkeypatch)
    assert (
        con.execute(
            "select count(*) from sql.raw_meta.validation_findings "
            "where rule = 'TIMEZONE_OFFSET_DROPPED' and message like '%suppressed%'"
        ).fetchone()[0]
        == 1
    )
    assert_identical(con)


def test_clean_messages_are_not_parsed_by_the_hl7_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(
        tmp_path, "clean.hl7", "\r".join(message(f"K{i}") for i in range(1, 101)) + "\r" + message("K1", ts="2026X")
    )  # one repeat with a bad timestamp: both K1 go to Python
    parsed: list[int] = []
    original = adt._Builder.add

    def spy(self: adt._Builder, raw: adt.RawMessage) -> None:
        parsed.append(raw.index)
        original(self, raw)

    monkeypatch.setattr(adt._Builder, "add", spy)
    report = ingest_paths(tmp_path / "wh.duckdb", [path])
    assert report.files[0].records_accepted == 101
    assert parsed[:2] == [1, 101]  # the Python path first (the repeated MSH-10), then the sample
    assert len(parsed) == 2 + adt.SAMPLE_PER_FILE and not {1, 101} & set(parsed[2:])


def test_sample_check_reports_a_sql_extraction_that_differs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Break the SQL mapping of one column: the hl7-package sample must name message and field."""
    broken = dict(adt._OUT_SQL)
    broken["messages"] = broken["messages"].replace("m.pid_8 as sex", "lower(m.pid_8) as sex")
    monkeypatch.setattr(adt, "_OUT_SQL", broken)
    path = write(tmp_path, "x.hl7", "\r".join(message(f"X{i}") for i in range(1, 21)))
    ingest_paths(tmp_path / "wh.duckdb", [path])
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    rows = con.execute(
        "select record_index, severity, location, message from raw_meta.validation_findings "
        f"where rule = '{adt.SAMPLE_MISMATCH_RULE}'"
    ).fetchall()
    assert len(rows) == adt.SAMPLE_PER_FILE
    assert all(
        sev == "warning"
        and loc == "raw_ehr.adt_messages.sex"
        and f"message {i}:" in msg
        and "'f'" in msg
        and "'F'" in msg
        for i, sev, loc, msg in rows
    )


def test_equivalence_check_detects_a_difference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparison used above is not vacuous: a changed column shows up as differing rows."""
    broken = dict(adt._OUT_SQL)
    broken["diagnoses"] = broken["diagnoses"].replace(
        "c.diagnosis_type", "upper(c.diagnosis_type) || 'x' as diagnosis_type"
    )
    monkeypatch.setattr(adt, "_OUT_SQL", broken)
    con = land_both(tmp_path, [GOOD[1]], monkeypatch)
    assert differences(con)["raw_ehr.adt_diagnoses"] == (3, 3)


@pytest.mark.parametrize(
    ("change", "plain"),
    [
        (None, True),  # a clean file: values need no decoding or stripping
        (("DOE^JANE", "DOE JR^JANE"), True),  # whitespace inside a value is kept either way
        (("DOE^JANE", "DO\u00c9^JANE"), True),  # non-ASCII that is not whitespace
        (("DOE^JANE", "DOE ^JANE"), False),  # whitespace before a component separator
        (("|F|||", "| F|||"), False),  # after a field separator
        (("~444", "~ 444"), False),  # after a repetition separator
        (("DOE^JANE", "DOE\u2003^JANE"), False),  # unicode whitespace str.strip() removes
        (("DOE^JANE", "DOE\x1c^JANE"), False),  # ASCII control whitespace
        (("DOE^JANE", "D\\S\\OE^JANE"), False),  # an escape sequence outside MSH-2
        (("V1", "V1 \r"), False),  # whitespace before a segment end
    ],
)
def test_is_plain(change: tuple[str, str] | None, plain: bool) -> None:
    text = "\r".join(message(f"P{i}", mrn="~444^^^CL^MR") for i in range(3)) + "\r"
    if change:
        assert change[0] in text
        text = text.replace(change[0], change[1], 1)
    d = file_delimiters(text)
    assert d is not None and is_plain(text, d) is plain


def _statement_rows(text: str, plain: bool) -> dict[str, list[tuple]]:
    d = file_delimiters(text)
    assert d is not None
    sql = AdtSql(d, plain)
    con = duckdb.connect()
    con.execute("create temp table _adt_text as select $t as text", {"t": text})
    out = {}
    for table, select in (
        ("_adt_msgs", sql.messages_from_text()),
        ("_adt_m", sql.messages()),
        ("_adt_c", sql.children()),
    ):
        con.execute(f"create temp table {table} as {select}")
        out[table] = con.execute(f"select * from {table} order by all").fetchall()
    return out


def test_plain_statements_equal_the_full_ones_on_plain_text(tmp_path: Path) -> None:
    """The shortcut statements for plain files (no decode, no strip, one split at ``\\rMSH``)
    give the rows the general statements give; on text that is not plain they would not."""
    synthesize(tmp_path / "l", encounters=60, seed=5)
    text = "\r".join(p.read_text() for p in sorted((tmp_path / "l" / "ehr" / "adt").glob("adt_*.hl7")))
    text = "\r\r" + text.replace("\r\n", "\r").replace("\n", "\r")  # blank lines before the first MSH
    d = file_delimiters(text)
    assert d is not None and is_plain(text, d)
    plain, full = _statement_rows(text, True), _statement_rows(text, False)
    assert len(full["_adt_m"]) > 20 and len(full["_adt_c"]) > 20
    assert plain == full
    spaced = text.replace("|ADT^", "| ADT^")  # MSH-9 with a leading space: only the full path strips it
    assert not is_plain(spaced, d)
    assert _statement_rows(spaced, True)["_adt_m"] != _statement_rows(spaced, False)["_adt_m"]
