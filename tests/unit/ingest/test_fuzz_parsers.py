"""Property-based fuzzing of every parser (docs/reliability.md, "Fuzzing").

Each test lands Hypothesis-made files through careledger's real entry point
(``careledger.ingest.run.land_file``, format detection included) into one scratch warehouse
per module (in memory), and checks what must hold for any input at all:

- ``land_file`` raises nothing, and no loader fails (status ``failed`` is a loader exception
  caught by the landing core: a crash turned into a lost file);
- a landed file has read = accepted + quarantined in its report and in ``raw_meta.batches``,
  with one ``raw_meta.quarantine`` row set per quarantined record;
- an unknown file says why, naming the file.

Inputs are mutations of the fixture files (tests/fixtures; the HL7 charge feed and BAI2 seeds
are in tests/fixtures/fuzz) and structures generated from each format's grammar: FHIR NDJSON
and Bundles, HL7 v2 ADT/DFT/BAR (the router), X12 835, every CSV export kind and BAI2. The X12
tests also run both 835 parsers on the same text and require the same result.

``make test`` runs the ``careledger`` Hypothesis profile (few examples, derandomized);
``--hypothesis-profile=careledger-long`` runs the long campaign (tests/conftest.py).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import string
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from hypothesis import given
from hypothesis import strategies as st

from careledger.ingest.csv import contract
from careledger.ingest.fhir.loader import SUPPORTED_TYPES
from careledger.ingest.landing import FileResult, ensure_schema
from careledger.ingest.run import land_file
from careledger.ingest.x12.remit_835 import decode_835_bytes, parse_835_text
from careledger.ingest.x12.remit_835_polars import parse_835_text_polars

FIXTURES = Path(__file__).parents[2] / "fixtures"


def _seeds(*patterns: str) -> list[bytes]:
    files = sorted({p for pattern in patterns for p in FIXTURES.glob(pattern)})
    assert files, patterns
    return [p.read_bytes() for p in files]


SEEDS: dict[str, list[bytes]] = {
    "fhir_ndjson": _seeds("fhir/*.ndjson", "fhir/carin_bb/*.ndjson"),
    "fhir_bundle": _seeds("fhir/bundles/*.json"),
    "hl7_adt": _seeds("hl7/*.hl7"),
    "hl7_charges": _seeds("fuzz/*.hl7"),
    "x12": _seeds("x12/*.835"),
    "csv": _seeds("csv/billing/*.csv", "csv/billing/*.json", "csv/billing/*.ndjson", "csv/erp/*.csv"),
    "bai2": _seeds("fuzz/*.bai"),
}


# --- the harness -------------------------------------------------------------------------------


@dataclass
class Scratch:
    con: duckdb.DuckDBPyConnection
    folder: Path
    counter: itertools.count

    def land(self, data: bytes, suffix: str, source: str = "auto") -> FileResult:
        """Write ``data`` to a new file and land it; check the invariants every file must keep."""
        path = self.folder / f"f{next(self.counter):06d}{suffix}"
        path.write_bytes(data)
        result = land_file(self.con, path, source=source, force=True)  # must not raise
        assert result.status in ("landed", "quarantined", "unknown"), (result.status, result.message)
        if result.status == "unknown":
            assert path.name in result.message, result.message
            return result
        assert result.records_read == result.records_accepted + result.records_quarantined, result
        batch = self.con.execute(
            "select rows_read, rows_accepted, rows_quarantined, status from raw_meta.batches where batch_id = ?",
            [result.batch_id],
        ).fetchone()
        assert batch == (result.records_read, result.records_accepted, result.records_quarantined, "landed")
        (quarantined,) = self.con.execute(
            "select count(distinct record_index) from raw_meta.quarantine where batch_id = ?", [result.batch_id]
        ).fetchone()
        assert quarantined == result.records_quarantined
        path.unlink()
        return result


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("fuzz")
    # an in-memory warehouse: the same schema and landing code, without a WAL sync per example
    con = duckdb.connect()
    con.execute("set enable_progress_bar = false")
    ensure_schema(con)
    yield Scratch(con, folder, itertools.count(1))
    con.close()


# --- mutations of real files -------------------------------------------------------------------

#: bytes that mean something to one of the formats: delimiters, framing, quotes, digits
STRUCTURAL = b"|^~\\&*:,/{}[]\"'\r\n\t\x0b\x1c\x00 0123456789.-+eE"
TOKENS = [
    b"",
    b"0",
    b"-1",
    b"1e999",
    b"99999999999999999999.999",
    b"12.345",
    b"NaN",
    b"null",
    b"true",
    b"[]",
    b"{}",
    b'""',
    b"2025-13-45T99:99:99Z",
    b"2025-02-30",
    b"20251340",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"\xc3\x28",
    "\u2028\u00e9\U0001f600".encode(),
    b'=HYPERLINK("http://x","y")',
    b"[" * 200,
    b"A" * 5000,
]


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    """One of ``seeds`` with one to five byte-level mutations (Hypothesis shrinks toward fewer)."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 5))):
        n = len(data)
        op = draw(st.sampled_from(["flip", "insert", "token", "delete", "duplicate", "truncate", "swap_lines"]))
        i = draw(st.integers(0, n))
        if op == "flip" and n:
            data[min(i, n - 1)] = draw(st.sampled_from(STRUCTURAL + bytes(range(0x80, 0x100, 7))))
        elif op == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=8) | st.sampled_from([bytes([b]) for b in STRUCTURAL]))
        elif op == "token":
            j = draw(st.integers(i, min(n, i + 12)))
            data[i:j] = draw(st.sampled_from(TOKENS))
        elif op == "delete":
            del data[i : draw(st.integers(i, min(n, i + 64)))]
        elif op == "duplicate":
            j = draw(st.integers(i, min(n, i + 400)))
            k = draw(st.integers(0, n))
            data[k:k] = data[i:j]
        elif op == "truncate":
            del data[i:]
        elif op == "swap_lines":
            lines = bytes(data).split(b"\n")
            if len(lines) > 1:
                a, b = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
                lines[a], lines[b] = lines[b], lines[a]
                data = bytearray(b"\n".join(lines))
    return bytes(data)


# --- generated structures ----------------------------------------------------------------------

PRINTABLE = string.ascii_letters + string.digits + " -._:/"
short_text = st.text(alphabet=PRINTABLE, max_size=12)
odd_text = st.text(max_size=20)  # any unicode, control characters included
dates = st.sampled_from(
    ["2026-01-05", "2025-02-30", "2025-13-45", "20260105", "", "2026-01", "0000-00-00", "9999-12-31", "1/5/2026"]
)
instants = st.sampled_from(
    [
        "2026-01-05T08:30:00Z",
        "2026-01-05T08:30:00-06:00",
        "2025-13-45T99:99:99Z",
        "2026-01-05",
        "2026",
        "",
        "yesterday",
        "2026-01-05T08:30:00+25:00",
    ]
)
json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | odd_text
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(short_text, children, max_size=3),
    max_leaves=12,
)
references = st.one_of(
    st.builds("Patient/{}".format, short_text),
    st.builds("urn:uuid:{}".format, st.uuids().map(str)),
    st.just("Patient?identifier=urn:careledger:mrn|MRN1"),
    odd_text,
)


@st.composite
def fhir_resource(draw: st.DrawFn) -> dict:
    resource: dict = {"resourceType": draw(st.sampled_from([*SUPPORTED_TYPES, "Observation", "Widget", ""]))}
    if draw(st.booleans()):
        resource["id"] = draw(st.one_of(short_text, odd_text, st.integers()))
    optional = {
        "meta": st.fixed_dictionaries({"versionId": short_text, "lastUpdated": instants}),
        "status": st.sampled_from(["finished", "in-progress", "active", "", "cancelled"]) | odd_text,
        "class": st.fixed_dictionaries({"code": st.sampled_from(["IMP", "AMB", "EMER", ""])}) | json_values,
        "subject": st.fixed_dictionaries({"reference": references}) | json_values,
        "patient": st.fixed_dictionaries({"reference": references}),
        "period": st.fixed_dictionaries({"start": instants, "end": instants}) | json_values,
        "birthDate": dates | st.integers() | json_values,
        "gender": st.sampled_from(["female", "male", "unknown"]) | odd_text,
        "identifier": st.lists(st.fixed_dictionaries({"system": short_text, "value": odd_text}), max_size=3),
        "total": st.lists(st.fixed_dictionaries({"amount": st.fixed_dictionaries({"value": json_scalars})})),
        "extension": json_values,
    }
    for key in draw(st.sets(st.sampled_from(sorted(optional)))):
        resource[key] = draw(optional[key])
    return resource


@st.composite
def fhir_ndjson(draw: st.DrawFn) -> bytes:
    lines = []
    for resource in draw(st.lists(fhir_resource(), min_size=1, max_size=6)):
        lines.append(json.dumps(resource, ensure_ascii=draw(st.booleans())))
    junk = st.sampled_from(["", "   ", "{", "[1,2]", '"text"', "null", '{"resourceType": 7}', "\x01"])
    for _ in range(draw(st.integers(0, 2))):
        lines.insert(draw(st.integers(0, len(lines))), draw(junk))
    return (draw(st.sampled_from(["\n", "\r\n"])).join(lines) + draw(st.sampled_from(["", "\n"]))).encode()


@st.composite
def fhir_bundle(draw: st.DrawFn) -> bytes:
    entry = st.fixed_dictionaries(
        {},
        optional={"fullUrl": st.one_of(st.builds("urn:uuid:{}".format, st.uuids().map(str)), odd_text)},
    ).flatmap(lambda e: st.fixed_dictionaries({**{k: st.just(v) for k, v in e.items()}, "resource": fhir_resource()}))
    entries = st.lists(entry | json_values, max_size=5) | json_values
    bundle = {
        "resourceType": "Bundle",
        "type": draw(st.sampled_from(["collection", "transaction", "history", ""])),
        "entry": draw(entries),
    }
    docs = [bundle] + draw(st.lists(st.builds(lambda r: r, fhir_resource()), max_size=1))
    return "\n".join(json.dumps(d, indent=draw(st.sampled_from([None, 2]))) for d in docs).encode()


HL7_TYPES = [
    "ADT^A01^ADT_A01",
    "ADT^A03",
    "ADT^A04",
    "ADT^A08^ADT_A01",
    "ADT^A11",
    "ADT^A13",
    "ADT^A40^ADT_A39",
    "ADT^Z99",
    "DFT^P03^DFT_P03",
    "BAR^P01^BAR_P01",
    "BAR^P05^BAR_P05",
    "BAR^P12^BAR_P12",
    "ORU^R01",
    "",
]
hl7_component = st.text(alphabet=string.ascii_uppercase + string.digits + " .-\\", max_size=10)
hl7_field = st.one_of(
    hl7_component,
    st.lists(hl7_component, min_size=2, max_size=4).map("^".join),
    st.lists(hl7_component, min_size=2, max_size=3).map("~".join),
    st.sampled_from(
        ["20260105083000", "20261345", "2026010508300", "19800102", "-1", "1e9", "12.345", "ABC", "9" * 20 + ".99"]
    ),
    odd_text.map(lambda s: s.replace("\r", "").replace("\n", "")),
)


@st.composite
def hl7_segment(draw: st.DrawFn) -> str:
    sid = draw(st.sampled_from(["EVN", "PID", "PV1", "PV2", "FT1", "PR1", "DG1", "IN1", "MRG", "GT1", "ZXY", "pid"]))
    fields = draw(st.lists(hl7_field, max_size=50))
    return "|".join([sid, *fields])


@st.composite
def hl7_file(draw: st.DrawFn) -> bytes:
    messages = []
    for n in range(draw(st.integers(1, 4))):
        control = draw(st.sampled_from([f"CTL{n}", "CTL0", ""]))  # repeated and missing control ids too
        msh = f"MSH|^~\\&|EPIC|L-1|CARELEDGER|WH|{draw(hl7_field)}||{draw(st.sampled_from(HL7_TYPES))}|{control}|P|2.5"
        messages.append([msh, *draw(st.lists(hl7_segment(), max_size=8))])
    end = draw(st.sampled_from(["\r", "\n", "\r\n"]))
    if draw(st.booleans()):  # MLLP framing
        return "".join(f"\x0b{end.join(m)}{end}\x1c\r" for m in messages).encode()
    body = end.join(end.join(m) for m in messages)
    if draw(st.booleans()):  # a batch envelope
        body = end.join(["FHS|^~\\&", "BHS|^~\\&", body, f"BTS|{draw(hl7_field)}", f"FTS|{draw(hl7_field)}"])
    return body.encode()


X12_SEGMENTS = {
    "BPR": ["I", "C", "D", "H"],
    "TRN": ["1", "2"],
    "DTM": ["405", "232", "233", "472", "036"],
    "N1": ["PR", "PE"],
    "REF": ["EV", "TJ", "2U", "6R"],
    "CLP": ["1", "2", "3", "4", "19", "22", "23"],
    "CAS": ["CO", "PR", "OA", "PI", "CR", "XX"],
    "NM1": ["QC", "74", "82"],
    "SVC": ["HC:99213", "NU:0450", "HC:99213:25"],
    "AMT": ["AU", "B6", "I"],
    "LQ": ["HE", "RX"],
    "PLB": ["1234567893"],
    "LX": ["1"],
    "N3": ["1 MAIN ST"],
    "N4": ["BOSTON"],
}
x12_element = st.one_of(
    st.sampled_from(
        ["", "0", "100", "100.00", "-25.5", "12.345", "1e3", "$0", "20260105", "20261340", "2026", "9" * 20 + ".99"]
    ),
    st.text(alphabet=string.ascii_uppercase + string.digits + " .-", max_size=10),
)


@st.composite
def x12_segment(draw: st.DrawFn) -> list[str]:
    sid = draw(st.sampled_from(sorted(X12_SEGMENTS)))
    return [sid, draw(st.sampled_from(X12_SEGMENTS[sid])), *draw(st.lists(x12_element, max_size=12))]


@st.composite
def x12_file(draw: st.DrawFn) -> bytes:
    element, component, terminator = draw(
        st.sampled_from([("*", ":", "~"), ("|", ">", "\n"), ("^", ":", "~"), ("*", ":", "\r\n")])
    )
    isa = element.join(
        [
            "ISA",
            "00",
            " " * 10,
            "00",
            " " * 10,
            "ZZ",
            "PAYERID".ljust(15),
            "ZZ",
            "PROVIDERID".ljust(15),
            "260105",
            "1200",
            draw(st.sampled_from(["^", "U"])),
            "00501",
            "000000001",
            "0",
            "P",
            component,
        ]
    )
    segments = [isa.split(element), ["GS", "HP", "PAYER", "PROV", "20260105", "1200", "1", "X", "005010X221A1"]]
    for n in range(draw(st.integers(1, 3))):
        body = draw(st.lists(x12_segment(), min_size=1, max_size=15))
        count = len(body) + 2 if draw(st.booleans()) else draw(st.integers(0, 40))
        segments += [["ST", "835", f"{n:04d}"], *body, ["SE", str(count), f"{n:04d}"]]
    segments += [["GE", str(draw(st.integers(0, 4))), "1"], ["IEA", "1", "000000001"]]
    if draw(st.booleans()):
        segments = [s for s in segments if s[0] not in ("ISA", "GS", "GE", "IEA")]  # a bare ST..SE
    return "".join(element.join(s) + terminator for s in segments).encode()


def _csv_value(column: contract.Column) -> st.SearchStrategy[str]:
    if column.is_date:
        return dates
    if column.is_money or column.is_decimal:
        return st.sampled_from(["0", "651.00", "-10.5", "12.345", "1,234.56", "$5", "1e3", "", "abc", "9" * 30])
    if column.is_integer:
        return st.sampled_from(["1", "0", "-3", "2.5", "", "x", "99999999999999999999"])
    if column.is_boolean:
        return st.sampled_from(["true", "false", "Y", "N", "1", "", "maybe"])
    return st.one_of(short_text, odd_text, st.sampled_from(["a,b", 'say "hi"', "two\nlines", "=1+1"]))


@st.composite
def csv_export(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(sorted(contract.KINDS)))
    columns = list(contract.contract()[kind])
    header = draw(st.permutations(columns))
    if draw(st.booleans()):  # header drift: a column dropped or an extra one
        header = header[:-1] if draw(st.booleans()) else [*header, contract.Column("extra_note", "VARCHAR")]
    rows = draw(st.lists(st.tuples(*(_csv_value(c) for c in header)), max_size=6))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    writer.writerow([c.name for c in header])
    for row in rows:
        row = list(row)
        if draw(st.integers(0, 9)) == 0:  # a short or long row
            row = row[:-1] if draw(st.booleans()) else [*row, "surplus"]
        writer.writerow(row)
    return out.getvalue().encode()


bai2_amount = st.sampled_from(["0", "134692", "-5", "12.34", "", "99999999999999999999", "x"])


@st.composite
def bai2_file(draw: st.DrawFn) -> bytes:
    records = [
        f"01,071000013,CARELEDGER,{draw(st.sampled_from(['260306', '261340', '2603']))},0600,7,,,2/",
        "02,CARELEDGER,071000013,1,260305,2400,USD,2/",
    ]
    for _ in range(draw(st.integers(1, 2))):
        records.append(f"03,{draw(st.sampled_from(['4410000010', '', 'ACCT']))},USD,100,{draw(bai2_amount)},2,/")
        for _ in range(draw(st.integers(0, 4))):
            code = draw(st.sampled_from(["165", "115", "475", "999", "", "1a"]))
            funds = draw(st.sampled_from(["0", "V,260306,0800", "S,1,2,3", "D,2,1,100,2,200", "Z"]))
            text = draw(st.sampled_from(["TRN*1*123*456\\", "LOCKBOX", "", "a,b/c"]))
            records.append(f"16,{code},{draw(bai2_amount)},{funds},0000000001,REF1,{text}")
            if draw(st.booleans()):
                records.append(f"88,{draw(short_text)}")
        records.append(f"49,{draw(bai2_amount)},{draw(st.integers(-1, 9))}/")
    records += [f"98,{draw(bai2_amount)},1,{draw(st.integers(0, 20))}/", f"99,{draw(bai2_amount)},1,9/"]
    return "\n".join(records).encode()


# --- the properties ----------------------------------------------------------------------------

CASES: dict[str, tuple[Callable[[], st.SearchStrategy[bytes]], str, str]] = {
    # name: (strategy, file suffix, --source)
    "fhir_ndjson_mutated": (lambda: mutated(SEEDS["fhir_ndjson"]), ".ndjson", "auto"),
    "fhir_ndjson_generated": (fhir_ndjson, ".ndjson", "fhir"),
    "fhir_bundle_mutated": (lambda: mutated(SEEDS["fhir_bundle"]), ".json", "auto"),
    "fhir_bundle_generated": (fhir_bundle, ".json", "fhir"),
    "hl7_adt_mutated": (lambda: mutated(SEEDS["hl7_adt"]), ".hl7", "auto"),
    "hl7_charges_mutated": (lambda: mutated(SEEDS["hl7_charges"]), ".hl7", "auto"),
    "hl7_generated": (hl7_file, ".hl7", "hl7"),
    "x12_mutated": (lambda: mutated(SEEDS["x12"]), ".835", "auto"),
    "x12_generated": (x12_file, ".835", "x12-835"),
    "csv_mutated": (lambda: mutated(SEEDS["csv"]), ".csv", "auto"),
    "csv_generated": (csv_export, ".csv", "auto"),
    "bai2_mutated": (lambda: mutated(SEEDS["bai2"]), ".bai", "auto"),
    "bai2_generated": (bai2_file, ".bai", "bai2"),
}


def _fuzz_test(name: str):
    strategy, suffix, source = CASES[name]

    @given(data=strategy())
    def test(scratch: Scratch, data: bytes) -> None:
        scratch.land(data, suffix, source)

    test.__name__ = f"test_fuzz_{name}"
    test.__doc__ = f"{name}: any such file lands with read = accepted + quarantined, or is unknown with a reason."
    return test


for _name in CASES:
    globals()[f"test_fuzz_{_name}"] = _fuzz_test(_name)


def _assert_parsers_agree(data: bytes) -> None:
    text, _ = decode_835_bytes(data, "fuzz.835")
    single, frames = parse_835_text(text, "fuzz.835"), parse_835_text_polars(text, "fuzz.835")
    assert (single.records_read, single.quarantined, single.findings) == (
        frames.records_read,
        frames.quarantined,
        frames.findings,
    )
    for key, frame in frames.tables.items():
        assert single.tables[key].rows() == frame.rows(), key


@given(data=mutated(SEEDS["x12"]))
def test_fuzz_x12_parsers_agree_on_mutated_files(data: bytes) -> None:
    """The single-pass and the polars 835 parser give the same rows, quarantine and findings."""
    _assert_parsers_agree(data)


@given(data=x12_file())
def test_fuzz_x12_parsers_agree_on_generated_files(data: bytes) -> None:
    _assert_parsers_agree(data)
