"""A corrected claim flows through (#23): a claims export re-sent with one line's charge changed
(+100.00) supersedes the first load, and the posting ledger posts the adjustment.

The real pipeline on a small simulated health system: land, dbt build, publish erp (json);
re-send the claims file with one line changed; land, build, publish again. The raw layer holds
both landings, the latest counts (history kept in int_claim_lines__deduped), the exceptions mart
names the correction with its +100.00, the ledger holds one reversal that negates the original
journal line for line and one replacement whose difference is exactly the +100.00 of gross
charges (and the contractual reserve that follows from it), and the marts move by +100.00."""

from __future__ import annotations

import os
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from careledger.ingest.run import ingest_paths
from careledger.orchestration.dbt_runner import run_dbt
from careledger.publish.erp import publish_erp
from careledger.simulator.simulator import synthesize

pytestmark = pytest.mark.e2e

CENT = Decimal("0.01")
CHANGE = Decimal("100.00")


def D(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT)


class Pipeline:
    def __init__(self, root: Path) -> None:
        self.landing = root / "landing"
        self.home = root / "home"
        self.home.mkdir(parents=True)
        self.warehouse = self.home / "warehouse.duckdb"
        self.out = root / "exports"
        self.target = root / "dbt_target"

    def land(self, *paths: Path) -> None:
        report = ingest_paths(self.warehouse, list(paths))
        assert not [f for f in report.files if f.status == "failed"]

    def build(self, *select: str) -> None:
        previous = os.environ.get("CARELEDGER_HOME")
        selection = ["--select", *select, "--indirect-selection", "cautious"] if select else []
        try:
            run_dbt(["build", *selection, "--target-path", str(self.target)], home=self.home)
        finally:
            if previous is None:
                os.environ.pop("CARELEDGER_HOME", None)
            else:
                os.environ["CARELEDGER_HOME"] = previous

    def publish(self):
        return publish_erp(self.warehouse, "json", self.out)

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        con = duckdb.connect(str(self.warehouse), read_only=True)
        try:
            return con.execute(sql, params or []).fetchall()
        finally:
            con.close()

    def one(self, sql: str, params: list | None = None):
        [(value,)] = self.query(sql, params)
        return value


@pytest.fixture(scope="module")
def corrected(tmp_path_factory):
    p = Pipeline(tmp_path_factory.mktemp("claim_corrections"))
    synthesize(p.landing, encounters=120, seed=23, faults=0.0)
    p.land(p.landing)
    p.build("+mart_erp_journal_lines", "+mart_service_line_margin_monthly")  # what the first publish needs
    first = p.publish()
    assert first.journals > 0 and first.reversals == 0
    before = _snapshot(p)
    # a posted, not yet remitted claim line: only its month-end accrual journal can change
    claim_id, line_number, charge, source_file = p.query(
        """
        select c.claim_id, c.line_number, c.charge_amount, raw._source_file
        from core.fct_charges as c
        inner join core.dim_accounting_period as periods on periods.period_id = c.period_id
        inner join raw_billing.claim_lines as raw on raw.claim_id = c.claim_id and raw.line_number = c.line_number
        where c.charge_amount > 0
            and c.claim_id not in (select claim_id from core.fct_remittance_claims where claim_id is not null)
            and exists (
                select 1 from publish.posting_ledger as l
                where l.journal_source = 'month_end_accrual' and l.status = 'posted'
                    and l.facility_id = c.facility_id and l.posting_date = periods.period_end_date
            )
        order by c.claim_id, c.line_number
        limit 1
        """
    )[0]
    resent = _resend(Path(source_file), claim_id, line_number, D(charge), D(charge) + CHANGE)
    p.land(resent)
    p.build()  # everything, tests included: no mart may be held back by the correction
    second = p.publish()
    third = p.publish()
    return p, before, second, third, (claim_id, line_number, D(charge), resent)


def _snapshot(p: Pipeline) -> dict[str, Decimal]:
    return {
        "fct_charges": D(p.one("select sum(charge_amount) from core.fct_charges")),
        "margin_gross": D(p.one("select sum(gross_charge_amount) from marts.mart_service_line_margin_monthly")),
        "raw": D(p.one("select sum(charge_amount) from raw_billing.claim_lines")),
    }


def _resend(source: Path, claim_id: str, line_number: int, old: Decimal, new: Decimal) -> Path:
    """The same export again, one line's charge changed (the rest byte for byte)."""
    lines = source.read_text().splitlines()
    header = lines[0].split(",")
    cid, ln, amount = header.index("claim_id"), header.index("line_number"), header.index("charge_amount")
    changed = 0
    for i, text in enumerate(lines[1:], start=1):
        fields = text.split(",")
        if fields[cid] == claim_id and int(fields[ln]) == line_number:
            assert D(fields[amount]) == old
            fields[amount] = f"{new:.2f}"
            lines[i] = ",".join(fields)
            changed += 1
    assert changed == 1
    target = source.with_name(source.stem + "_corrected.csv")
    target.write_text("\n".join(lines) + "\n")
    return target


def test_raw_keeps_both_landings_and_the_latest_counts(corrected) -> None:
    p, before, _, _, (claim_id, line_number, charge, _) = corrected
    landings = p.query(
        "select charge_amount, is_duplicate, is_replaced, landing_number from intermediate.int_claim_lines__deduped"
        " where claim_id = ? and line_number = ? order by landing_number",
        [claim_id, line_number],
    )
    assert landings == [(charge, True, True, 1), (charge + CHANGE, False, False, 2)]
    counted = p.one(
        "select charge_amount from core.fct_charges where claim_id = ? and line_number = ?", [claim_id, line_number]
    )
    assert D(counted) == charge + CHANGE
    # the other lines of the re-sent file are exact repeats: counted once, no exception
    assert p.query(
        "select check_name, amount from core.fct_data_quality_exceptions where check_name like 'CLAIM_LINE_%'"
    ) == [("CLAIM_LINE_CORRECTED", CHANGE)]
    assert p.one("select count(*) from raw_meta.validation_findings where rule = 'DUPLICATE_KEY_CONFLICT'") == 0


def test_marts_follow_the_correction(corrected) -> None:
    p, before, _, _, (_, _, charge, resent) = corrected
    after = _snapshot(p)
    assert after["fct_charges"] - before["fct_charges"] == CHANGE
    assert after["margin_gross"] - before["margin_gross"] == CHANGE
    # raw holds the whole re-sent file again: raw = counted charges + the landings not counted
    resent_total = D(
        p.one("select sum(charge_amount) from raw_billing.claim_lines where _source_file = ?", [str(resent)])
    )
    assert after["raw"] - before["raw"] == resent_total
    not_counted = D(
        p.one(
            """
            select sum(lines.charge_amount)
            from intermediate.int_claim_lines__deduped as lines
            left join intermediate.int_claims__versions as versions on versions.claim_id = lines.claim_id
            where lines.is_duplicate or not versions.is_current_version or versions.is_voided
            """
        )
    )
    assert after["raw"] == after["margin_gross"] + not_counted


def _lines(p: Pipeline, journal_id: str) -> dict[str, Decimal]:
    net: dict[str, Decimal] = defaultdict(Decimal)
    for account, amount in p.query(
        "select account_id, sum(debit_amount - credit_amount) from publish.posting_ledger_lines"
        " where target = 'json' and journal_id = ? group by account_id",
        [journal_id],
    ):
        net[account] += D(amount)
    return dict(net)


def test_the_ledger_posts_a_reversal_and_the_replacement(corrected) -> None:
    p, _, second, third, _ = corrected
    assert (second.reversals, second.replacements) == (1, 1)
    assert third.new_ledger_rows == 0 and third.files == []
    [(original, reversal, replacement)] = p.query(
        """
        select o.journal_id, r.journal_id, n.journal_id
        from publish.posting_ledger as o
        inner join publish.posting_ledger as r on r.reverses_journal_id = o.journal_id and r.posting_type = 'reversal'
        inner join publish.posting_ledger as n on n.original_journal_id = o.journal_id
            and n.posting_type = 'replacement'
        where o.target = 'json' and o.journal_source = 'month_end_accrual'
        """
    )
    assert p.one("select status from publish.posting_ledger where journal_id = ?", [original]) == "reversed"
    old, rev, new = _lines(p, original), _lines(p, reversal), _lines(p, replacement)
    assert rev == {a: -v for a, v in old.items()}
    diff = {a: new.get(a, Decimal(0)) - old.get(a, Decimal(0)) for a in set(old) | set(new)}
    diff = {a: v for a, v in diff.items() if v}
    roles = dict(p.query("select account_id, role from reference.account_roles"))
    by_role: dict[str, Decimal] = defaultdict(Decimal)
    for account, amount in diff.items():
        by_role[roles[account]] += amount
    # exactly the +100.00 of gross charges: Dr payer A/R, Cr revenue; the reserve follows it
    assert by_role["payer_ar"] == CHANGE
    assert by_role["revenue"] == -CHANGE
    assert set(by_role) <= {"payer_ar", "revenue", "contractual_allowance", "contractual_reserve"}
    assert by_role.get("contractual_allowance", Decimal(0)) == -by_role.get("contractual_reserve", Decimal(0))
    assert sum(diff.values()) == 0
