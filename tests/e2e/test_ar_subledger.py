"""The claim-level A/R subledger and its aging against the simulator's ground truth, to the cent.

Runs on the session's ``built_warehouse`` (faulted simulated system -> ingest -> dbt build).
The simulator computes every claim chain's balance at every period end from its own records
(charges, expected reimbursement, the 835 claim payments that landed) by the rules of
docs/accounting_policy.md; the warehouse must agree on every row: gross, reserve, net, the two
ages, the billed flag, and the aging buckets per payer and payer class on both bases.
"""

from __future__ import annotations

import csv
import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

BUCKETS = ("0_30", "31_60", "61_90", "91_120", "121_180", "over_180", "unbilled")
AGING_AMOUNTS = tuple(f"ar_{b}_amount" for b in BUCKETS) + (
    "gross_balance_amount",
    "billed_ar_amount",
    "billed_ar_over_90_amount",
)


def _truth(built_warehouse, name: str) -> list[dict[str, str]]:
    path: Path = built_warehouse.ground_truth_dir / name
    assert path.exists(), f"ground truth file {path} is missing"
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows, f"ground truth {name} is empty"
    return rows


def _int(value: str) -> int | None:
    return None if value == "" else int(value)


@pytest.fixture(scope="module")
def con(built_warehouse, tmp_path_factory):
    target = tmp_path_factory.mktemp("ar_subledger") / "warehouse.duckdb"
    shutil.copy2(built_warehouse.warehouse, target)
    wal = built_warehouse.warehouse.with_name(built_warehouse.warehouse.name + ".wal")
    if wal.exists():
        shutil.copy2(wal, target.with_name(target.name + ".wal"))
    with duckdb.connect(str(target), read_only=True) as connection:
        yield connection


def test_every_claim_balance_at_every_period_end_equals_ground_truth(con, built_warehouse) -> None:
    truth = {
        (r["period_id"], r["claim_id"]): (
            r["current_claim_id"],
            r["legal_entity_id"],
            r["facility_id"],
            r["payer_code"],
            r["payer_class"],
            r["service_line_code"],
            r["discharge_date"],
            r["bill_date"],
            r["is_billed"] == "true",
            int(r["days_outstanding_from_discharge"]),
            _int(r["days_outstanding_from_bill"]),
            Decimal(r["gross_balance_amount"]),
            Decimal(r["reserve_balance_amount"]),
            Decimal(r["net_balance_amount"]),
        )
        for r in _truth(built_warehouse, "ar_subledger.csv")
    }
    rows = con.execute(
        """
        select period_id, claim_id, current_claim_id, legal_entity_id, facility_id, payer_code, payer_class,
            service_line_code, cast(discharge_date as varchar), cast(bill_date as varchar), is_billed,
            days_outstanding_from_discharge, days_outstanding_from_bill,
            gross_balance_amount, reserve_balance_amount, net_balance_amount
        from marts.mart_ar_subledger
        """
    ).fetchall()
    got = {(r[0], r[1]): tuple(r[2:]) for r in rows}
    assert len(got) == len(rows), "mart_ar_subledger has duplicate claim x period rows"
    missing = sorted(set(truth) - set(got))
    extra = sorted(set(got) - set(truth))
    assert not missing and not extra, f"rows missing {missing[:5]} ({len(missing)}), extra {extra[:5]} ({len(extra)})"
    wrong = {k: (got[k], truth[k]) for k in truth if got[k] != truth[k]}
    assert not wrong, f"{len(wrong)} claim balances differ (got, truth): {list(wrong.items())[:3]}"
    # the faulted system has credit balances (voids paid before their reversal) and DNFB rows
    assert any(v[8] is False for v in truth.values()), "no DNFB row in the ground truth: the test lost its edge"


def test_every_aging_bucket_equals_ground_truth(con, built_warehouse) -> None:
    truth = {
        (r["period_id"], r["aging_basis"], r["payer_code"], r["payer_class"]): (
            int(r["claim_count"]),
            *(Decimal(r[c]) for c in AGING_AMOUNTS),
        )
        for r in _truth(built_warehouse, "ar_aging.csv")
    }
    rows = con.execute(
        f"""
        select period_id, aging_basis, payer_code, payer_class, claim_count, {", ".join(AGING_AMOUNTS)}
        from marts.mart_ar_aging
        """
    ).fetchall()
    got = {r[:4]: tuple(r[4:]) for r in rows}
    assert got == truth


def test_aging_buckets_add_up_and_hfma_ratios(con) -> None:
    """Buckets + unbilled = gross on every row; AR-2 and AR-1 are the documented ratios."""
    bad = con.execute(
        f"""
        select period_id, aging_basis, payer_code
        from marts.mart_ar_aging
        where {" + ".join(f"ar_{b}_amount" for b in BUCKETS)} <> gross_balance_amount
            or (aging_basis = 'discharge' and ar_unbilled_amount <> 0)
            or ar2_aged_over_90_pct is distinct from case when billed_ar_amount <> 0
                then round(billed_ar_over_90_amount / billed_ar_amount, 4) end
        """
    ).fetchall()
    assert not bad, bad
    ar1 = con.execute(
        """
        select period_id, aging_basis, max(ar1_aged_over_90_pct),
            round(sum(billed_ar_over_90_amount) / nullif(sum(billed_ar_amount), 0), 4)
        from marts.mart_ar_aging group by 1, 2
        """
    ).fetchall()
    assert all(r[2] == r[3] for r in ar1), ar1


def test_dnfb_equals_ground_truth(con, built_warehouse) -> None:
    truth = {
        (r["period_id"], r["facility_id"]): (
            int(r["claim_count"]),
            Decimal(r["unbilled_charge_amount"]),
            Decimal(r["unbilled_expected_reimbursement_amount"]),
        )
        for r in _truth(built_warehouse, "dnfb.csv")
    }
    rows = con.execute(
        """
        select period_id, facility_id, count(*), sum(charges_to_date_amount), sum(expected_reimbursement_amount)
        from marts.mart_ar_subledger where not is_billed group by 1, 2
        """
    ).fetchall()
    assert {(r[0], r[1]): (r[2], r[3], r[4]) for r in rows} == truth


def test_unbilled_ar_in_the_gl_equals_ground_truth_dnfb(con, built_warehouse) -> None:
    """The DNFB accrual (docs/accounting_policy.md section 1a): at every period end the GL's
    unbilled A/R (role unbilled_ar, 1250) of each facility is the simulator's DNFB gross charges
    (claims discharged by then and billed after it), so every accrual was reversed in the period
    its claim was billed; and the journals accrue and reverse the same charges."""
    truth = {
        (r["period_id"], r["facility_id"]): Decimal(r["unbilled_charge_amount"])
        for r in _truth(built_warehouse, "dnfb.csv")
    }
    rows = con.execute(
        """
        with periods as (select period_id, period_end_date from core.dim_accounting_period)
        select periods.period_id, lines.facility_id, sum(lines.debit_amount - lines.credit_amount)
        from marts.mart_erp_journal_lines as lines
        inner join reference.account_roles as roles on roles.account_id = lines.account_id
        inner join periods on lines.posting_date <= periods.period_end_date
        where roles.role = 'unbilled_ar' and lines.facility_id <> 'UNMAPPED'
        group by 1, 2
        """
    ).fetchall()
    got = {(p, f): amount for p, f, amount in rows if amount != 0}
    assert truth, "the faulted system has DNFB claims"
    assert got == truth
    # accruals debit 1250, reversals credit it; what is accrued and not reversed is the DNFB at
    # the last period end
    ((accrued, reversed_),) = con.execute(
        """
        select sum(lines.debit_amount), sum(lines.credit_amount)
        from marts.mart_erp_journal_lines as lines
        inner join reference.account_roles as roles on roles.account_id = lines.account_id
        where roles.role = 'unbilled_ar' and lines.facility_id <> 'UNMAPPED'
        """
    ).fetchall()
    (still_unbilled,) = con.execute(
        "select coalesce(sum(charges_to_date_amount), 0) from marts.mart_ar_subledger where not is_billed "
        "and facility_id <> 'UNMAPPED' and period_id = (select max(period_id) from core.dim_accounting_period)"
    ).fetchone()
    assert accrued > 0 and reversed_ > 0
    assert accrued - reversed_ == still_unbilled


def test_expected_reimbursement_and_reserve_per_claim_equal_ground_truth(con, built_warehouse) -> None:
    truth = {
        r["claim_id"]: (Decimal(r["charge_amount"]), Decimal(r["contractual_reserve_amount"]))
        for r in _truth(built_warehouse, "expected_reimbursement.csv")
        if r["facility_id"] != "UNMAPPED" and Decimal(r["charge_amount"]) != 0
    }
    rows = con.execute(
        """
        select claim_id, sum(charge_amount), sum(reserve_booked_amount)
        from core.fct_ar_claim_transactions
        where transaction_type = 'charge' and is_placed
        group by 1
        """
    ).fetchall()
    assert {r[0]: (r[1], r[2]) for r in rows} == truth


def test_nothing_vanishes_between_transactions_subledger_and_exceptions(con) -> None:
    """Every claim transaction's A/R is in the subledger at the last period end or an AR_UNPLACED exception."""
    (all_gross,) = con.execute("select sum(gross_change_amount) from core.fct_ar_claim_transactions").fetchone()
    (ledger,) = con.execute(
        """
        select coalesce(sum(gross_balance_amount), 0) from marts.mart_ar_subledger
        where period_id = (select max(period_id) from core.dim_accounting_period)
        """
    ).fetchone()
    (unplaced, n_unplaced) = con.execute(
        "select coalesce(sum(amount), 0), count(*) from marts.mart_reconciliation_exceptions where reason_code = 'AR_UNPLACED'"
    ).fetchone()
    assert n_unplaced > 0, "the faulted system has unmapped facilities: expected AR_UNPLACED exceptions"
    assert ledger + unplaced == all_gross


def test_subledger_carries_no_patient_level_data(con) -> None:
    columns = {
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = 'marts' and table_name in ('mart_ar_subledger', 'mart_ar_aging')"
        ).fetchall()
    }
    phi = {"patient_key", "patient_mrn", "mrn", "member_id", "patient_control_number", "birth_date", "encounter_id"}
    assert columns and not columns & phi


def test_subledger_equals_gl_ar_at_every_period_end(con) -> None:
    """The A/R subledger ties to the GL at every period end, per facility, to the cent: the net
    debit of the payer_ar and contractual_reserve accounts in the journals posted on or before
    the period end = the subledger's net (gross - reserve) + what the subledger does not carry
    at claim level, each of them visible elsewhere: PLB recoupments (provider-level, against
    payer A/R), 835 CLPs that match no claim (REMIT_NO_CLAIM) and claims that cannot be placed
    (AR_UNPLACED). Patient A/R (1210) is not in the claim subledger. The journals release the
    reserve by the subledger's rule (fct_contractual_reserve_events reads
    fct_ar_claim_transactions), so a difference here is a second release rule or a lost row."""
    rows = con.execute(
        """
        with periods as (
            select period_id, period_end_date from core.dim_accounting_period
        ),
        gl as (
            select journal_lines.facility_id, periods.period_id,
                sum(journal_lines.debit_amount - journal_lines.credit_amount) as amount
            from marts.mart_erp_journal_lines as journal_lines
            inner join reference.account_roles as roles on roles.account_id = journal_lines.account_id
            inner join periods on journal_lines.posting_date <= periods.period_end_date
            where roles.role in ('payer_ar', 'unbilled_ar', 'contractual_reserve')
            group by 1, 2
        ),
        subledger as (
            select facility_id, period_id, sum(net_balance_amount) as amount
            from marts.mart_ar_subledger group by 1, 2
        ),
        outside as (
            select movements.facility_id, movements.movement_date as posting_date, movements.net_change_amount as amount
            from core.fct_ar_rollforward_movements as movements
            where movements.movement_source = 'plb_recoupment'
                or (movements.movement_source = 'remittance' and movements.source_id in (
                    select remit_claim_key from core.fct_remittance_claims where not is_matched
                ))
            union all
            select facility_id, posting_date, gross_change_amount - reserve_change_amount as amount
            from core.fct_ar_claim_transactions where not is_placed
        ),
        outside_to_date as (
            select outside.facility_id, periods.period_id, sum(outside.amount) as amount
            from outside inner join periods on outside.posting_date <= periods.period_end_date
            group by 1, 2
        )
        select
            coalesce(gl.facility_id, subledger.facility_id) as facility_id,
            coalesce(gl.period_id, subledger.period_id) as period_id,
            coalesce(gl.amount, 0) as gl_amount,
            coalesce(subledger.amount, 0) as subledger_amount,
            coalesce(outside_to_date.amount, 0) as outside_amount
        from gl
        full join subledger on subledger.facility_id = gl.facility_id and subledger.period_id = gl.period_id
        left join outside_to_date
            on outside_to_date.facility_id = coalesce(gl.facility_id, subledger.facility_id)
            and outside_to_date.period_id = coalesce(gl.period_id, subledger.period_id)
        order by 1, 2
        """
    ).fetchall()
    assert len({r[1] for r in rows}) >= 3, "expected the simulated system to span at least three period ends"
    assert sum(1 for r in rows if r[3] != 0) >= 10, "expected subledger balances at several facility-period ends"
    breaks = [r for r in rows if r[2] != r[3] + r[4]]
    assert not breaks, (
        "GL A/R (payer_ar + contractual_reserve) != subledger net + PLB/unmatched/unplaced: "
        + "; ".join(f"{f} {p}: GL {gl} vs subledger {sub} + {out}" for f, p, gl, sub, out in breaks)
    )
