"""No mart drops a source row silently: raw totals = mart totals + exceptions, per source, to
the cent, on the simulated health system with its faults (docs/data_contracts.md).

Each source is summed in raw (what ingest accepted), in the mart that carries its money, and in
core.fct_data_quality_exceptions (what a data-quality check held out, with its amount). Claim
lines that are not revenue by design (a superseded or voided claim version, a line landed
twice) are named and summed separately, so every raw cent is accounted for.
"""

from __future__ import annotations

from decimal import Decimal

import duckdb
import pytest

ZERO = Decimal("0.00")


@pytest.fixture(scope="module")
def wh(built_warehouse):
    con = duckdb.connect(str(built_warehouse.warehouse), read_only=True)
    yield lambda sql: con.execute(sql).fetchone()[0] or ZERO
    con.close()


def _exceptions(wh, check: str) -> Decimal:
    return wh(f"select sum(amount) from core.fct_data_quality_exceptions where check_name = '{check}'")


def test_835_claim_payments(wh):
    raw = wh("select sum(payment_amount) from raw_billing.remit_claims")
    mart = wh("select sum(payment_amount) from marts.mart_daily_reimbursement")
    assert raw > 0
    assert raw == mart + _exceptions(wh, "REMIT_NO_DATE")


def test_835_adjustments(wh):
    raw = wh("select sum(amount) from raw_billing.remit_adjustments")
    mart = wh(
        "select sum(contractual_adjustment_amount + patient_responsibility_amount + denial_amount"
        " + unclassified_adjustment_amount) from marts.mart_daily_reimbursement"
    )
    assert raw > 0
    assert raw == mart + _exceptions(wh, "REMIT_ADJUSTMENT_NO_DATE")


def test_835_claims_balance_with_suspense(wh):
    """charge = payment + every CAS bucket + the suspense of out-of-balance CLPs, in the mart."""
    raw = wh("select sum(total_charge_amount) from raw_billing.remit_claims")
    mart = wh(
        "select sum(payment_amount + contractual_adjustment_amount + patient_responsibility_amount"
        " + denial_amount + unclassified_adjustment_amount + out_of_balance_amount)"
        " from marts.mart_daily_reimbursement"
    )
    undated = wh("select sum(charge_amount) from core.fct_remittance_claims where remit_date is null")
    assert raw > 0
    assert raw == mart + undated


def test_835_plb(wh):
    raw = wh("select sum(amount) from raw_billing.remit_provider_adjustments")
    # the PLB journal debits cash by what each PLB adds to the deposit (- the 835's PLB amount)
    mart_cash = wh(
        "select sum(debit_amount - credit_amount) from marts.mart_erp_journal_lines"
        " where journal_source = 'remittance_plb' and account_id = '1010'"
    )
    assert raw != 0
    assert raw == -mart_cash + _exceptions(wh, "PLB_NO_DATE")


def test_patient_transactions(wh):
    def raw(types: str) -> Decimal:
        return wh(f"select sum(amount) from raw_billing.patient_transactions where transaction_type in ({types})")

    def account(account_id: str) -> Decimal:
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
    raw = wh("select sum(amount) from raw_bank.bai2_transactions where is_credit")
    mart = wh("select sum(deposit_amount) from marts.mart_cash_reconciliation_daily")
    assert raw > 0
    assert raw == mart


def test_claim_charges(wh):
    """Raw claim lines = margin mart gross charges + lines that are not revenue by design
    (duplicate landing, superseded or voided version) + DATE_OUT_OF_RANGE exceptions."""
    raw = wh("select sum(charge_amount) from raw_billing.claim_lines")
    mart = wh("select sum(gross_charge_amount) from marts.mart_service_line_margin_monthly")
    not_revenue = wh(
        """
        select sum(lines.charge_amount)
        from intermediate.int_claim_lines__deduped as lines
        left join intermediate.int_claims__versions as versions on versions.claim_id = lines.claim_id
        where lines.is_duplicate or not versions.is_current_version or versions.is_voided
        """
    )
    exceptions = _exceptions(wh, "DATE_OUT_OF_RANGE") - wh(
        "select sum(amount) from core.fct_data_quality_exceptions"
        " where check_name = 'DATE_OUT_OF_RANGE' and source <> 'claim_charges'"
    )
    assert raw > 0 and not_revenue > 0
    assert raw == mart + not_revenue + exceptions


def test_every_data_quality_exception_reaches_the_exceptions_mart(wh):
    core = wh("select count(*) from core.fct_data_quality_exceptions")
    mart = wh("select count(*) from marts.mart_reconciliation_exceptions where checkpoint = 'data_quality'")
    assert core == mart
    checks = wh("select count(*) from reference.data_quality_checks")
    assert wh("select count(*) from marts.mart_data_quality_status") == checks
