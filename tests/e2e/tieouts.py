"""Raw totals = mart totals + exceptions, per source, to the cent (docs/data_contracts.md).

One definition of each tie-out, shared by tests/e2e/test_no_silent_filter.py (the simulated
health system) and tests/e2e/test_realworld.py (public real-world sample files). Each function
takes ``wh``, a callable that runs one SQL query on a built warehouse and returns its single
value (``0.00`` for NULL), and returns the three sums of one source: what ingest accepted in
raw, what the mart carrying its money shows, and what is held out of the mart by name (the
data-quality exceptions with their amounts, and rows that are not revenue by design).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

ZERO = Decimal("0.00")
Query = Callable[[str], Decimal]


@dataclass(frozen=True)
class TieOut:
    source: str
    raw: Decimal
    mart: Decimal
    held: Decimal

    @property
    def ties(self) -> bool:
        return self.raw == self.mart + self.held

    def __str__(self) -> str:
        return f"{self.source}: raw {self.raw} vs mart {self.mart} + held {self.held} = {self.mart + self.held}"


def exceptions(wh: Query, check: str) -> Decimal:
    """The amount core.fct_data_quality_exceptions holds under one check."""
    return wh(f"select sum(amount) from core.fct_data_quality_exceptions where check_name = '{check}'")


def remit_claim_payments(wh: Query) -> TieOut:
    return TieOut(
        "835 claim payments",
        wh("select sum(payment_amount) from raw_billing.remit_claims"),
        wh("select sum(payment_amount) from marts.mart_daily_reimbursement"),
        exceptions(wh, "REMIT_NO_DATE"),
    )


def remit_adjustments(wh: Query) -> TieOut:
    return TieOut(
        "835 adjustments",
        wh("select sum(amount) from raw_billing.remit_adjustments"),
        wh(
            "select sum(contractual_adjustment_amount + patient_responsibility_amount + denial_amount"
            " + unclassified_adjustment_amount) from marts.mart_daily_reimbursement"
        ),
        exceptions(wh, "REMIT_ADJUSTMENT_NO_DATE"),
    )


def remit_claim_charges(wh: Query) -> TieOut:
    """charge = payment + every CAS bucket + the suspense of out-of-balance CLPs, in the mart."""
    return TieOut(
        "835 claim charges",
        wh("select sum(total_charge_amount) from raw_billing.remit_claims"),
        wh(
            "select sum(payment_amount + contractual_adjustment_amount + patient_responsibility_amount"
            " + denial_amount + unclassified_adjustment_amount + out_of_balance_amount)"
            " from marts.mart_daily_reimbursement"
        ),
        wh("select sum(charge_amount) from core.fct_remittance_claims where remit_date is null"),
    )


def remit_plb(wh: Query) -> TieOut:
    # the PLB journal debits cash by what each PLB adds to the deposit (- the 835's PLB amount)
    return TieOut(
        "835 PLB",
        wh("select sum(amount) from raw_billing.remit_provider_adjustments"),
        -wh(
            "select sum(debit_amount - credit_amount) from marts.mart_erp_journal_lines"
            " where journal_source = 'remittance_plb' and account_id = '1010'"
        ),
        exceptions(wh, "PLB_NO_DATE"),
    )


def bank_deposits(wh: Query) -> TieOut:
    return TieOut(
        "bank deposits",
        wh("select sum(amount) from raw_bank.bai2_transactions where is_credit"),
        wh("select sum(deposit_amount) from marts.mart_cash_reconciliation_daily"),
        ZERO,
    )


def claim_charges(wh: Query) -> TieOut:
    """Raw claim lines = margin mart gross charges + lines that are not revenue by design
    (duplicate landing, superseded or voided version) + their DATE_OUT_OF_RANGE exceptions."""
    not_revenue = wh(
        """
        select sum(lines.charge_amount)
        from intermediate.int_claim_lines__deduped as lines
        left join intermediate.int_claims__versions as versions on versions.claim_id = lines.claim_id
        where lines.is_duplicate or not versions.is_current_version or versions.is_voided
        """
    )
    return TieOut(
        "claim charges",
        wh("select sum(charge_amount) from raw_billing.claim_lines"),
        wh("select sum(gross_charge_amount) from marts.mart_service_line_margin_monthly"),
        not_revenue
        + exceptions(wh, "DATE_OUT_OF_RANGE")
        - wh(
            "select sum(amount) from core.fct_data_quality_exceptions"
            " where check_name = 'DATE_OUT_OF_RANGE' and source <> 'claim_charges'"
        ),
    )


#: every money source with a tie-out, in the order a report lists them
ALL = (remit_claim_payments, remit_adjustments, remit_claim_charges, remit_plb, bank_deposits, claim_charges)
