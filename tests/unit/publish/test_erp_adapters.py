"""Each adapter writes what its ERP's import expects, balanced, and fails clearly on a gap."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import replace
from datetime import date
from decimal import Decimal

import duckdb
import jsonschema
import pytest
from test_erp_support import make_warehouse

from careledger.publish.erp.base import ExportBatch, ExportValidationError, dumps_exact
from careledger.publish.erp.d365 import COLUMNS as D365_COLUMNS
from careledger.publish.erp.d365 import D365Config, D365GeneralJournalAdapter
from careledger.publish.erp.generic_json import SCHEMA_PATH, GenericJsonAdapter, journal_schema
from careledger.publish.erp.netsuite import NetSuiteConfig, NetSuiteJournalAdapter
from careledger.publish.erp.oracle import GL_INTERFACE_COLUMNS, OracleFbdiAdapter
from careledger.publish.posting import load_period_calendar, load_source_journals, plan_postings


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> ExportBatch:
    wh = make_warehouse(tmp_path_factory.mktemp("adapters") / "w.duckdb")
    with duckdb.connect(str(wh), read_only=True) as con:
        journals = load_source_journals(con)
        calendar = load_period_calendar(con)
    planned = plan_postings("any", journals, {}, {}, calendar)
    return ExportBatch("any", date(2025, 1, 30), date(2025, 2, 28), tuple(planned))


def for_target(batch: ExportBatch, target: str) -> ExportBatch:
    return ExportBatch(target, batch.date_from, batch.date_to, batch.journals)


def col(name: str) -> int:
    return GL_INTERFACE_COLUMNS.index(name)


# ---------------------------------------------------------------------------- Oracle FBDI


def test_oracle_fbdi_layout(batch: ExportBatch) -> None:
    f, upload = OracleFbdiAdapter().render(for_target(batch, "oracle"))
    assert f.name.startswith("oracle_20250130_20250228_") and f.name.endswith(".csv")
    # the same bytes zipped as GlInterface.csv, the file importBulkData takes
    assert upload.name == f.name.removesuffix(".csv") + ".zip" and upload.journal_ids == ()
    with zipfile.ZipFile(io.BytesIO(upload.content)) as zf:
        assert zf.namelist() == ["GlInterface.csv"] and zf.read("GlInterface.csv") == f.content
    rows = list(csv.reader(io.StringIO(f.content.decode())))
    assert len(rows) == sum(len(j.lines) for j in batch.journals)
    assert {len(r) for r in rows} == {149}  # positional, no header row
    assert GL_INTERFACE_COLUMNS[:8] == (
        "STATUS",
        "LEDGER_ID",
        "ACCOUNTING_DATE",
        "USER_JE_SOURCE_NAME",
        "USER_JE_CATEGORY_NAME",
        "CURRENCY_CODE",
        "DATE_CREATED",
        "ACTUAL_FLAG",
    )
    assert (
        col("SEGMENT1"),
        col("ENTERED_DR"),
        col("REFERENCE1"),
        col("REFERENCE21"),
        col("GROUP_ID"),
        col("LEDGER_NAME"),
        col("PERIOD_NAME"),
    ) == (8, 38, 42, 52, 66, 91, 94)
    r = rows[0]
    assert r[col("STATUS")] == "NEW" and r[col("ACTUAL_FLAG")] == "A" and r[col("LEDGER_ID")] == ""
    assert r[col("ACCOUNTING_DATE")] == "2025/02/01"  # 2025-01-30 sits in closed January
    assert r[col("DATE_CREATED")] == r[col("ACCOUNTING_DATE")]  # no run timestamps
    assert r[col("LEDGER_NAME")] == "LE02 Primary Ledger" and r[col("PERIOD_NAME")] == "2025-02"
    assert (r[col("SEGMENT1")], r[col("SEGMENT2")], r[col("SEGMENT3")], r[col("SEGMENT4")], r[col("SEGMENT5")]) == (
        "LE02",
        "F200",
        "000",
        "1010",
        "primary_care",
    )
    assert len({row[col("GROUP_ID")] for row in rows}) == 1 and rows[0][col("GROUP_ID")].isdigit()
    for row in rows:
        assert (row[col("ENTERED_DR")] == "") != (row[col("ENTERED_CR")] == "")
        for amt in (row[col("ENTERED_DR")], row[col("ENTERED_CR")]):
            assert amt == "" or (amt.count(".") == 1 and len(amt.split(".")[1]) == 2)
    journals = {row[col("REFERENCE4")] for row in rows}
    assert journals == {j.journal_id for j in batch.journals}
    for jid in journals:
        mine = [row for row in rows if row[col("REFERENCE4")] == jid]
        assert sum(Decimal(x[col("ENTERED_DR")] or 0) for x in mine) == sum(
            Decimal(x[col("ENTERED_CR")] or 0) for x in mine
        )


def test_oracle_requires_ledger_name(batch: ExportBatch) -> None:
    broken = replace(batch.journals[0], ledger_name=None)
    bad = ExportBatch("oracle", batch.date_from, batch.date_to, (broken,))
    with pytest.raises(ExportValidationError, match=f"journal {broken.journal_id}: field LEDGER_NAME"):
        OracleFbdiAdapter().render(bad)


def test_oracle_refuses_oversized_segment(batch: ExportBatch) -> None:
    j = batch.journals[0]
    broken = replace(j, facility_id="F" * 30)
    with pytest.raises(ExportValidationError, match="SEGMENT2 is 30 characters"):
        OracleFbdiAdapter().render(ExportBatch("oracle", batch.date_from, batch.date_to, (broken,)))


def test_any_adapter_refuses_an_unbalanced_journal(batch: ExportBatch) -> None:
    j = batch.journals[0]
    first = replace(j.lines[0], debit_amount=j.lines[0].debit_amount + Decimal("0.01"))
    broken = replace(j, lines=(first, *j.lines[1:]))
    for adapter in (OracleFbdiAdapter(), D365GeneralJournalAdapter(), NetSuiteJournalAdapter(), GenericJsonAdapter()):
        with pytest.raises(ExportValidationError, match=f"journal {j.journal_id}: field debit/credit do not balance"):
            adapter.render(ExportBatch(adapter.target, batch.date_from, batch.date_to, (broken,)))


# ---------------------------------------------------------------------------- Dynamics 365


def test_d365_general_journal_per_legal_entity(batch: ExportBatch) -> None:
    files = D365GeneralJournalAdapter().render(for_target(batch, "d365"))
    assert [f.name.split("_")[1] for f in files] == ["LE01", "LE02"]
    for f in files:
        rows = list(csv.DictReader(io.StringIO(f.content.decode())))
        assert tuple(rows[0].keys()) == D365_COLUMNS
        assert {r["ACCOUNTTYPE"] for r in rows} == {"Ledger"}
        assert len({r["JOURNALBATCHNUMBER"] for r in rows}) == 1
        assert [int(r["LINENUMBER"]) for r in rows] == list(range(1, len(rows) + 1))
        le = f.name.split("_")[1]
        for r in rows:
            main, entity, facility, cost_center, service_line = r["ACCOUNTDISPLAYVALUE"].split("|")
            assert entity == le and main.isdigit() and facility.startswith("F")
        for voucher in {r["VOUCHER"] for r in rows}:
            mine = [r for r in rows if r["VOUCHER"] == voucher]
            assert sum(Decimal(r["DEBITAMOUNT"]) for r in mine) == sum(Decimal(r["CREDITAMOUNT"]) for r in mine)
    accrual = next(j for j in batch.journals if j.journal_source == "month_end_accrual")
    rows = list(csv.DictReader(io.StringIO(files[0].content.decode())))
    assert any(
        r["ACCOUNTDISPLAYVALUE"] == "1200|LE01|F100|CC-F100-0001|cardiology" and r["VOUCHER"] == accrual.journal_id
        for r in rows
    )


def test_d365_delimiter_clash_is_refused(batch: ExportBatch) -> None:
    adapter = D365GeneralJournalAdapter(D365Config(dimension_delimiter="-"))
    with pytest.raises(
        ExportValidationError, match="ACCOUNTDISPLAYVALUE segment 'CC-F100-0001' contains the dimension delimiter"
    ):
        adapter.render(for_target(batch, "d365"))


# ---------------------------------------------------------------------------- NetSuite


def test_netsuite_journal_entry_records(batch: ExportBatch) -> None:
    (f,) = NetSuiteJournalAdapter(NetSuiteConfig(id_maps={"subsidiary": {"LE01": "7"}})).render(
        for_target(batch, "netsuite")
    )
    doc = json.loads(f.content, parse_float=Decimal)
    assert doc["recordType"] == "journalEntry"
    records = doc["records"]
    assert [r["externalId"] for r in records] == [j.idempotency_key for j in batch.journals]
    for rec, j in zip(records, batch.journals):
        assert rec["tranDate"] == j.accounting_date.isoformat()
        assert rec["postingPeriod"] == {"id": j.period_id} and rec["currency"] == {"id": "USD"}
        assert rec["subsidiary"] == {"id": "7" if j.legal_entity_id == "LE01" else j.legal_entity_id}
        items = rec["line"]["items"]
        assert all(("debit" in i) != ("credit" in i) for i in items)
        assert all(i["location"] == {"id": j.facility_id} for i in items)
        assert sum(i.get("debit", 0) for i in items) == sum(i.get("credit", 0) for i in items)
    # amounts are exact JSON numbers with two decimals
    assert b'"debit": 1200.10' in f.content


def test_netsuite_requires_subsidiary(batch: ExportBatch) -> None:
    broken = replace(batch.journals[0], legal_entity_id="")
    with pytest.raises(ExportValidationError, match="field subsidiary is required"):
        NetSuiteJournalAdapter().render(ExportBatch("netsuite", batch.date_from, batch.date_to, (broken,)))


# ---------------------------------------------------------------------------- generic JSON


def test_json_schema_is_valid_draft_2020_12() -> None:
    schema = json.loads(SCHEMA_PATH.read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_json_document_validates_and_totals_match(batch: ExportBatch) -> None:
    (f,) = GenericJsonAdapter().render(for_target(batch, "json"))
    doc = json.loads(f.content)
    jsonschema.Draft202012Validator(journal_schema()).validate(doc)
    assert doc["journal_count"] == len(batch.journals)
    assert Decimal(doc["debit_total"]) == Decimal(doc["credit_total"]) == sum(j.debit_total for j in batch.journals)
    for j in doc["journals"]:
        assert Decimal(j["debit_total"]) == sum(Decimal(ln["debit_amount"]) for ln in j["lines"])
        assert Decimal(j["debit_total"]) == Decimal(j["credit_total"])


def test_json_schema_rejects_a_float_amount_and_a_missing_field(batch: ExportBatch) -> None:
    doc = GenericJsonAdapter().document(for_target(batch, "json"))
    validator = jsonschema.Draft202012Validator(journal_schema())
    doc["journals"][0]["lines"][0]["debit_amount"] = 12.5
    assert not validator.is_valid(doc)
    doc = GenericJsonAdapter().document(for_target(batch, "json"))
    del doc["journals"][0]["period_id"]
    assert not validator.is_valid(doc)


def test_dumps_exact_keeps_money_exact() -> None:
    assert (
        dumps_exact({"a": Decimal("0.10"), "b": [1, None, True]}, indent=0).replace("\n", "")
        == '{"a": 0.10,"b": [1,null,true]}'
    )
    with pytest.raises(TypeError, match="float"):
        dumps_exact({"a": 0.1})


def test_render_is_deterministic(batch: ExportBatch) -> None:
    for adapter in (OracleFbdiAdapter(), D365GeneralJournalAdapter(), NetSuiteJournalAdapter(), GenericJsonAdapter()):
        b = for_target(batch, adapter.target)
        assert adapter.render(b) == adapter.render(b)
