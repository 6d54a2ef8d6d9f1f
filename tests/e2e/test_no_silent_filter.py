"""No mart drops a source row silently: raw totals = mart totals + exceptions, per source, to
the cent, on the simulated health system with its faults (docs/data_contracts.md).

Each source is summed in raw (what ingest accepted), in the mart that carries its money, and in
core.fct_data_quality_exceptions (what a data-quality check held out, with its amount). Claim
lines that are not revenue by design (a superseded or voided claim version, a line landed
twice) are named and summed separately, so every raw cent is accounted for. The tie-outs are
defined once in tests/e2e/tieouts.py; tests/e2e/test_realworld.py runs them on public files.
"""

from __future__ import annotations

import duckdb
import pytest
import tieouts
from tieouts import ZERO


@pytest.fixture(scope="module")
def wh(built_warehouse):
    con = duckdb.connect(str(built_warehouse.warehouse), read_only=True)
    yield lambda sql: con.execute(sql).fetchone()[0] or ZERO
    con.close()


def test_835_claim_payments(wh):
    tie = tieouts.remit_claim_payments(wh)
    assert tie.raw > 0
    assert tie.ties, tie


def test_835_adjustments(wh):
    tie = tieouts.remit_adjustments(wh)
    assert tie.raw > 0
    assert tie.ties, tie


def test_835_claims_balance_with_suspense(wh):
    """charge = payment + every CAS bucket + the suspense of out-of-balance CLPs, in the mart."""
    tie = tieouts.remit_claim_charges(wh)
    assert tie.raw > 0
    assert tie.ties, tie


def test_835_plb(wh):
    tie = tieouts.remit_plb(wh)
    assert tie.raw != 0
    assert tie.ties, tie


def test_patient_transactions(wh):
    def raw(types: str):
        return wh(f"select sum(amount) from raw_billing.patient_transactions where transaction_type in ({types})")

    def account(account_id: str):
        return wh(
            "select sum(debit_amount - credit_amount) from marts.mart_erp_journal_lines"
            f" where journal_source = 'patient_transactions' and account_id = '{account_id}'"
        )

    assert raw("'copay', 'payment'") > 0
    assert raw("'copay', 'payment'") - raw("'refund'") == account("1010")
    assert raw("'bad_debt'") == account("4920")
    assert raw("'charity'") == account("4930")
    assert raw("'copay', 'payment', 'bad_debt', 'charity'") - raw("'refund'") == -account("1210")


def test_bank_deposits(wh):
    tie = tieouts.bank_deposits(wh)
    assert tie.raw > 0
    assert tie.ties, tie


def test_claim_charges(wh):
    """Raw claim lines = margin mart gross charges + lines that are not revenue by design
    (duplicate landing, superseded or voided version) + DATE_OUT_OF_RANGE exceptions."""
    tie = tieouts.claim_charges(wh)
    assert tie.raw > 0 and tie.held > 0
    assert tie.ties, tie


def test_every_data_quality_exception_reaches_the_exceptions_mart(wh):
    core = wh("select count(*) from core.fct_data_quality_exceptions")
    mart = wh("select count(*) from marts.mart_reconciliation_exceptions where checkpoint = 'data_quality'")
    assert core == mart
    checks = wh("select count(*) from reference.data_quality_checks")
    assert wh("select count(*) from marts.mart_data_quality_status") == checks
