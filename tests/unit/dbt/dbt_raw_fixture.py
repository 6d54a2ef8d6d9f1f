"""A tiny hand-made raw layer for fast dbt tests: one legal entity, one facility, a few
encounters with HL7/FHIR history, claims with a replacement and a void, an 835 with a
payment, a denial, a reversal and an unmatched CLP, and ERP cost data.

``load_minimal_raw(con)`` creates the raw schema (ingest/schema.sql) and inserts the rows;
``EXPECTED`` holds the totals the tests check against.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

import duckdb

from careledger.ingest.landing import ensure_schema

LOADED_AT = datetime(2025, 2, 1, 6, 0, 0)


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict], batch: str = "b_fixture_1") -> None:
    for i, row in enumerate(rows, start=1):
        full = dict(row)
        full.setdefault("_batch_id", batch)
        full.setdefault("_source_file", f"/landing/{table}.fixture")
        full.setdefault("_source_record", i)
        full.setdefault("_record_hash", f"{table}-{batch}-{i}")
        full.setdefault("_loaded_at", LOADED_AT)
        cols = ", ".join(full)
        marks = ", ".join("?" for _ in full)
        con.execute(f"insert into {table} ({cols}) values ({marks})", list(full.values()))


def _fhir(resource: dict, version: str = "1", updated: str = "2025-01-05T10:00:00") -> dict:
    return {
        "resource_type": resource["resourceType"],
        "resource_id": resource["id"],
        "version_id": version,
        "last_updated": datetime.fromisoformat(updated),
        "resource": json.dumps(resource),
    }


def load_minimal_raw(con: duckdb.DuckDBPyConnection) -> None:
    ensure_schema(con)
    _insert(
        con,
        "raw_erp.legal_entities",
        [
            dict(
                legal_entity_id="LE1",
                legal_entity_name="Careledger Health",
                tax_id="11-1111111",
                currency_code="USD",
                ledger_name="US Primary",
            ),
        ],
    )
    _insert(
        con,
        "raw_erp.facilities",
        [
            dict(
                facility_id="F100",
                facility_name="General Hospital",
                facility_type="hospital",
                legal_entity_id="LE1",
                address_line="1 Main St",
                city="Springfield",
                state="IL",
                zip="62701",
                bed_count=200,
            ),
        ],
    )
    _insert(
        con,
        "raw_erp.cost_centers",
        [
            dict(
                cost_center_id="CC-F100-1000",
                cost_center_name="Cardiology",
                parent_cost_center_id=None,
                facility_id="F100",
                cost_center_type="revenue",
                service_line_code="cardiology",
                is_active=True,
            ),
            dict(
                cost_center_id="CC-F100-9000",
                cost_center_name="Administration",
                parent_cost_center_id=None,
                facility_id="F100",
                cost_center_type="overhead",
                service_line_code=None,
                is_active=True,
            ),
        ],
    )
    _insert(
        con,
        "raw_erp.chart_of_accounts",
        [
            dict(account_id=a, account_name=n, account_type=t, natural_balance=b, is_posting=True)
            for a, n, t, b in [
                ("1010", "Cash clearing", "asset", "debit"),
                ("1200", "Patient A/R - payer", "asset", "debit"),
                ("1210", "Patient A/R - self-pay", "asset", "debit"),
                ("1290", "Allowance for contractual adjustments", "asset", "credit"),
                ("4020", "Laboratory revenue", "revenue", "credit"),
                ("4080", "Cardiology revenue", "revenue", "credit"),
                ("4900", "Contractual allowances", "revenue", "debit"),
                ("4910", "Denials", "revenue", "debit"),
                ("4950", "Contractual allowance true-up", "revenue", "debit"),
                ("4960", "Unclassified payer adjustments", "revenue", "debit"),
                ("1295", "Remittance suspense", "asset", "debit"),
                ("1250", "Unbilled patient A/R (DNFB)", "asset", "debit"),
                ("6000", "Salaries", "expense", "debit"),
                ("2000", "Accrued payroll", "liability", "credit"),
            ]
        ],
    )
    _insert(
        con,
        "raw_erp.accounting_periods",
        [
            dict(
                period_id="2025-01",
                period_start_date="2025-01-01",
                period_end_date="2025-01-31",
                fiscal_year=2025,
                fiscal_period=1,
                status="closed",
            ),
            dict(
                period_id="2025-02",
                period_start_date="2025-02-01",
                period_end_date="2025-02-28",
                fiscal_year=2025,
                fiscal_period=2,
                status="open",
            ),
        ],
    )
    _insert(
        con,
        "raw_erp.crosswalks",
        [
            dict(entity="provider", source_system="billing", source_code="BP0001", target_code="1234567893"),
            dict(entity="provider", source_system="erp", source_code="E00001", target_code="1234567893"),
            dict(entity="department", source_system="billing", source_code="D0001", target_code="D-1-CARD"),
            dict(
                entity="department_cost_center", source_system="ehr", source_code="D-1-CARD", target_code="CC-F100-1000"
            ),
            dict(entity="location", source_system="ehr", source_code="L-1", target_code="F100"),
            dict(entity="location", source_system="billing", source_code="FAC01", target_code="F100"),
            dict(entity="payer", source_system="x12", source_code="MCR01", target_code="PYR001"),
            dict(entity="payer", source_system="ehr", source_code="PAY-PYR001", target_code="PYR001"),
        ],
    )
    _insert(
        con,
        "raw_erp.gl_actuals",
        [
            dict(
                journal_id="GL1",
                line_number=1,
                legal_entity_id="LE1",
                facility_id="F100",
                cost_center_id="CC-F100-1000",
                account_id="6000",
                posting_date="2025-01-31",
                period_id="2025-01",
                debit_amount=Decimal("1000.00"),
                credit_amount=Decimal("0.00"),
                source="payroll",
                supplier_id=None,
                description="Salaries",
            ),
            dict(
                journal_id="GL1",
                line_number=2,
                legal_entity_id="LE1",
                facility_id="F100",
                cost_center_id="CC-F100-9000",
                account_id="2000",
                posting_date="2025-01-31",
                period_id="2025-01",
                debit_amount=Decimal("0.00"),
                credit_amount=Decimal("1000.00"),
                source="payroll",
                supplier_id=None,
                description="Accrued payroll",
            ),
        ],
    )
    _insert(
        con,
        "raw_erp.payroll",
        [
            dict(
                pay_period_end_date="2025-01-31",
                employee_id="E00001",
                npi="1234567893",
                cost_center_id="CC-F100-1000",
                job_code="MD",
                hours=Decimal("160.00"),
                cost_amount=Decimal("1000.00"),
            ),
            dict(
                pay_period_end_date="2025-01-31",
                employee_id="E00002",
                npi=None,
                cost_center_id="CC-BOGUS",
                job_code="RN",
                hours=Decimal("80.00"),
                cost_amount=Decimal("400.00"),
            ),
        ],
    )
    _insert(
        con,
        "raw_erp.supply_spend",
        [
            dict(
                invoice_id="INV1",
                invoice_date="2025-01-15",
                supplier_id="S1",
                cost_center_id="CC-F100-1000",
                item_category="stents",
                amount=Decimal("250.50"),
            ),
        ],
    )
    _insert(
        con,
        "raw_billing.payers",
        [
            dict(
                payer_code="PYR001",
                payer_name="Medicare",
                payer_class="medicare",
                x12_payer_id="MCR01",
                inpatient_base_rate=Decimal("6000.00"),
                outpatient_method="pct_of_charges",
                outpatient_rate=Decimal("0.4000"),
            ),
        ],
    )
    # FHIR: patient, practitioner, locations, an encounter in two versions
    _insert(
        con,
        "raw_ehr.fhir_resources",
        [
            _fhir(
                {
                    "resourceType": "Patient",
                    "id": "P0000001",
                    "identifier": [{"system": "urn:careledger:mrn", "value": "MRN00000001"}],
                    "name": [{"family": "Doe", "given": ["Jane"]}],
                    "gender": "female",
                    "birthDate": "1950-03-02",
                    "address": [{"postalCode": "62704"}],
                }
            ),
            _fhir(
                {
                    "resourceType": "Practitioner",
                    "id": "PR0001",
                    "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567893"}],
                    "name": [{"family": "Heart", "given": ["Ada"]}],
                }
            ),
            _fhir(
                {
                    "resourceType": "Location",
                    "id": "L-1",
                    "name": "General Hospital",
                    "physicalType": {"coding": [{"code": "bu"}]},
                    "managingOrganization": {"reference": "Organization/ORG-1"},
                }
            ),
            _fhir(
                {
                    "resourceType": "Location",
                    "id": "D-1-CARD",
                    "name": "Cardiology unit",
                    "physicalType": {"coding": [{"code": "wa"}]},
                    "partOf": {"reference": "Location/L-1"},
                }
            ),
            _fhir(
                {
                    "resourceType": "Encounter",
                    "id": "V00000001",
                    "status": "in-progress",
                    "class": {"code": "IMP"},
                    "subject": {"reference": "urn:uuid:P0000001"},
                    "participant": [
                        {
                            "individual": {
                                "reference": "Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|1234567893"
                            }
                        }
                    ],
                    "location": [{"location": {"reference": "Location/D-1-CARD"}}],
                    "serviceProvider": {"reference": "Organization/ORG-1"},
                    "period": {"start": "2025-01-03T08:00:00"},
                },
                version="1",
                updated="2025-01-03T08:05:00",
            ),
            _fhir(
                {
                    "resourceType": "Encounter",
                    "id": "V00000001",
                    "status": "finished",
                    "class": {"code": "IMP"},
                    "subject": {"reference": "Patient/P0000001"},
                    "participant": [{"individual": {"reference": "Practitioner/PR0001"}}],
                    "location": [{"location": {"reference": "Location/D-1-CARD"}}],
                    "serviceProvider": {"reference": "Organization/ORG-1"},
                    "period": {"start": "2025-01-03T08:00:00", "end": "2025-01-06T12:00:00"},
                },
                version="2",
                updated="2025-01-06T12:05:00",
            ),
        ],
    )
    adt_common = dict(
        message_type="ADT",
        sending_application="EPIC",
        sending_facility="L-1",
        hl7_version="2.5",
        patient_family_name="Roe",
        patient_given_name="Rick",
        birth_date="1985-07-01",
        sex="M",
        address_line="2 Elm",
        city="Springfield",
        state="IL",
        zip="62702",
        phone="555",
        ssn="123-45-6789",
        patient_class="O",
        point_of_care="D-1-CARD",
        location_facility="L-1",
        attending_npi="1234567893",
    )
    _insert(
        con,
        "raw_ehr.adt_messages",
        [
            # V2: admitted, discharged, discharge cancelled (A13) -> in progress without discharge time
            dict(
                adt_common,
                message_control_id="M1",
                trigger_event="A04",
                message_at="2025-01-10 09:00:00",
                event_at="2025-01-10 09:00:00",
                patient_mrn="MRN00000002",
                visit_number="V00000002",
                admit_at="2025-01-10 09:00:00",
            ),
            dict(
                adt_common,
                message_control_id="M2",
                trigger_event="A03",
                message_at="2025-01-10 11:00:00",
                event_at="2025-01-10 11:00:00",
                patient_mrn="MRN00000002",
                visit_number="V00000002",
                admit_at="2025-01-10 09:00:00",
                discharge_at="2025-01-10 11:00:00",
            ),
            dict(
                adt_common,
                message_control_id="M3",
                trigger_event="A13",
                message_at="2025-01-10 12:00:00",
                event_at="2025-01-10 12:00:00",
                patient_mrn="MRN00000002",
                visit_number="V00000002",
            ),
            # V3: admitted then cancelled (A11); the A08 update arrives later by load but earlier by source time
            dict(
                adt_common,
                message_control_id="M4",
                trigger_event="A01",
                message_at="2025-01-12 08:00:00",
                event_at="2025-01-12 08:00:00",
                patient_mrn="MRN00000003",
                visit_number="V00000003",
                patient_class="I",
                admit_at="2025-01-12 08:00:00",
            ),
            dict(
                adt_common,
                message_control_id="M5",
                trigger_event="A11",
                message_at="2025-01-12 10:00:00",
                event_at="2025-01-12 10:00:00",
                patient_mrn="MRN00000003",
                visit_number="V00000003",
            ),
            dict(
                adt_common,
                message_control_id="M6",
                trigger_event="A08",
                message_at="2025-01-12 09:00:00",
                event_at="2025-01-12 09:00:00",
                patient_mrn="MRN00000003",
                visit_number="V00000003",
                point_of_care="D-UNKNOWN",
                _loaded_at=datetime(2025, 2, 2, 6, 0, 0),
            ),
            # A40: MRN00000003 merged into MRN00000002
            dict(
                adt_common,
                message_control_id="M7",
                trigger_event="A40",
                message_at="2025-01-20 08:00:00",
                event_at="2025-01-20 08:00:00",
                patient_mrn="MRN00000002",
                prior_mrn="MRN00000003",
            ),
        ],
    )
    claim_common = dict(
        patient_mrn="MRN00000001",
        member_id="1EG4TE5MK72",
        payer_code="PYR001",
        billing_npi="1234567893",
        rendering_npi="1234567893",
        facility_code="FAC01",
        department_code="D0001",
        admit_date=None,
        discharge_date=None,
        statement_from_date="2025-01-03",
        statement_to_date="2025-01-06",
        place_of_service="21",
        principal_diagnosis_code="I21.4",
        modifiers=None,
    )
    lines = [
        # C1: inpatient, DRG 247 (cardiology), two lines = 1500.00; paid
        dict(
            claim_common,
            claim_id="C00000001",
            claim_frequency_code="1",
            original_claim_id=None,
            patient_control_number="PCN0000000001",
            encounter_id="V00000001",
            claim_type="I",
            bill_type="111",
            drg_code="247",
            submitted_date="2025-01-08",
            line_number=1,
            service_date="2025-01-03",
            procedure_code="93458",
            revenue_code="0481",
            units=Decimal("1"),
            charge_amount=Decimal("1200.00"),
        ),
        dict(
            claim_common,
            claim_id="C00000001",
            claim_frequency_code="1",
            original_claim_id=None,
            patient_control_number="PCN0000000001",
            encounter_id="V00000001",
            claim_type="I",
            bill_type="111",
            drg_code="247",
            submitted_date="2025-01-08",
            line_number=2,
            service_date="2025-01-04",
            procedure_code="80053",
            revenue_code="0301",
            units=Decimal("1"),
            charge_amount=Decimal("300.00"),
        ),
        # C2 original (outpatient 200.00), replaced by C3 (250.00): only C3 counts
        dict(
            claim_common,
            claim_id="C00000002",
            claim_frequency_code="1",
            original_claim_id=None,
            patient_control_number="PCN0000000002",
            encounter_id="V00000002",
            claim_type="P",
            bill_type=None,
            drg_code=None,
            submitted_date="2025-01-11",
            statement_from_date="2025-01-10",
            statement_to_date="2025-01-10",
            line_number=1,
            service_date="2025-01-10",
            procedure_code="93000",
            revenue_code=None,
            units=Decimal("1"),
            charge_amount=Decimal("200.00"),
            patient_mrn="MRN00000002",
        ),
        dict(
            claim_common,
            claim_id="C00000003",
            claim_frequency_code="7",
            original_claim_id="C00000002",
            patient_control_number="PCN0000000002",
            encounter_id="V00000002",
            claim_type="P",
            bill_type=None,
            drg_code=None,
            submitted_date="2025-01-15",
            statement_from_date="2025-01-10",
            statement_to_date="2025-01-10",
            line_number=1,
            service_date="2025-01-10",
            procedure_code="93000",
            revenue_code=None,
            units=Decimal("1"),
            charge_amount=Decimal("250.00"),
            patient_mrn="MRN00000002",
        ),
        # C4 original 80.00 voided by C5: nothing counts
        dict(
            claim_common,
            claim_id="C00000004",
            claim_frequency_code="1",
            original_claim_id=None,
            patient_control_number="PCN0000000004",
            encounter_id="V00000003",
            claim_type="P",
            bill_type=None,
            drg_code=None,
            submitted_date="2025-01-13",
            statement_from_date="2025-01-12",
            statement_to_date="2025-01-12",
            line_number=1,
            service_date="2025-01-12",
            procedure_code="80053",
            revenue_code=None,
            units=Decimal("1"),
            charge_amount=Decimal("80.00"),
            patient_mrn="MRN00000003",
            facility_code="FAC99",
        ),
        dict(
            claim_common,
            claim_id="C00000005",
            claim_frequency_code="8",
            original_claim_id="C00000004",
            patient_control_number="PCN0000000004",
            encounter_id="V00000003",
            claim_type="P",
            bill_type=None,
            drg_code=None,
            submitted_date="2025-01-14",
            statement_from_date="2025-01-12",
            statement_to_date="2025-01-12",
            line_number=1,
            service_date="2025-01-12",
            procedure_code="80053",
            revenue_code=None,
            units=Decimal("1"),
            charge_amount=Decimal("80.00"),
            patient_mrn="MRN00000003",
            facility_code="FAC99",
        ),
    ]
    _insert(con, "raw_billing.claim_lines", lines, batch="b_fixture_claims")
    # the C1 file landed again by mistake in a second batch: the duplicate lines must not count twice
    _insert(con, "raw_billing.claim_lines", lines[:2], batch="b_fixture_claims_dup")

    # 835: one ST with four CLPs
    st = dict(interchange_control_number="000000001", transaction_set_control_number="0001")
    _insert(
        con,
        "raw_billing.remit_payments",
        [
            dict(
                st,
                group_control_number="1",
                interchange_sender_id="MCR01",
                interchange_receiver_id="F100",
                transaction_handling_code="I",
                payment_amount=Decimal("1100.00"),
                credit_debit_flag="C",
                payment_method="ACH",
                payment_date="2025-01-20",
                trace_number="TRN0001",
                originating_company_id="1MCR01",
                production_date="2025-01-19",
                payer_id="MCR01",
                payer_name="Medicare",
                payee_name="General Hospital",
                payee_npi="1234567893",
                payee_id_qualifier="XX",
                payee_id="1234567893",
                payee_tax_id="371234567",
                claim_count=4,
            ),
        ],
        batch="b_fixture_835",
    )
    clp = dict(
        st,
        trace_number="TRN0001",
        claim_filing_indicator="MA",
        facility_type_code="11",
        patient_family_name="Doe",
        patient_given_name="Jane",
        member_id="1EG4TE5MK72",
    )
    _insert(
        con,
        "raw_billing.remit_claims",
        [
            # C1 paid 1000, contractual 400, PR deductible 100
            dict(
                clp,
                claim_seq=1,
                patient_control_number="PCN0000000001",
                claim_status_code="1",
                total_charge_amount=Decimal("1500.00"),
                payment_amount=Decimal("1000.00"),
                patient_responsibility_amount=Decimal("100.00"),
                payer_claim_control_number="PCCN1",
                claim_frequency_code="1",
                drg_code="247",
                _source_record=10,
            ),
            # C3 (replacement, charge 250) denied: CO-197 authorization 250
            dict(
                clp,
                claim_seq=2,
                patient_control_number="PCN0000000002",
                claim_status_code="4",
                total_charge_amount=Decimal("250.00"),
                payment_amount=Decimal("0.00"),
                patient_responsibility_amount=Decimal("0.00"),
                payer_claim_control_number="PCCN3",
                claim_frequency_code="7",
                _source_record=20,
            ),
            # reversal of C1's payment
            dict(
                clp,
                claim_seq=3,
                patient_control_number="PCN0000000001",
                claim_status_code="22",
                total_charge_amount=Decimal("-1500.00"),
                payment_amount=Decimal("-1000.00"),
                patient_responsibility_amount=Decimal("-100.00"),
                payer_claim_control_number="PCCN1",
                claim_frequency_code="1",
                _source_record=30,
            ),
            # a CLP that matches no claim: paid 100, contractual 0, unknown CARC OA-999 20 (-> other / denial)
            dict(
                clp,
                claim_seq=4,
                patient_control_number="PCN9999999999",
                claim_status_code="1",
                total_charge_amount=Decimal("120.00"),
                payment_amount=Decimal("100.00"),
                patient_responsibility_amount=Decimal("0.00"),
                payer_claim_control_number="PCCN9",
                claim_frequency_code="1",
                _source_record=40,
            ),
        ],
        batch="b_fixture_835",
    )
    cas = dict(st, trace_number="TRN0001", quantity=None)
    _insert(
        con,
        "raw_billing.remit_adjustments",
        [
            dict(
                cas,
                claim_seq=1,
                line_seq=None,
                adjustment_level="claim",
                triplet_seq=1,
                group_code="CO",
                carc_code="45",
                amount=Decimal("400.00"),
                _source_record=11,
            ),
            dict(
                cas,
                claim_seq=1,
                line_seq=None,
                adjustment_level="claim",
                triplet_seq=1,
                group_code="PR",
                carc_code="1",
                amount=Decimal("100.00"),
                _source_record=12,
            ),
            dict(
                cas,
                claim_seq=2,
                line_seq=None,
                adjustment_level="claim",
                triplet_seq=1,
                group_code="CO",
                carc_code="197",
                amount=Decimal("250.00"),
                _source_record=21,
            ),
            dict(
                cas,
                claim_seq=3,
                line_seq=None,
                adjustment_level="claim",
                triplet_seq=1,
                group_code="CO",
                carc_code="45",
                amount=Decimal("-400.00"),
                _source_record=31,
            ),
            dict(
                cas,
                claim_seq=3,
                line_seq=None,
                adjustment_level="claim",
                triplet_seq=1,
                group_code="PR",
                carc_code="1",
                amount=Decimal("-100.00"),
                _source_record=32,
            ),
            dict(
                cas,
                claim_seq=4,
                line_seq=1,
                adjustment_level="line",
                triplet_seq=1,
                group_code="OA",
                carc_code="999",
                amount=Decimal("20.00"),
                _source_record=42,
            ),
        ],
        batch="b_fixture_835",
    )
    _insert(
        con,
        "raw_billing.remit_service_lines",
        [
            dict(
                st,
                trace_number="TRN0001",
                claim_seq=4,
                line_seq=1,
                procedure_qualifier="HC",
                procedure_code="99213",
                modifiers=None,
                charge_amount=Decimal("120.00"),
                payment_amount=Decimal("100.00"),
                revenue_code=None,
                units=Decimal("1"),
                service_date="2025-01-12",
                line_item_control_number="C09999999-1",
                allowed_amount=Decimal("100.00"),
                _source_record=41,
            ),
        ],
        batch="b_fixture_835",
    )
    _insert(
        con,
        "raw_billing.denial_events",
        [
            dict(
                event_id="DE1",
                claim_id="C00000003",
                payer_code="PYR001",
                event_type="denial_received",
                event_date="2025-01-21",
                group_code="CO",
                carc_code="197",
                amount=Decimal("250.00"),
                work_queue="auth",
                note="called payer about Jane",
            ),
            dict(
                event_id="DE2",
                claim_id="C00000003",
                payer_code="PYR001",
                event_type="appeal_filed",
                event_date="2025-01-25",
                group_code="CO",
                carc_code="197",
                amount=Decimal("0.00"),
                work_queue="auth",
                note=None,
            ),
        ],
    )


# What the fixture must produce (checked by tests/unit/dbt/test_fixture_build.py).
EXPECTED = {
    "encounters": {"V00000001": "finished", "V00000002": "in-progress", "V00000003": "cancelled"},
    "gross_charges": Decimal("1750.00"),  # C1 1500 + C3 250; C2 replaced, C4 voided, duplicates ignored
    "daily_reimbursement_2025_01_20": {
        "claim_count": 4,  # 4 CLPs (the reversal counts as a CLP)
        "charge_amount": Decimal("370.00"),
        "payment_amount": Decimal("100.00"),
        "contractual_adjustment_amount": Decimal("0.00"),
        "patient_responsibility_amount": Decimal("0.00"),
        # C3's 250.00 denial; the unmatched CLP's OA:999 (20.00) is a CARC no reference lists:
        # unclassified (account 4960), never counted as a denial
        "denial_amount": Decimal("250.00"),
        "unclassified_adjustment_amount": Decimal("20.00"),
        "out_of_balance_amount": Decimal("0.00"),
    },
}
