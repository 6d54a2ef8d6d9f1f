"""X12 835 loader: tables, exact amounts, delimiters/layouts, quarantine and findings, pyx12 parity."""

from __future__ import annotations

import importlib.util
import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pytest
import pyx12.params
import pyx12.x12file
import pyx12.x12n_document

from careledger.ingest.run import ingest_paths
from careledger.ingest.x12.remit_835 import find_delimiters, parse_835_text

FIXTURES = Path(__file__).parents[2] / "fixtures"
X12 = FIXTURES / "x12"
BAD = FIXTURES / "bad" / "x12"
BASIC = X12 / "remit_basic.835"
PRETTY_BOM = X12 / "remit_pretty_bom.835"
ALT = X12 / "remit_alt_delimiters.835"
TABLES = (
    "remit_payments",
    "remit_claims",
    "remit_service_lines",
    "remit_adjustments",
    "remit_remarks",
    "remit_provider_adjustments",
)


def fixture_builder():
    """tests/fixtures/x12/make_fixtures.py under its own module name (other families have one too)."""
    spec = importlib.util.spec_from_file_location("x12_make_fixtures", X12 / "make_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def land(tmp_path: Path, *paths: Path) -> tuple[duckdb.DuckDBPyConnection, list]:
    report = ingest_paths(tmp_path / "wh.duckdb", list(paths))
    return duckdb.connect(str(tmp_path / "wh.duckdb")), report.files


def counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return {t: con.execute(f"select count(*) from raw_billing.{t}").fetchone()[0] for t in TABLES}


def test_basic_file_lands_every_table(tmp_path: Path) -> None:
    con, files = land(tmp_path, BASIC)
    (result,) = files
    assert result.status == "landed", result.message
    assert (result.records_read, result.records_accepted, result.records_quarantined) == (2, 2, 0)
    assert counts(con) == {
        "remit_payments": 2,
        "remit_claims": 5,
        "remit_service_lines": 4,
        "remit_adjustments": 10,
        "remit_remarks": 4,
        "remit_provider_adjustments": 2,
    }
    batch = con.execute(
        "select format, rows_read, rows_accepted, rows_quarantined, status from raw_meta.batches"
    ).fetchone()
    assert batch == ("x12-835", 2, 2, 0, "landed")
    assert con.execute("select count(*) from raw_meta.quarantine").fetchone()[0] == 0
    assert con.execute("select count(*) from raw_meta.validation_findings").fetchone()[0] == 0


def test_amounts_are_exact_decimals_and_claims_balance(tmp_path: Path) -> None:
    con, _ = land(tmp_path, BASIC)
    types = dict(
        con.execute(
            "select column_name, data_type from information_schema.columns where table_name = 'remit_claims'"
        ).fetchall()
    )
    assert types["payment_amount"] == "DECIMAL(18,2)"
    assert con.execute("select sum(payment_amount) from raw_billing.remit_payments").fetchone()[0] == Decimal("7337.50")
    unbalanced = con.execute("""
        select c.claim_seq from raw_billing.remit_claims c
        left join (select transaction_set_control_number, claim_seq, sum(amount) adj
                   from raw_billing.remit_adjustments group by all) a using (transaction_set_control_number, claim_seq)
        where c.total_charge_amount <> c.payment_amount + coalesce(a.adj, 0)
    """).fetchall()
    assert unbalanced == []
    # BPR02 = sum(CLP04) - sum(PLB amounts) per transaction set
    rows = con.execute("""
        select p.payment_amount, sum(c.payment_amount) - coalesce(max(plb.amount), 0)
        from raw_billing.remit_payments p
        join raw_billing.remit_claims c using (transaction_set_control_number)
        left join (select transaction_set_control_number, sum(amount) amount
                   from raw_billing.remit_provider_adjustments group by all) plb using (transaction_set_control_number)
        group by p.transaction_set_control_number, p.payment_amount
    """).fetchall()
    assert all(a == b for a, b in rows)


def test_payment_header_fields(tmp_path: Path) -> None:
    con, _ = land(tmp_path, BASIC)
    row = con.execute("""
        select interchange_control_number, group_control_number, transaction_set_control_number,
               interchange_sender_id, interchange_receiver_id, transaction_handling_code, payment_amount,
               credit_debit_flag, payment_method, payment_date, trace_number, originating_company_id,
               production_date, payer_id, payer_name, payee_name, payee_npi, claim_count, _source_record
        from raw_billing.remit_payments order by transaction_set_control_number limit 1
    """).fetchone()
    assert row == (
        "000000101",
        "101",
        "0001",
        "PAYERSENDER",
        "CARELEDGER",
        "I",
        Decimal("237.50"),
        "C",
        "ACH",
        __import__("datetime").date(2026, 1, 5),
        "TRC0000001",
        "1512345678",
        __import__("datetime").date(2026, 1, 4),
        "PYR001X",
        "ACME HEALTH",
        "CARELEDGER GENERAL HOSPITAL",
        "1234567893",
        3,
        4,
    )


@pytest.mark.parametrize("parser", ["single_pass", "polars"])
def test_payee_npi_and_tax_id_land_for_the_facility_crosswalk(parser: str) -> None:
    """N1*PE N103/N104 land as qualifier and id (the NPI when XX); the tax id comes from REF*TJ,
    else from N1*PE when its qualifier is FI (as 4010 payers send it)."""
    from careledger.ingest.x12.remit_835_polars import parse_835_text_polars

    parse = parse_835_text if parser == "single_pass" else parse_835_text_polars
    fx = fixture_builder()
    payee_fi = [
        seg.replace("*XX*1234567893", "*FI*987654321") if seg.startswith("N1*PE") else seg for seg in fx.HEADER_2
    ]
    text = fx.build_835([fx.basic_transactions()[0], fx.transaction("0002", payee_fi + fx.CLAIMS_2)])
    payments = parse(text, "payee.835").tables["payments"]
    assert payments.select("payee_name", "payee_npi", "payee_id_qualifier", "payee_id", "payee_tax_id").rows() == [
        ("CARELEDGER GENERAL HOSPITAL", "1234567893", "XX", "1234567893", "123456789"),
        ("CARELEDGER GENERAL HOSPITAL", None, "FI", "987654321", "987654321"),
    ]


def test_a_warehouse_from_before_the_payee_ids_gains_their_columns(tmp_path: Path) -> None:
    """ensure_schema adds the payee id columns to a remit_payments table created without them."""
    from careledger.ingest.landing import ensure_schema

    con = duckdb.connect(str(tmp_path / "old.duckdb"))
    con.execute("create schema raw_billing")
    con.execute("create table raw_billing.remit_payments (payee_npi varchar, claim_count integer)")
    ensure_schema(con)
    columns = {
        c
        for (c,) in con.execute(
            "select column_name from information_schema.columns where table_name = 'remit_payments'"
        ).fetchall()
    }
    assert {"payee_id_qualifier", "payee_id", "payee_tax_id"} <= columns
    con.close()
    _, (result,) = land(tmp_path, BASIC)
    assert result.status == "landed"


def test_claim_fields_and_reversal(tmp_path: Path) -> None:
    con, _ = land(tmp_path, BASIC)
    claims = con.execute("""
        select transaction_set_control_number, claim_seq, patient_control_number, claim_status_code,
               total_charge_amount, payment_amount, patient_responsibility_amount, payer_claim_control_number,
               facility_type_code, claim_frequency_code, drg_code, patient_family_name, member_id, rendering_npi,
               statement_from_date::varchar, statement_to_date::varchar, received_date::varchar, coverage_amount
        from raw_billing.remit_claims order by transaction_set_control_number, claim_seq
    """).fetchall()
    assert claims[0] == (
        "0001",
        1,
        "PCN0000000001",
        "1",
        Decimal("500.00"),
        Decimal("350.00"),
        Decimal("50.00"),
        "CLM000001",
        "11",
        "1",
        None,
        "DOE",
        "MBR0001",
        "1234567893",
        "2025-12-20",
        "2025-12-20",
        "2025-12-28",
        None,
    )
    reversal = claims[2]
    assert reversal[3] == "22" and reversal[4] == Decimal("-120.00") and reversal[5] == Decimal("-100.00")
    inpatient = claims[3]
    assert inpatient[10] == "470" and inpatient[17] == Decimal("9000.00")
    # NM1*IL (insured) member id wins over NM1*QC
    assert claims[4][12] == "SUB0003"


def test_service_lines_adjustments_remarks_plb(tmp_path: Path) -> None:
    con, _ = land(tmp_path, BASIC)
    lines = con.execute("""
        select claim_seq, line_seq, procedure_qualifier, procedure_code, modifiers, charge_amount, payment_amount,
               revenue_code, units, service_date::varchar, line_item_control_number, allowed_amount
        from raw_billing.remit_service_lines order by _source_record
    """).fetchall()
    assert lines[0] == (
        1,
        1,
        "HC",
        "99213",
        "25:LT",
        Decimal("300.00"),
        Decimal("200.00"),
        None,
        Decimal("1.000"),
        "2025-12-20",
        "C00000001-1",
        Decimal("250.00"),
    )
    assert lines[2][7] == "0450"  # SVC04
    assert lines[3][2:4] == ("NU", "0250") and lines[3][7] == "0250"  # revenue code from SVC01 NU
    adjustments = con.execute("""
        select claim_seq, line_seq, adjustment_level, triplet_seq, group_code, carc_code, amount, quantity
        from raw_billing.remit_adjustments where transaction_set_control_number = '0002' order by _source_record,
        triplet_seq
    """).fetchall()
    assert adjustments[0] == (1, None, "claim", 1, "PR", "1", Decimal("1000.00"), None)
    assert adjustments[2] == (1, None, "claim", 2, "CO", "253", Decimal("100.00"), None)
    assert adjustments[1][7] == Decimal("1.000")
    assert adjustments[3][:3] == (2, 1, "line")
    remarks = con.execute(
        "select claim_seq, line_seq, source_segment, remark_code from raw_billing.remit_remarks "
        "order by _source_record, remark_code"
    ).fetchall()
    assert remarks == [
        (1, 1, "LQ", "N130"),
        (2, None, "MOA", "MA01"),
        (2, None, "MOA", "N115"),
        (1, None, "MIA", "MA07"),
    ]
    plb = con.execute(
        "select provider_id, fiscal_period_date::varchar, reason_code, reference_id, amount "
        "from raw_billing.remit_provider_adjustments order by amount desc"
    ).fetchall()
    assert plb == [
        ("1234567893", "2026-12-31", "WO", "PCN0000000099", Decimal("15.00")),
        ("1234567893", "2026-12-31", "L6", None, Decimal("-2.50")),
    ]


def test_source_record_is_segment_index_and_hash_is_transaction(tmp_path: Path) -> None:
    con, _ = land(tmp_path, BASIC)
    segments = BASIC.read_text().split("~")
    for pcn, seg_no in con.execute(
        "select patient_control_number, _source_record from raw_billing.remit_claims"
    ).fetchall():
        assert segments[seg_no - 1].startswith(f"CLP*{pcn}*")
    hashes = con.execute(
        "select transaction_set_control_number, count(distinct _record_hash) "
        "from raw_billing.remit_adjustments group by 1"
    ).fetchall()
    assert all(n == 1 for _, n in hashes)


@pytest.mark.parametrize("variant", [PRETTY_BOM, ALT])
def test_layouts_and_delimiters_give_the_same_rows(variant: Path) -> None:
    base = parse_835_text(BASIC.read_text(encoding="utf-8"))
    other = parse_835_text(variant.read_text(encoding="utf-8"))
    assert other.records_read == 2 and not other.quarantined
    for key, frame in base.tables.items():
        assert frame.drop("_record_hash").equals(other.tables[key].drop("_record_hash")), key


def test_delimiters_come_from_isa() -> None:
    _, d = find_delimiters(ALT.read_text())
    assert (d.element, d.repetition, d.component, d.segment) == ("|", "!", ">", "\n")
    _, d = find_delimiters(BASIC.read_text())
    assert (d.element, d.repetition, d.component, d.segment) == ("*", "^", ":", "~")


def _pyx12_segments(path: Path) -> dict[str, list[list[str]]]:
    """CLP, SVC, CAS and PLB elements as pyx12 tokenises them."""
    out: dict[str, list[list[str]]] = {"CLP": [], "SVC": [], "CAS": [], "PLB": []}
    with pyx12.x12file.X12Reader(str(path)) as reader:
        for seg in reader:
            sid = seg.get_seg_id()
            if sid in out:
                out[sid].append([seg.get_value(f"{sid}{i:02d}") or "" for i in range(1, len(seg) + 1)])
    return out


@pytest.mark.parametrize("path", [BASIC, ALT])
def test_matches_pyx12_on_the_same_file(path: Path) -> None:
    ref = _pyx12_segments(path)
    ours = parse_835_text(path.read_text()).tables
    claims = ours["claims"]
    assert claims["patient_control_number"].to_list() == [e[0] for e in ref["CLP"]]
    assert [str(x) for x in claims["total_charge_amount"].to_list()] == [e[2] for e in ref["CLP"]]
    assert [str(x) for x in claims["payment_amount"].to_list()] == [e[3] for e in ref["CLP"]]
    lines = ours["service_lines"]
    assert lines["charge_amount"].to_list() == [e[1] for e in ref["SVC"]]
    assert lines["payment_amount"].to_list() == [e[2] for e in ref["SVC"]]
    ref_cas = [
        (e[0], e[1 + 3 * k], e[2 + 3 * k]) for e in ref["CAS"] for k in range(6) if len(e) > 1 + 3 * k and e[1 + 3 * k]
    ]
    adj = ours["adjustments"]
    assert list(zip(adj["group_code"], adj["carc_code"], adj["amount"], strict=True)) == ref_cas
    ref_plb = [e[3 + 2 * k] for e in ref["PLB"] for k in range(6) if len(e) > 3 + 2 * k]
    assert ours["provider_adjustments"]["amount"].to_list() == ref_plb


def test_fixture_is_a_valid_835_for_pyx12_which_rejects_a_bom() -> None:
    param = pyx12.params.params()
    assert pyx12.x12n_document.x12n_document(param, str(BASIC), None, io.StringIO()) is True
    with pytest.raises(UnicodeDecodeError):
        with pyx12.x12file.X12Reader(str(PRETTY_BOM)) as reader:
            list(reader)
    # ours accepts both and reports the deviations
    rules = {f.rule for f in parse_835_text(PRETTY_BOM.read_text(encoding="utf-8")).findings}
    assert {"BOM_STRIPPED", "WHITESPACE_BETWEEN_SEGMENTS"} <= rules


def test_bad_transaction_set_is_quarantined_whole_and_the_rest_lands(tmp_path: Path) -> None:
    con, (result,) = land(tmp_path, BAD / "se_count_wrong.835")
    assert (result.status, result.records_read, result.records_accepted, result.records_quarantined) == (
        "landed",
        2,
        1,
        1,
    )
    q = con.execute("select record_index, reason_code, message, raw_text from raw_meta.quarantine").fetchall()
    assert len(q) == 1
    index, reason, message, raw = q[0]
    assert (index, reason) == (1, "SE_COUNT_MISMATCH")
    assert "se_count_wrong.835" in message and "transaction set 1" in message
    assert raw.startswith("ST*835*0001~") and raw.endswith("SE*43*0001~")
    assert con.execute("select distinct transaction_set_control_number from raw_billing.remit_claims").fetchall() == [
        ("0002",)
    ]
    assert counts(con)["remit_payments"] == 1


def test_unbalanced_claim_lands_with_an_error_finding(tmp_path: Path) -> None:
    """An out-of-balance claim lands (its cash still ties to BPR02); the error finding names it and
    the difference is named in the finding."""
    con, (result,) = land(tmp_path, BAD / "claim_out_of_balance.835")
    assert result.records_quarantined == 0 and result.records_accepted == result.records_read
    severity, message = con.execute(
        "select severity, message from raw_meta.validation_findings where rule = 'CLAIM_OUT_OF_BALANCE'"
    ).fetchone()
    assert severity == "error"
    assert "claim_out_of_balance.835" in message and "charge 500" in message and "off by -1" in message
    assert counts(con)["remit_claims"] > 0


def test_truncated_clp_quarantines_only_its_claim_loop(tmp_path: Path) -> None:
    """A truncated CLP (and the CAS under it) between two good claims: that loop alone is
    quarantined, named by file, ST02 and CLP01; the good claims, the payment and the cash land."""
    path = BAD / "clp_truncated_between_good_claims.835"
    con, (result,) = land(tmp_path, path)
    assert (result.status, result.records_read, result.records_accepted, result.records_quarantined) == (
        "landed",
        3,
        2,
        1,
    )
    ((index, reason, message, raw),) = con.execute(
        "select record_index, reason_code, message, raw_text from raw_meta.quarantine"
    ).fetchall()
    assert (index, reason) == (3, "MISSING_REQUIRED_ELEMENT")
    assert path.name in message and "ST02 0002" in message and "CLP01 'PCN0000000009'" in message
    assert raw == "CLP*PCN0000000009*1*120~CAS*CO*45*20~"
    claims = con.execute(
        "select patient_control_number, claim_seq, payment_amount from raw_billing.remit_claims "
        "where transaction_set_control_number = '0002' order by claim_seq"
    ).fetchall()
    assert claims == [("PCN0000000002", 1, Decimal("7000.00")), ("PCN0000000003", 3, Decimal("100.00"))]
    assert con.execute(
        "select count(*) from raw_billing.remit_adjustments where carc_code = '45' and amount = 20"
    ).fetchone() == (0,)
    # the ERA still ties: BPR02 = the landed claims' CLP04 (no PLB in this set), so no payment finding
    bpr, count = con.execute(
        "select payment_amount, claim_count from raw_billing.remit_payments where transaction_set_control_number = '0002'"
    ).fetchone()
    assert (bpr, count) == (Decimal("7100.00"), 2)
    assert con.execute(
        "select count(*) from raw_meta.validation_findings where rule = 'PAYMENT_OUT_OF_BALANCE'"
    ).fetchone() == (0,)


@pytest.mark.parametrize(
    "name, clp01",
    [
        ("clp_charge_not_a_number.835", "PCN0000000001"),
        ("svc_paid_not_a_number.835", "PCN0000000001"),
        ("cas_amount_not_a_number.835", "PCN0000000001"),
        ("clp_without_patient_control_number.835", None),
    ],
)
def test_a_broken_claim_loop_leaves_the_other_claims_and_names_its_payment(name: str, clp01: str | None) -> None:
    parsed = parse_835_text((BAD / name).read_text(), name)
    assert parsed.records_read == 3 and parsed.records_accepted == 2
    (q,) = parsed.quarantined
    assert q.record_index == 3 and f"record 3: claim loop CLP01 {clp01!r} of transaction set 1 (ST02 0001" in q.message
    assert q.raw_text.startswith("CLP*")
    claims = parsed.tables["claims"]
    assert claims.height == 4 and (clp01 is None or clp01 not in claims["patient_control_number"].to_list())
    assert parsed.tables["payments"]["claim_count"].to_list() == [2, 2]
    assert parsed.tables["provider_adjustments"].height == 2  # the PLB of the set still lands
    # BPR02 237.50 = 350 (quarantined) - 100 (landed reversal) - 12.50 (PLB): the finding names the gap
    (gap,) = [f for f in parsed.findings if f.rule == "PAYMENT_OUT_OF_BALANCE"]
    assert (
        "sum(CLP04) -100.0000" in gap.message and f"CLP01 {clp01!r} (CLP04 350.0000), together 350.0000" in gap.message
    )


def test_a_problem_before_the_first_clp_still_quarantines_the_transaction_set() -> None:
    parsed = parse_835_text((BAD / "cas_before_clp.835").read_text(), "cas_before_clp.835")
    assert parsed.records_read == 2 and [(q.record_index, q.reason_code) for q in parsed.quarantined] == [
        (1, "SEGMENT_OUT_OF_PLACE")
    ]


def test_bare_transaction_set_without_envelope_lands_with_a_finding(tmp_path: Path) -> None:
    """An ST..SE with no ISA/GS: detected as an 835, delimiters taken from the segments, every
    table lands (control numbers null) with one MISSING_ENVELOPE warning."""
    path = BAD / "bare_transaction_set.835"
    con, (result,) = land(tmp_path, path)
    assert (result.status, result.records_read, result.records_accepted, result.records_quarantined) == (
        "landed",
        1,
        1,
        0,
    )
    assert counts(con) == {
        "remit_payments": 1,
        "remit_claims": 3,
        "remit_service_lines": 2,
        "remit_adjustments": 5,
        "remit_remarks": 3,
        "remit_provider_adjustments": 2,
    }
    assert con.execute(
        "select interchange_control_number, group_control_number, transaction_set_control_number, payment_amount, "
        "payment_date from raw_billing.remit_payments"
    ).fetchall() == [(None, None, "0001", Decimal("237.50"), date(2026, 1, 5))]
    ((severity, message),) = con.execute(
        "select severity, message from raw_meta.validation_findings where rule = 'MISSING_ENVELOPE'"
    ).fetchall()
    assert severity == "warning" and path.name in message and "element '*', segment '~', component ':'" in message


def test_bare_transaction_set_with_other_delimiters() -> None:
    text = (BAD / "bare_transaction_set.835").read_text().replace("*", "|").replace("~", "\n").replace(":", "^")
    parsed = parse_835_text(text, "bare_pipes.835")
    assert parsed.records_read == 1 and not parsed.quarantined
    assert parsed.tables["service_lines"]["procedure_code"].to_list() == ["99213", "80053"]
    assert any(f.rule == "MISSING_ENVELOPE" and "component '^'" in f.message for f in parsed.findings)


def _with_header(fx, replace: dict[str, str | None], gs08: str = "005010X221A1", isa12: str = "00501") -> str:
    header = [replace.get(seg.split("*")[0] + "*" + seg.split("*")[1], seg) for seg in fx.HEADER_1]
    header = [seg for seg in header if seg is not None]
    text = fx.build_835([fx.transaction("0001", header + fx.CLAIMS_1 + fx.TRAILER_1)])
    return text.replace("*X*005010X221A1~", f"*X*{gs08}~").replace("*00501*", f"*{isa12}*", 1)


BPR_NO_DATE = "BPR*I*237.5*C*ACH*CCP*01*999999999*DA*123456*1512345678**01*999988880*DA*20260105"


@pytest.mark.parametrize(
    ("replace", "expected", "source"),
    [
        ({}, "2026-01-05", None),  # BPR16 present: no finding
        ({"BPR*I": BPR_NO_DATE}, "2026-01-04", "DTM*405"),  # date one element early (BPR15): DTM*405
        ({"BPR*I": BPR_NO_DATE, "DTM*405": None}, "2026-01-05", "GS04"),
    ],
)
def test_payment_date_falls_back_to_dtm405_then_the_envelope(replace, expected, source) -> None:
    from careledger.ingest.x12.remit_835_polars import parse_835_text_polars

    fx = fixture_builder()
    text = _with_header(fx, replace)
    if source == "GS04":
        text = text.replace("*20260105*1200*101*", "*20260103*1200*101*")
        expected = "2026-01-03"
    for parse in (parse_835_text, parse_835_text_polars):
        parsed = parse(text, "fallback.835")
        assert not parsed.quarantined
        assert [d.isoformat() for d in parsed.tables["payments"]["payment_date"]] == [expected]
        fallbacks = [f for f in parsed.findings if f.rule == "PAYMENT_DATE_FALLBACK"]
        if source is None:
            assert not fallbacks
        else:
            (finding,) = fallbacks
            assert source in finding.message and "fallback.835" in finding.message and expected in finding.message


@pytest.mark.parametrize(
    ("gs08", "isa12", "rules"),
    [
        ("005010X221A1", "00501", set()),
        ("004010X091A1", "00401", {"X12_VERSION_4010"}),
        ("004010X091A1", "00400", {"X12_VERSION_4010", "X12_VERSION_MISMATCH"}),
        ("005010X221A1", "00401", {"X12_VERSION_MISMATCH"}),
        ("004010X098A1", "00401", {"X12_VERSION_UNKNOWN"}),
    ],
)
def test_version_from_isa12_and_gs08_is_checked(gs08: str, isa12: str, rules: set[str]) -> None:
    fx = fixture_builder()
    parsed = parse_835_text(_with_header(fx, {}, gs08=gs08, isa12=isa12), "v.835")
    assert not parsed.quarantined and parsed.tables["claims"].height == 3
    found = {f.rule for f in parsed.findings if f.rule.startswith("X12_VERSION")}
    assert found == rules
    for f in parsed.findings:
        if f.rule.startswith("X12_VERSION"):
            assert gs08 in f.message


def test_terminator_leading_each_line_is_found() -> None:
    """'...*:\n~GS*...': the terminator is the '~' that opens each line, not the line break."""
    fx = fixture_builder()
    text = fx.build_835(fx.basic_transactions(), terminator="", between="\n~")
    assert find_delimiters(text)[1].segment == "~"
    parsed = parse_835_text(text)
    assert parsed.records_read == 2 and not parsed.quarantined


def test_envelope_problems_are_findings_not_losses(tmp_path: Path) -> None:
    con, (result,) = land(tmp_path, BAD / "iea_count_wrong.835")
    assert (result.records_read, result.records_accepted) == (2, 2)
    assert counts(con)["remit_claims"] == 5
    rule, severity, location = con.execute(
        "select rule, severity, location from raw_meta.validation_findings"
    ).fetchone()
    assert (rule, severity) == ("IEA_COUNT_MISMATCH", "warning") and location.startswith("segment")


def test_trace_number_landed_before_is_reported(tmp_path: Path) -> None:
    con, files = land(tmp_path, BASIC, PRETTY_BOM)
    assert [f.status for f in files] == ["landed", "landed"]
    rules = [r for (r,) in con.execute("select rule from raw_meta.validation_findings").fetchall()]
    assert rules.count("TRACE_NUMBER_ALREADY_LANDED") == 2


def test_volume_file_parses_every_claim() -> None:
    """A few thousand claims across many transaction sets, all balanced (no timing here)."""
    fx = fixture_builder()
    claims = [s for s in fx.CLAIMS_1 if not s.startswith("LX")]
    body = [seg for _ in range(50) for seg in ["LX*1", *claims]]
    txs = [fx.transaction(f"{i:04d}", fx.HEADER_1 + body + fx.TRAILER_1) for i in range(40)]
    parsed = parse_835_text(fx.build_835(txs, between="\n"))
    assert parsed.records_read == 40 and not parsed.quarantined
    assert parsed.tables["claims"].height == 40 * 50 * 3
    assert parsed.tables["service_lines"].height == 40 * 50 * 2
    assert parsed.tables["claims"]["claim_seq"].max() == 150
    # BPR02 was written for one claim set, so every set reports a payment imbalance finding (capped)
    assert any(f.rule == "PAYMENT_OUT_OF_BALANCE" for f in parsed.findings)
    total = parsed.tables["claims"].select(pl.col("payment_amount").cast(pl.Decimal(18, 2)).sum()).item()
    assert total == Decimal("250") * 40 * 50


def test_two_interchanges_in_one_file_keep_their_own_control_numbers() -> None:
    fx = fixture_builder()
    text = fx.build_835(fx.basic_transactions()) + fx.build_835(
        fx.basic_transactions(), control="000000102", group="102"
    )
    parsed = parse_835_text(text)
    assert parsed.records_read == 4 and not parsed.quarantined
    assert {f.rule for f in parsed.findings} == {"DUPLICATE_TRACE_NUMBER"}  # the same payments sent twice
    payments = parsed.tables["payments"]
    assert payments["interchange_control_number"].to_list() == ["000000101", "000000101", "000000102", "000000102"]
    assert payments["group_control_number"].to_list() == ["101", "101", "102", "102"]
    assert parsed.tables["claims"]["_source_record"].n_unique() == 10


def test_parser_never_produces_floats() -> None:
    parsed = parse_835_text(BASIC.read_text())
    for key, frame in parsed.tables.items():
        assert not [c for c, t in frame.schema.items() if t.is_float()], key
        for col in (c for c in frame.columns if c.endswith("_amount") or c == "amount"):
            assert frame.schema[col] == pl.Utf8, (key, col)  # decimal text; DuckDB casts to DECIMAL(18,2)
