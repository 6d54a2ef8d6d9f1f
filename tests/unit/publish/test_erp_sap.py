"""SAP S/4HANA Cloud journal entries: the SOAP payload is valid against the XSD written from
SAP's documentation, balances with S/H signs right, maps segments through the seed, and the
16-character document reference is stable across runs and kept in the posting ledger."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree as ET

import duckdb
import pytest
from test_erp_support import ledger_rows, make_warehouse, mart_net_by_account, net_by_account

from careledger.publish.erp import publish_erp
from careledger.publish.erp.base import ExportBatch, ExportValidationError
from careledger.publish.erp.sap import (
    SFIN_NS,
    SapConfig,
    SapJournalEntryAdapter,
    document_reference,
    schema,
    split_requests,
    validate_payload,
)
from careledger.publish.posting import load_period_calendar, load_source_journals, plan_postings

ASSIGNMENT = {
    "company_code": {"LE01": "1010", "LE02": "1020"},
    "profit_center": {"F100": "YB100"},
    "cost_center": {},
    "segment": {"cardiology": "CARD", "oncology": "ONCO", "primary_care": "PRIMARY"},
}


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> ExportBatch:
    wh = make_warehouse(tmp_path_factory.mktemp("sap") / "w.duckdb")
    with duckdb.connect(str(wh), read_only=True) as con:
        planned = plan_postings("sap", load_source_journals(con), {}, {}, load_period_calendar(con))
    return ExportBatch("sap", date(2025, 1, 30), date(2025, 2, 28), tuple(planned))


def adapter() -> SapJournalEntryAdapter:
    return SapJournalEntryAdapter(SapConfig(assignment=ASSIGNMENT))


def test_payload_is_valid_soap_against_the_xsd_and_balances_with_s_h_signs(batch: ExportBatch) -> None:
    (f,) = adapter().render(batch)
    assert f.name.startswith("sap_20250130_20250228_") and f.name.endswith(".xml")
    root = ET.fromstring(f.content)
    body = root.find("{http://schemas.xmlsoap.org/soap/envelope/}Body")[0]
    assert body.tag == f"{{{SFIN_NS}}}JournalEntryBulkCreateRequest"
    assert schema().is_valid(body)
    requests = body.findall("JournalEntryCreateRequest")
    assert len(requests) == len(batch.journals) == 5
    for req, j in zip(requests, batch.journals, strict=True):
        assert req.findtext("MessageHeader/ID") == j.idempotency_key
        je = req.find("JournalEntry")
        assert [
            je.findtext(t)
            for t in ("OriginalReferenceDocumentType", "BusinessTransactionType", "AccountingDocumentType")
        ] == [
            "BKPFF",
            "RFBU",
            "SA",
        ]
        assert je.findtext("CompanyCode") == {"LE01": "1010", "LE02": "1020"}[j.legal_entity_id]
        assert je.findtext("DocumentReferenceID") == document_reference(j.journal_id)
        assert je.findtext("PostingDate") == j.accounting_date.isoformat()
        assert je.findtext("DocumentDate") == j.posting_date.isoformat()
        assert len(je.findtext("DocumentHeaderText")) <= 25
        total = Decimal(0)
        for item, ln in zip(je.findall("Item"), j.lines, strict=True):
            value = Decimal(item.findtext("AmountInTransactionCurrency"))
            assert item.find("AmountInTransactionCurrency").get("currencyCode") == "USD"
            if ln.debit_amount:
                assert item.findtext("DebitCreditCode") == "S" and value == ln.debit_amount
            else:
                assert item.findtext("DebitCreditCode") == "H" and value == -ln.credit_amount
            assert item.findtext("GLAccount") == ln.account_id.zfill(10)
            total += value
        assert total == 0
    # the facility's profit center from the mapping, the cost center CC-F100-0001 -> F1000001
    assigned = {
        (a.findtext("ProfitCenter"), a.findtext("CostCenter"))
        for a in body.iter("AccountAssignment")
        if a.findtext("CostCenter")
    }
    assert assigned == {("YB100", "F1000001")}


def test_default_mapping_comes_from_the_seed(batch: ExportBatch) -> None:
    seeded = SapJournalEntryAdapter()
    assert seeded.assigned("company_code", "LE10") == "1010"
    assert seeded.assigned("segment", "primary_care") == "PRIMARY"
    assert seeded.assigned("company_code", "LE01") == "LE01"  # no row, fits CompanyCode (4)


def test_short_reference_is_deterministic_unique_and_fits() -> None:
    ids = [f"CL-{h}-{seq:03d}" for h in ("3FA2B1C9D0E1", "3FA2B1C9D0E2") for seq in (1, 2, 3, 36, 999)]
    refs = [document_reference(i) for i in ids]
    assert len(set(refs)) == len(ids)
    assert all(len(r) == 16 for r in refs)
    assert document_reference("CL-3FA2B1C9D0E1-001") == "CL3FA2B1C9D0E101" == document_reference("CL-3FA2B1C9D0E1-001")
    with pytest.raises(ExportValidationError, match="DocumentReferenceID"):
        document_reference("JE-LE01-F100-20250203")


def test_reference_mapping_is_stable_across_runs_and_kept_in_the_ledger(tmp_path: Path) -> None:
    seen = []
    for i in range(2):
        wh = make_warehouse(tmp_path / f"w{i}.duckdb")
        publish_erp(wh, "sap", tmp_path / f"out{i}")
        with duckdb.connect(str(wh), read_only=True) as con:
            seen.append(
                con.execute("select journal_id, erp_reference from publish.erp_references order by 1").fetchall()
            )
        assert {r["journal_id"] for r in ledger_rows(wh, "sap")} == {j for j, _ in seen[-1]}
        publish_erp(wh, "sap", tmp_path / f"out{i}")  # a re-run adds nothing
        with duckdb.connect(str(wh), read_only=True) as con:
            assert con.execute("select count(*) from publish.erp_references").fetchone()[0] == len(seen[-1])
    assert seen[0] == seen[1] and len(seen[0]) == 5
    assert all(ref == document_reference(jid) for jid, ref in seen[0])


def test_published_sap_file_carries_the_mart_to_the_cent(tmp_path: Path) -> None:
    wh = make_warehouse(tmp_path / "w.duckdb")
    result = publish_erp(wh, "sap", tmp_path / "out")
    assert net_by_account(result.files) == mart_net_by_account(wh)
    assert len(split_requests(result.files[0].read_bytes())) == 5


def _payload(batch: ExportBatch) -> str:
    return adapter().render(batch)[0].content.decode()


def test_validation_refuses_what_sap_rejects(batch: ExportBatch) -> None:
    text = _payload(batch)
    key = batch.journals[0].idempotency_key
    with pytest.raises(ExportValidationError, match="violates the SAP schema"):
        validate_payload(text.replace(f"<ID>{key}</ID>", "<ID></ID>", 1).encode())  # empty header id
    ref = document_reference(batch.journals[0].journal_id)
    with pytest.raises(ExportValidationError, match="violates the SAP schema"):
        validate_payload(text.replace(ref, ref + "XYZ", 1).encode())  # 19 > 16 characters
    first_amount = text.split('currencyCode="USD">', 1)[1].split("<", 1)[0]
    bumped = str(Decimal(first_amount) + Decimal("0.01"))
    unbalanced = text.replace(f'currencyCode="USD">{first_amount}<', f'currencyCode="USD">{bumped}<', 1)
    with pytest.raises(ExportValidationError, match="do not balance in USD"):
        validate_payload(unbalanced.encode())
    wrong_sign = text.replace(f'currencyCode="USD">{first_amount}<', f'currencyCode="USD">-{first_amount}<', 1)
    with pytest.raises(ExportValidationError, match="does not match DebitCreditCode S"):
        validate_payload(wrong_sign.encode())


def test_a_value_too_long_for_sap_stops_only_its_journal(tmp_path: Path) -> None:
    wh = make_warehouse(tmp_path / "w.duckdb")
    long_cc = SapJournalEntryAdapter(
        SapConfig(assignment={**ASSIGNMENT, "cost_center": {"CC-F100-0001": "COSTCENTER-TOO-LONG"}})
    )
    result = publish_erp(wh, "sap", tmp_path / "out", adapter=long_cc)
    assert result.journals == 4  # the accrual journal (the only one with a cost center) is stopped
    (stopped,) = {r.journal.journal_id for r in result.rejections}
    assert {r.rule for r in result.rejections} == {"SAP_LEN"}
    assert "CostCenter 'COSTCENTER-TOO-LONG' (19 characters; SAP allows 10)" in result.rejections[0].message
    with duckdb.connect(str(wh), read_only=True) as con:
        rows = con.execute("select reason_code, message from publish.held_journals").fetchall()
    assert len(rows) == 1 and rows[0][0] == "SAP_LEN"
    assert rows[0][1].count(f"{stopped} SAP_LEN: CostCenter") == 4  # every line it names
    assert stopped not in {r["journal_id"] for r in ledger_rows(wh, "sap")}


def test_render_refuses_a_journal_with_a_wrong_sided_line(batch: ExportBatch) -> None:
    j = batch.journals[0]
    broken = replace(j, lines=(replace(j.lines[0], debit_amount=Decimal("0.00")), *j.lines[1:]))
    with pytest.raises(ExportValidationError):
        adapter().render(ExportBatch("sap", batch.date_from, batch.date_to, (broken,)))
