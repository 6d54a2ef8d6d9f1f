"""Ground truth: what a correct pipeline must reproduce from the landing folder.

Computed from the very frames that were written, after removing what a correct pipeline
skips (duplicate files and records) or quarantines (malformed records), and mapping codes
only through the crosswalk rows and seeds that were actually written.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import polars as pl

from careledger.simulator.reference import UNMAPPED, Reference, money

MONEY = [
    "charge_amount",
    "payment_amount",
    "contractual_adjustment_amount",
    "patient_responsibility_amount",
    "denial_amount",
]


def claim_dimensions(
    claims: pl.DataFrame,
    landed_lines: pl.DataFrame,
    *,
    crosswalk: pl.DataFrame,
    cost_centers: pl.DataFrame,
    payers: pl.DataFrame,
    ref: Reference,
) -> pl.DataFrame:
    """facility_id, payer_class and service_line_code of every claim, by the contract rules."""
    loc = crosswalk.filter((pl.col("entity") == "location") & (pl.col("source_system") == "billing")).select(
        pl.col("source_code").alias("facility_code"), pl.col("target_code").alias("facility_id")
    )
    dept = crosswalk.filter((pl.col("entity") == "department") & (pl.col("source_system") == "billing")).select(
        pl.col("source_code").alias("department_code"), pl.col("target_code").alias("ehr_department")
    )
    dcc = crosswalk.filter(pl.col("entity") == "department_cost_center").select(
        pl.col("source_code").alias("ehr_department"), pl.col("target_code").alias("cost_center_id")
    )
    cc_sl = cost_centers.select("cost_center_id", pl.col("service_line_code").alias("sl_rule3"))
    drg_sl = ref.ms_drgs.select("drg_code", pl.col("service_line_code").alias("sl_rule1"))
    first = landed_lines.filter(pl.col("line_number") == 1).select("claim_idx", "procedure_code")
    first = first.with_columns(sl_rule2=ref.procedure_service_line(first["procedure_code"]))
    d = (
        claims.select("claim_idx", "facility_code", "department_code", "drg_code", "payer_idx", "claim_type")
        .join(loc, on="facility_code", how="left", maintain_order="left")
        .join(dept, on="department_code", how="left", maintain_order="left")
        .join(dcc, on="ehr_department", how="left", maintain_order="left")
        .join(cc_sl, on="cost_center_id", how="left", maintain_order="left")
        .join(drg_sl, on="drg_code", how="left", maintain_order="left")
        .join(first.select("claim_idx", "sl_rule2"), on="claim_idx", how="left", maintain_order="left")
        .join(payers.select("payer_idx", "payer_class"), on="payer_idx", how="left", maintain_order="left")
    )
    rule1 = pl.when(pl.col("claim_type") == "I").then(pl.col("sl_rule1"))
    return d.select(
        "claim_idx",
        facility_id=pl.col("facility_id").fill_null(UNMAPPED),
        payer_class="payer_class",
        service_line_code=pl.coalesce(rule1, pl.col("sl_rule2"), pl.col("sl_rule3"), pl.lit(UNMAPPED)),
        cost_center_id=pl.col("cost_center_id").fill_null(UNMAPPED),
    )


def counted_claims(claims: pl.DataFrame) -> pl.DataFrame:
    """Claims whose charges count: not voids, and not superseded by an exported freq 7/8."""
    superseded = claims.filter(pl.col("freq") > 1).select(pl.col("original_claim_id").alias("claim_id"))
    return claims.filter(pl.col("freq") != 8).join(superseded, on="claim_id", how="anti")


def _claim_charges(claims: pl.DataFrame, landed_lines: pl.DataFrame, dims: pl.DataFrame) -> pl.DataFrame:
    """One row per counted claim with landed lines: charge and expected reimbursement (cents)."""
    c = counted_claims(claims).select("claim_idx", "statement_to_date", "enc_class", "ip_expected_cents")
    per_claim = (
        landed_lines.join(c.select("claim_idx"), on="claim_idx", how="semi")
        .group_by("claim_idx")
        .agg(
            pl.len().alias("line_count"),
            pl.col("charge_cents").sum().alias("charge"),
            pl.col("expected_cents").sum().alias("line_expected"),
        )
    )
    return (
        c.join(per_claim, on="claim_idx", how="inner", maintain_order="left")
        .join(dims, on="claim_idx", how="left", maintain_order="left")
        .with_columns(
            expected=pl.when(pl.col("enc_class") == "IMP")
            .then(pl.col("ip_expected_cents"))
            .otherwise(pl.col("line_expected"))
        )
    )


def charges_daily(claims: pl.DataFrame, landed_lines: pl.DataFrame, dims: pl.DataFrame) -> pl.DataFrame:
    x = _claim_charges(claims, landed_lines, dims)
    return (
        x.group_by("statement_to_date", "facility_id", "payer_class", "service_line_code")
        .agg(
            pl.len().alias("claim_count"),
            pl.col("line_count").sum(),
            pl.col("charge").sum(),
            pl.col("expected").sum(),
        )
        .sort("statement_to_date", "facility_id", "payer_class", "service_line_code", maintain_order=True)
    )


def _chain_roots(claims: pl.DataFrame) -> pl.DataFrame:
    """claim_idx -> root_idx: the original (frequency 1) claim of its chain."""
    roots = claims.filter(pl.col("freq") == 1).select("orig_row", pl.col("claim_idx").alias("root_idx"))
    return claims.select("claim_idx", "orig_row").join(roots, on="orig_row", how="left", maintain_order="left")


def claim_reserves(claims: pl.DataFrame, landed_lines: pl.DataFrame, dims: pl.DataFrame) -> pl.DataFrame:
    """The contractual reserve of every chain (docs/accounting_policy.md section 1): gross
    charges - expected reimbursement of its counted claim, booked at the end of the period of
    the statement-to date (cents), with the chain's bill date (its first submission)."""
    bills = claims.group_by("orig_row").agg(pl.col("submitted_date").min().alias("bill_date"))
    x = (
        _claim_charges(claims, landed_lines, dims)
        .join(_chain_roots(claims).select("claim_idx", "root_idx", "orig_row"), on="claim_idx", how="left")
        .join(bills, on="orig_row", how="left", maintain_order="left")
    )
    return x.select(
        "claim_idx",
        "root_idx",
        "facility_id",
        "service_line_code",
        "cost_center_id",
        "statement_to_date",
        "bill_date",
        "charge",
        "expected",
        reserve=pl.col("charge") - pl.col("expected"),
    )


def posting_order(landed_instances: pl.DataFrame) -> pl.Expr:
    """The order of a chain's CLPs within a remit date (docs/accounting_policy.md section 2):
    0 for a reversal of an earlier CLP (or of one that never landed), 1 for an adjudication,
    2 for a reversal of a CLP that landed with the same remit date, which posts after it (the
    warehouse links a reversal to its original by CLP01 + CLP07; the simulator by the instance
    it reverses)."""
    same_day = landed_instances.select(
        pl.col("inst_id").alias("reversed_inst_id"), pl.col("remit_date").alias("_reversed_remit_date")
    )
    reversed_dates = landed_instances.select("inst_id", "reversed_inst_id").join(
        same_day, on="reversed_inst_id", how="left", maintain_order="left"
    )
    lookup = dict(
        zip(reversed_dates["inst_id"].to_list(), reversed_dates["_reversed_remit_date"].to_list(), strict=True)
    )
    return (
        pl.when(pl.col("kind") != "reversal")
        .then(1)
        .when(pl.col("inst_id").replace_strict(lookup, default=None, return_dtype=pl.Date) == pl.col("remit_date"))
        .then(2)
        .otherwise(0)
    )


def reserve_events(landed_instances: pl.DataFrame, claims: pl.DataFrame, reserves: pl.DataFrame) -> pl.DataFrame:
    """Per 835 instance (CLP): the reserve it releases and the true-up (section 2 of the policy).

    A chain's reserve stands released while an adjudication stands: a running count of
    adjudications (+1) and reversals (-1), in remit-date order (:func:`posting_order` within a
    day: reversals of earlier CLPs first, a reversal of a CLP paid that day after it), floored
    at 0 (a reversal with nothing standing re-establishes nothing), is at least one; each CLP
    releases the change of that state times the chain's reserve. The same rule as
    ``ar_subledger``, so the journals and the subledger release the same amounts. The true-up
    is the CLP's contractual adjustment minus what it released."""
    x = (
        landed_instances.select("inst_id", "claim_idx", "kind", "remit_date", "contractual")
        .with_columns(_ko=posting_order(landed_instances))
        .join(_chain_roots(claims).select("claim_idx", "root_idx"), on="claim_idx", how="left", maintain_order="left")
        .join(reserves.select("root_idx", "reserve"), on="root_idx", how="left", maintain_order="left")
        .with_columns(step=pl.when(pl.col("kind") == "reversal").then(-1).otherwise(1))
        .sort("root_idx", "remit_date", "_ko", "inst_id", maintain_order=True)
        .with_columns(running=pl.col("step").cum_sum().over("root_idx"))
        .with_columns(lowest=pl.col("running").cum_min().over("root_idx").clip(upper_bound=0))
        .with_columns(state=((pl.col("running") - pl.col("lowest")) >= 1).cast(pl.Int64))
        .with_columns(delta=pl.col("state") - pl.col("state").shift(1, fill_value=0).over("root_idx"))
        .with_columns(release=pl.col("delta") * pl.col("reserve").fill_null(0))
        .with_columns(true_up=pl.col("contractual") - pl.col("release"))
    )
    return x.select("inst_id", "release", "true_up").sort("inst_id", maintain_order=True)


def provider_adjustments(
    transactions: pl.DataFrame, instance_st: pl.DataFrame, landed_instances: pl.DataFrame, dims: pl.DataFrame
) -> pl.DataFrame:
    """Cash effect of each landed ERA's PLB adjustments by measure (section 3 of the policy):
    L6 interest -> plb_interest, FB forward balance -> plb_recoupment; on the facility most of
    the ERA's mapped claims belong to (ties: the smallest id)."""
    if transactions.height == 0:  # no remittances were written
        return pl.DataFrame(
            schema={"remit_date": pl.Date, "facility_id": pl.Utf8, "measure": pl.Utf8, "cash": pl.Int64}
        )
    st = transactions.filter(~pl.col("faulted"))
    fac = (
        instance_st.join(landed_instances.select("inst_id", "claim_idx"), on="inst_id", how="inner")
        .join(dims.select("claim_idx", "facility_id"), on="claim_idx", how="left", maintain_order="left")
        .filter(pl.col("facility_id").is_not_null() & (pl.col("facility_id") != UNMAPPED))
        .group_by("file", "st_index", "facility_id")
        .agg(pl.len().alias("n"))
        .sort("file", "st_index", pl.col("n"), "facility_id", descending=[False, False, True, False])
        .group_by("file", "st_index", maintain_order=True)
        .first()
        .select("file", "st_index", "facility_id")
    )
    st = st.join(fac, on=["file", "st_index"], how="left", maintain_order="left").with_columns(
        pl.col("facility_id").fill_null(UNMAPPED)
    )
    parts = [
        st.filter(pl.col("interest") != 0).select(
            "remit_date", "facility_id", measure=pl.lit("plb_interest"), cash=-pl.col("interest")
        ),
        st.filter(pl.col("fb") != 0).select(
            "remit_date", "facility_id", measure=pl.lit("plb_recoupment"), cash=-pl.col("fb")
        ),
    ]
    return pl.concat(parts).sort("remit_date", "facility_id", "measure", maintain_order=True)


def patient_postings(tx: pl.DataFrame, claims: pl.DataFrame, dims: pl.DataFrame) -> pl.DataFrame:
    """Patient transactions with the claim's facility, service line and cost center and their
    measure: patient_payment (copay, payment), bad_debt, charity (section 4 of the policy)."""
    return (
        tx.join(claims.select("claim_id", "claim_idx"), on="claim_id", how="left", maintain_order="left")
        .join(dims, on="claim_idx", how="left", maintain_order="left")
        .select(
            "transaction_date",
            facility_id=pl.col("facility_id").fill_null(UNMAPPED),
            service_line_code=pl.col("service_line_code").fill_null(UNMAPPED),
            cost_center_id=pl.col("cost_center_id").fill_null(UNMAPPED),
            measure=pl.col("transaction_type").replace(
                {"copay": "patient_payment", "payment": "patient_payment", "refund": "patient_refund"}
            ),
            amount=pl.col("amount_cents"),
        )
    )


def daily_reimbursement(landed_instances: pl.DataFrame, dims: pl.DataFrame) -> pl.DataFrame:
    x = landed_instances.join(dims, on="claim_idx", how="left", maintain_order="left")
    return (
        x.group_by("remit_date", "facility_id", "payer_class", "service_line_code")
        .agg(
            pl.len().alias("claim_count"),
            pl.col("charge").sum(),
            pl.col("paid").sum(),
            pl.col("contractual").sum(),
            pl.col("patient_resp").sum(),
            pl.col("denial").sum(),
        )
        .sort("remit_date", "facility_id", "payer_class", "service_line_code", maintain_order=True)
    )


def denials_by_category(landed_units: pl.DataFrame, carc: pl.DataFrame) -> pl.DataFrame:
    u = landed_units.filter(pl.col("denied") & (pl.col("denial") > 0))
    u = u.join(
        carc.select(pl.col("group_code").alias("den_group"), pl.col("carc_code").alias("den_carc"), pl.col("category")),
        on=["den_group", "den_carc"],
        how="left",
        maintain_order="left",
    ).with_columns(pl.col("category").fill_null("other"))
    return (
        u.group_by("category", "den_carc", "den_group")
        .agg(
            pl.col("inst_id").n_unique().alias("denied_claim_count"),
            (pl.col("unit_no") > 0).sum().alias("denied_line_count"),
            pl.col("denial").sum().alias("denied"),
        )
        .rename({"category": "denial_category", "den_carc": "carc_code", "den_group": "group_code"})
        .sort("denial_category", "group_code", "carc_code", maintain_order=True)
    )


def direct_costs(gl: pl.DataFrame, cost_centers: pl.DataFrame) -> pl.DataFrame:
    exp = gl.filter(pl.col("account_id").str.slice(0, 1).is_in(["6", "7", "8"])).with_columns(
        kind=pl.col("account_id").str.slice(0, 1), net=pl.col("debit_cents") - pl.col("credit_cents")
    )
    out = exp.group_by("period_id", "facility_id", "cost_center_id").agg(
        pl.col("net").filter(pl.col("kind") == "6").sum().alias("payroll"),
        pl.col("net").filter(pl.col("kind") == "7").sum().alias("supply"),
        pl.col("net").filter(pl.col("kind") == "8").sum().alias("other"),
    )
    out = out.join(
        cost_centers.select("cost_center_id", "service_line_code"),
        on="cost_center_id",
        how="left",
        maintain_order="left",
    )
    return out.select(
        "period_id",
        "facility_id",
        "cost_center_id",
        pl.col("service_line_code").fill_null(""),
        payroll_cost_amount=money("payroll"),
        supply_cost_amount=money("supply"),
        other_cost_amount=money("other"),
        _p="payroll",
        _s="supply",
        _o="other",
    ).sort("period_id", "facility_id", "cost_center_id", maintain_order=True)


#: journal source and (debit account, credit account) of each measure (seeds/posting_rules.csv;
#: gross charges credit the revenue category's account, which the balances below leave out)
MEASURE_ACCOUNTS: dict[str, tuple[str, str | None, str | None]] = {
    "gross_charge": ("month_end_accrual", "1200", None),
    "dnfb_charge": ("month_end_accrual", "1250", None),
    "dnfb_reversal": ("month_end_accrual", None, "1250"),
    "contractual_reserve": ("month_end_accrual", "4900", "1290"),
    "payment": ("daily_reimbursement", "1010", "1200"),
    "denial": ("daily_reimbursement", "4910", "1200"),
    "patient_resp": ("daily_reimbursement", "1210", "1200"),
    "reserve_release": ("daily_reimbursement", "1290", "1200"),
    "contractual_true_up": ("daily_reimbursement", "4950", "1200"),
    "plb_interest": ("remittance_plb", "1010", "4810"),
    "plb_recoupment": ("remittance_plb", "1010", "1200"),
    "patient_payment": ("patient_transactions", "1010", "1210"),
    "patient_refund": ("patient_transactions", "1210", "1010"),
    "bad_debt": ("patient_transactions", "4920", "1210"),
    "charity": ("patient_transactions", "4930", "1210"),
}


def journal_measures(
    inst: pl.DataFrame,
    reserves: pl.DataFrame,
    plb: pl.DataFrame,
    patient: pl.DataFrame,
    periods: pl.DataFrame,
) -> pl.DataFrame:
    """The measures the posting rules journal, netted at the grain of a journal line pair:
    facility_id, posting_date, journal_source, service_line_code, cost_center_id, measure, amount
    (cents). ``inst`` is one row per landed instance with its dimensions, release and true-up."""
    pe = periods.select("period_id", "period_end_date")
    key = ["facility_id", "posting_date", "service_line_code", "cost_center_id", "measure"]
    daily = [
        inst.select(
            "facility_id",
            posting_date="remit_date",
            service_line_code="service_line_code",
            cost_center_id=pl.lit(""),
            measure=pl.lit(m),
            amount=pl.col(col),
        )
        for m, col in (
            ("payment", "paid"),
            ("denial", "denial"),
            ("patient_resp", "patient_resp"),
            ("reserve_release", "release"),
            ("contractual_true_up", "true_up"),
        )
    ]
    accrual = reserves.with_columns(period_id=pl.col("statement_to_date").dt.strftime("%Y-%m")).join(
        pe, on="period_id", how="inner", maintain_order="left"
    )
    # a chain billed after the end of its charge period is DNFB there: its charges accrue to
    # unbilled A/R at that period end and move to payer A/R at the end of its bill period
    bill_pe = pe.select(bill_period_id="period_id", bill_period_end_date="period_end_date")
    accrual = (
        accrual.with_columns(bill_period_id=pl.col("bill_date").dt.strftime("%Y-%m"))
        .join(bill_pe, on="bill_period_id", how="left", maintain_order="left")
        .with_columns(
            is_dnfb=(pl.col("bill_date") > pl.col("period_end_date")) & pl.col("bill_period_end_date").is_not_null()
        )
    )
    dnfb = accrual.filter("is_dnfb")
    parts = [
        *daily,
        accrual.select(
            "facility_id",
            posting_date=pl.when("is_dnfb").then("bill_period_end_date").otherwise("period_end_date"),
            service_line_code=pl.lit(""),
            cost_center_id=pl.lit(""),
            measure=pl.lit("gross_charge"),
            amount="charge",
        ),
        *(
            dnfb.select(
                "facility_id",
                posting_date=posting_date,
                service_line_code=pl.lit(""),
                cost_center_id=pl.lit(""),
                measure=pl.lit(measure),
                amount="charge",
            )
            for posting_date, measure in (("period_end_date", "dnfb_charge"), ("bill_period_end_date", "dnfb_reversal"))
        ),
        accrual.select(
            "facility_id",
            posting_date="period_end_date",
            service_line_code="service_line_code",
            cost_center_id="cost_center_id",
            measure=pl.lit("contractual_reserve"),
            amount="reserve",
        ),
        plb.select(
            "facility_id",
            posting_date="remit_date",
            service_line_code=pl.lit(""),
            cost_center_id=pl.lit(""),
            measure="measure",
            amount="cash",
        ),
        patient.select(
            "facility_id",
            posting_date="transaction_date",
            service_line_code="service_line_code",
            cost_center_id="cost_center_id",
            measure="measure",
            amount="amount",
        ),
    ]
    sources = pl.DataFrame(
        {"measure": list(MEASURE_ACCOUNTS), "journal_source": [v[0] for v in MEASURE_ACCOUNTS.values()]}
    )
    out = (
        pl.concat([p.with_columns(pl.col("posting_date").cast(pl.Date)) for p in parts], how="vertical_relaxed")
        .filter(pl.col("facility_id") != UNMAPPED)
        .group_by(key)
        .agg(pl.col("amount").sum())
        .filter(pl.col("amount") != 0)
        .join(sources, on="measure", how="left", maintain_order="left")
    )
    return out.sort("facility_id", "posting_date", "journal_source", *key[2:], maintain_order=True)


def journal_totals(measures: pl.DataFrame, facilities: pl.DataFrame) -> pl.DataFrame:
    """Debit totals of the balanced journals the posting rules produce: each netted measure is
    one debit and one credit line (a negative net swaps them), so a journal's debit total is the
    sum of its absolute nets."""
    le = facilities.select("facility_id", "legal_entity_id")
    out = (
        measures.group_by("facility_id", "posting_date", "journal_source")
        .agg(pl.col("amount").abs().sum().alias("debit"))
        .join(le, on="facility_id", how="left", maintain_order="left")
    )
    return out.select(
        "legal_entity_id", "facility_id", "posting_date", "journal_source", debit_total=money("debit"), _d="debit"
    ).sort("legal_entity_id", "facility_id", "posting_date", "journal_source", maintain_order=True)


def gl_balances(measures: pl.DataFrame, facilities: pl.DataFrame, periods: pl.DataFrame) -> pl.DataFrame:
    """Net debit (debit - credit) per legal entity x GL account x posted period of the journals,
    for every account the posting rules name except the revenue accounts. A journal dated in a
    closed period posts on the first day of the next open period (the posting ledger's rule)."""
    per = periods.select("period_id", "period_start_date", "period_end_date", "status").sort("period_start_date")
    rows = per.to_dicts()
    posted_in: dict[str, str] = {}
    for i, p in enumerate(rows):
        target = p if p["status"] == "open" else next((q for q in rows[i + 1 :] if q["status"] == "open"), None)
        if target is not None:
            posted_in[p["period_id"]] = target["period_id"]
    legs = []
    for m, (_src, debit, credit) in MEASURE_ACCOUNTS.items():
        part = measures.filter(pl.col("measure") == m)
        if debit is not None:
            legs.append(part.select("facility_id", "posting_date", account_id=pl.lit(debit), net="amount"))
        if credit is not None:
            legs.append(part.select("facility_id", "posting_date", account_id=pl.lit(credit), net=-pl.col("amount")))
    le = facilities.select("facility_id", "legal_entity_id")
    x = (
        pl.concat(legs)
        .with_columns(source_period_id=pl.col("posting_date").dt.strftime("%Y-%m"))
        .with_columns(period_id=pl.col("source_period_id").replace_strict(posted_in, default=None))
        .join(le, on="facility_id", how="left", maintain_order="left")
        .filter(pl.col("period_id").is_not_null())
        .group_by("legal_entity_id", "account_id", "period_id")
        .agg(pl.col("net").sum())
    )
    return x.select("legal_entity_id", "account_id", "period_id", net_debit_amount=money("net"), _n="net").sort(
        "legal_entity_id", "account_id", "period_id", maintain_order=True
    )


def patient_transactions_by_period(tx: pl.DataFrame) -> pl.DataFrame:
    """Patient payments and adjustments by accounting period, legal entity and type (cents)."""
    return (
        tx.with_columns(period_id=pl.col("transaction_date").dt.strftime("%Y-%m"))
        .group_by("period_id", "legal_entity_id", "transaction_type")
        .agg(pl.len().alias("transaction_count"), pl.col("amount_cents").sum().alias("amount"))
        .sort("period_id", "legal_entity_id", "transaction_type", maintain_order=True)
    )


AGING_BUCKETS = ("0_30", "31_60", "61_90", "91_120", "121_180", "over_180")


def claim_chains(claims: pl.DataFrame, landed_lines: pl.DataFrame, dims: pl.DataFrame) -> pl.DataFrame:
    """One row per claim chain (an original and its replacement or void), with the attributes
    of its current version, gross charges, expected reimbursement and contractual reserve (cents).

    The chain's current version is its replacement or void when one was exported, else the
    original; a voided chain books no charges (docs/accounting_policy.md).
    """
    roots = claims.filter(pl.col("freq") == 1).select("orig_row", pl.col("claim_id").alias("root_claim_id"))
    chain = claims.join(roots, on="orig_row", how="left", maintain_order="left")
    current = chain.sort("orig_row", "freq", maintain_order=True).group_by("orig_row", maintain_order=True).last()
    first_bill = chain.group_by("orig_row").agg(pl.col("submitted_date").min().alias("bill_date"))
    per_claim = landed_lines.group_by("claim_idx").agg(
        pl.col("charge_cents").sum().alias("line_charge"), pl.col("expected_cents").sum().alias("line_expected")
    )
    c = (
        current.join(first_bill, on="orig_row", how="left", maintain_order="left")
        .join(per_claim, on="claim_idx", how="left", maintain_order="left")
        .join(dims, on="claim_idx", how="left", maintain_order="left")
        .with_columns(voided=pl.col("freq") == 8)
    )
    expected = (
        pl.when(pl.col("enc_class") == "IMP").then(pl.col("ip_expected_cents")).otherwise(pl.col("line_expected"))
    )
    return c.select(
        claim_id="root_claim_id",
        current_claim_id="claim_id",
        orig_row="orig_row",
        payer_idx="payer_idx",
        facility_id="facility_id",
        payer_class="payer_class",
        service_line_code="service_line_code",
        discharge_date="statement_to_date",
        bill_date="bill_date",
        charge=pl.when(pl.col("voided")).then(0).otherwise(pl.col("line_charge").fill_null(0)),
        expected=pl.when(pl.col("voided")).then(0).otherwise(expected.fill_null(0)),
    ).with_columns(reserve=pl.col("charge") - pl.col("expected"))


# the claim-chain x period-end columns of the A/R subledger ground truth (ar_subledger.csv and
# what ar_subledger() returns), ahead of its day counts and balances
AR_SUBLEDGER_COLUMNS = (
    "period_id",
    "period_end_date",
    "claim_id",
    "current_claim_id",
    "legal_entity_id",
    "facility_id",
    "payer_code",
    "payer_class",
    "service_line_code",
    "discharge_date",
    "bill_date",
    "is_billed",
)


def ar_subledger(
    chains: pl.DataFrame,
    claims: pl.DataFrame,
    landed_instances: pl.DataFrame,
    *,
    payers: pl.DataFrame,
    facilities: pl.DataFrame,
    periods: pl.DataFrame,
) -> pl.DataFrame:
    """Claim-chain balances at every period end (cents), by the rules of docs/accounting_policy.md.

    gross = charges (booked at the period end of the discharge date) - payments - contractual
    adjustments - denials - patient responsibility of the 835 claim payments up to the period
    end; reserve = reserve booked - released, where the whole reserve stands released while an
    adjudication stands (a count of adjudications less reversals in :func:`posting_order`,
    floored at 0). Rows
    with a balance only; chains whose facility is unmapped are left out (the warehouse shows
    them as AR_UNPLACED exceptions).
    """
    le = facilities.select("facility_id", "legal_entity_id")
    ch = (
        chains.join(le, on="facility_id", how="inner")
        .join(payers.select("payer_idx", "payer_code"), on="payer_idx", how="left", maintain_order="left")
        .drop("payer_idx")
    )
    remits = (
        landed_instances.with_columns(_ko=posting_order(landed_instances))
        .join(claims.select("claim_idx", "orig_row"), on="claim_idx", how="left")
        .join(ch.select("orig_row", "claim_id"), on="orig_row", how="inner")
        .select(
            "claim_id",
            "remit_date",
            "_ko",
            "inst_id",
            step=pl.when(pl.col("kind") == "reversal").then(-1).otherwise(1),
            moved=pl.col("paid") + pl.col("contractual") + pl.col("denial") + pl.col("patient_resp"),
        )
    )
    # the reserve stands released while an adjudication stands: +1 per adjudication, -1 per
    # reversal in posting order (posting_order within a day), the running count floored at 0
    # (the running sum less its lowest point below 0 so far); a day's state is its last CLP's
    days = (
        remits.sort("claim_id", "remit_date", "_ko", "inst_id", maintain_order=True)
        .with_columns(running=pl.col("step").cum_sum().over("claim_id"))
        .with_columns(lowest=pl.col("running").cum_min().over("claim_id").clip(upper_bound=0))
        .with_columns(released=((pl.col("running") - pl.col("lowest")) >= 1).cast(pl.Int64))
        .group_by("claim_id", "remit_date", maintain_order=True)
        .agg(pl.col("moved").sum(), pl.col("released").last())
    )
    pe = periods.select("period_id", "period_end_date")
    first = days.group_by("claim_id").agg(pl.col("remit_date").min().alias("first_remit"))
    grid = (
        ch.join(first, on="claim_id", how="left", maintain_order="left")
        .with_columns(first_posting=pl.min_horizontal("discharge_date", "first_remit"))
        .join(pe, how="cross")
        .filter(pl.col("period_end_date") >= pl.col("first_posting"))
    )
    upto = grid.select("claim_id", "period_id", "period_end_date").join(days, on="claim_id", how="inner")
    upto = upto.filter(pl.col("remit_date") <= pl.col("period_end_date"))
    moved = upto.group_by("claim_id", "period_id").agg(
        pl.col("moved").sum(), pl.col("released").sort_by("remit_date").last()
    )
    out = grid.join(moved, on=["claim_id", "period_id"], how="left", maintain_order="left").with_columns(
        booked=pl.col("discharge_date") <= pl.col("period_end_date"),
        moved=pl.col("moved").fill_null(0),
        released=pl.col("released").fill_null(0),
    )
    out = out.with_columns(
        charges_to_date=pl.when("booked").then(pl.col("charge")).otherwise(0),
        reserve_booked=pl.when("booked").then(pl.col("reserve")).otherwise(0),
    ).with_columns(
        gross=pl.col("charges_to_date") - pl.col("moved"),
        reserve_bal=pl.col("reserve_booked") - pl.col("reserve") * pl.col("released"),
    )
    out = out.filter((pl.col("gross") != 0) | (pl.col("reserve_bal") != 0)).with_columns(
        is_billed=pl.col("bill_date") <= pl.col("period_end_date"),
        days_from_discharge=(pl.col("period_end_date") - pl.col("discharge_date")).dt.total_days(),
    )
    out = out.with_columns(
        days_from_bill=pl.when("is_billed").then((pl.col("period_end_date") - pl.col("bill_date")).dt.total_days()),
    )
    return out.select(
        *AR_SUBLEDGER_COLUMNS,
        "days_from_discharge",
        "days_from_bill",
        "charges_to_date",
        expected_to_date=pl.col("charges_to_date") - pl.col("reserve_booked"),
        gross="gross",
        reserve="reserve_bal",
        net=pl.col("gross") - pl.col("reserve_bal"),
    ).sort("period_id", "claim_id", maintain_order=True)


def _bucket(days: pl.Expr) -> pl.Expr:
    return (
        pl.when(days.is_null())
        .then(pl.lit("unbilled"))
        .when(days <= 30)
        .then(pl.lit("0_30"))
        .when(days <= 60)
        .then(pl.lit("31_60"))
        .when(days <= 90)
        .then(pl.lit("61_90"))
        .when(days <= 120)
        .then(pl.lit("91_120"))
        .when(days <= 180)
        .then(pl.lit("121_180"))
        .otherwise(pl.lit("over_180"))
    )


def ar_aging(subledger: pl.DataFrame) -> pl.DataFrame:
    """Gross A/R per period end x basis (discharge, bill) x payer x payer class in the aging
    buckets, the unbilled (DNFB) balance on the bill basis, and billed A/R over 90 days (cents)."""
    parts = []
    for basis, col in (("discharge", "days_from_discharge"), ("bill", "days_from_bill")):
        parts.append(
            subledger.select(
                "period_id",
                "payer_code",
                "payer_class",
                "is_billed",
                "gross",
                aging_basis=pl.lit(basis),
                days=pl.col(col),
            )
        )
    x = pl.concat(parts).with_columns(bucket=_bucket(pl.col("days")))
    aggs = [pl.len().alias("claim_count")]
    aggs += [pl.col("gross").filter(pl.col("bucket") == b).sum().alias(f"ar_{b}") for b in (*AGING_BUCKETS, "unbilled")]
    aggs += [
        pl.col("gross").sum().alias("gross"),
        pl.col("gross").filter(pl.col("is_billed")).sum().alias("billed"),
        pl.col("gross").filter(pl.col("is_billed") & (pl.col("days") > 90)).sum().alias("billed_over_90"),
    ]
    return (
        x.group_by("period_id", "aging_basis", "payer_code", "payer_class")
        .agg(aggs)
        .sort("period_id", "aging_basis", "payer_code", "payer_class", maintain_order=True)
    )


def dnfb(subledger: pl.DataFrame) -> pl.DataFrame:
    """Discharged-not-final-billed gross charges and expected reimbursement per period end and
    facility: claims discharged on or before the period end and billed after it (cents)."""
    return (
        subledger.filter(~pl.col("is_billed"))
        .group_by("period_id", "legal_entity_id", "facility_id")
        .agg(pl.len().alias("claim_count"), pl.col("charges_to_date").sum(), pl.col("expected_to_date").sum())
        .sort("period_id", "legal_entity_id", "facility_id", maintain_order=True)
    )


def _ratio(num: int | None, den: int | None, places: str, scale: int = 1) -> str:
    """num * scale / den rounded half-up to ``places`` ('0.0001' or '0.01'); '' when den is 0."""
    if num is None or not den:
        return ""
    return str((Decimal(num) * scale / Decimal(den)).quantize(Decimal(places), rounding=ROUND_HALF_UP))


def revenue_cycle_kpis(
    charges: pl.DataFrame,
    daily: pl.DataFrame,
    subledger: pl.DataFrame,
    patient_tx: pl.DataFrame,
    denial_events: pl.DataFrame,
    claims: pl.DataFrame,
    dims: pl.DataFrame,
    plb: pl.DataFrame,
    landed_instances: pl.DataFrame,
    landed_lines: pl.DataFrame,
    *,
    facilities: pl.DataFrame,
    periods: pl.DataFrame,
) -> pl.DataFrame:
    """Revenue-cycle KPIs per accounting period x facility (docs/marts.md), from the simulator's
    own records: gross charges (statement-to period), the 835 outcomes (remit date), the claim
    A/R subledger (reserve and net payer A/R at each period end, DNFB charges), patient
    transactions and denial write-offs (their dates), each on its claim's facility.

    NPSR = gross - contractual - denials - reserve change - bad debt - charity; net A/R = net
    payer A/R + patient A/R (patient responsibility - patient payments - bad debt - charity, to
    date) + PLB recoupments and forward balances to date (``plb``, from
    :func:`provider_adjustments`: - their cash effect); averages over the last three periods.
    Initial denial rate (HFMA Claim Integrity Task Force): claim versions whose first landed
    adjudication (non-reversal CLP, by remit date) denied them (CLP02 = 4 or a denial amount),
    per period of that remit date, / the average monthly claim versions submitted (not of a
    voided chain, with landed lines) in the up to three periods before it; the charge rate
    likewise on CLP03 and the claims' charges. Amounts in cents, ratios as decimal strings.
    """

    def by_period(df: pl.DataFrame, date_col: str, aggs: list[pl.Expr]) -> pl.DataFrame:
        return df.group_by(period_id=pl.col(date_col).dt.strftime("%Y-%m"), facility_id="facility_id").agg(aggs)

    claim_fac = claims.select("claim_idx", "claim_id").join(
        dims.select("claim_idx", "facility_id"), on="claim_idx", how="left", maintain_order="left"
    )
    gross = by_period(charges, "statement_to_date", [pl.col("charge").sum().alias("gross")])
    remits = by_period(
        daily,
        "remit_date",
        [pl.col(c).sum() for c in ("paid", "contractual", "denial", "patient_resp")],
    )
    ptx = patient_tx.join(claim_fac.select("claim_id", "facility_id"), on="claim_id", how="left").with_columns(
        pl.col("facility_id").fill_null(UNMAPPED)
    )
    patient = by_period(
        ptx,
        "transaction_date",
        [
            pl.col("amount_cents").filter(pl.col("transaction_type").is_in(["copay", "payment"])).sum().alias("ppay"),
            pl.col("amount_cents").filter(pl.col("transaction_type") == "bad_debt").sum().alias("bad_debt"),
            pl.col("amount_cents").filter(pl.col("transaction_type") == "charity").sum().alias("charity"),
        ],
    )
    wo = (
        denial_events.filter(pl.col("event_type") == "written_off")
        .join(claim_fac.select("claim_idx", "facility_id"), on="claim_idx", how="left")
        .with_columns(pl.col("facility_id").fill_null(UNMAPPED))
    )
    write_offs = by_period(wo, "event_date", [pl.col("amount_cents").sum().alias("write_off")])
    recoupments = by_period(
        plb.filter(pl.col("measure") == "plb_recoupment"),
        "remit_date",
        [(-pl.col("cash")).sum().alias("plb_ar_change")],
    )
    # claim versions submitted: every version with landed lines whose chain does not end in a
    # void (the chain's latest submission is a frequency 8 with landed lines)
    version_charge = landed_lines.group_by("claim_idx").agg(pl.col("charge_cents").sum().alias("claim_charge"))
    versions = claims.join(version_charge, on="claim_idx", how="inner")
    voided_chains = (
        versions.sort("orig_row", "submitted_date", "freq", maintain_order=True)
        .group_by("orig_row", maintain_order=True)
        .last()
        .filter(pl.col("freq") == 8)
        .select("orig_row")
    )
    submitted_versions = versions.join(voided_chains, on="orig_row", how="anti").join(
        dims.select("claim_idx", "facility_id"), on="claim_idx", how="left", maintain_order="left"
    )
    submitted = by_period(
        submitted_versions,
        "submitted_date",
        [pl.len().alias("submitted_n"), pl.col("claim_charge").sum().alias("submitted_charge")],
    )
    first_adjudications = (
        landed_instances.filter(pl.col("kind") != "reversal")
        .join(version_charge.select("claim_idx"), on="claim_idx", how="semi")
        .sort("claim_idx", "remit_date", "inst_id", maintain_order=True)
        .group_by("claim_idx", maintain_order=True)
        .first()
        .join(dims.select("claim_idx", "facility_id"), on="claim_idx", how="left", maintain_order="left")
        .with_columns(denied=(pl.col("status") == "4") | (pl.col("denial") > 0))
    )
    initial = by_period(
        first_adjudications,
        "remit_date",
        [
            pl.col("denied").sum().cast(pl.Int64).alias("denied_n"),
            pl.col("charge").filter(pl.col("denied")).sum().alias("denied_charge"),
            pl.len().alias("adjudicated_n"),
        ],
    )
    ledger = subledger.group_by("period_id", "facility_id").agg(
        pl.col("reserve").sum().alias("reserve_bal"),
        pl.col("net").sum().alias("payer_net"),
        pl.col("charges_to_date").filter(~pl.col("is_billed")).sum().alias("dnfb"),
        pl.col("net").filter(~pl.col("is_billed")).sum().alias("dnfb_net"),
    )
    fac_ids = pl.concat([facilities.select("facility_id"), pl.DataFrame({"facility_id": [UNMAPPED]})]).unique()
    grid = periods.select(
        "period_id", days=(pl.col("period_end_date") - pl.col("period_start_date")).dt.total_days() + 1
    ).join(fac_ids, how="cross")
    x = grid
    for part in (gross, remits, patient, write_offs, ledger, recoupments, submitted, initial):
        x = x.join(part, on=["period_id", "facility_id"], how="left", maintain_order="left")
    measures = [c for c in x.columns if c not in ("period_id", "facility_id", "days")]
    x = x.with_columns([pl.col(c).fill_null(0).cast(pl.Int64) for c in measures]).sort("facility_id", "period_id")
    x = x.with_columns(
        reserve_change=pl.col("reserve_bal") - pl.col("reserve_bal").shift(1).over("facility_id").fill_null(0),
        patient_ar=(pl.col("patient_resp") - pl.col("ppay") - pl.col("bad_debt") - pl.col("charity"))
        .cum_sum()
        .over("facility_id"),
        plb_ar=pl.col("plb_ar_change").cum_sum().over("facility_id"),
    ).with_columns(
        npsr=pl.col("gross")
        - pl.col("contractual")
        - pl.col("denial")
        - pl.col("reserve_change")
        - pl.col("bad_debt")
        - pl.col("charity"),
        net_ar=pl.col("payer_net") + pl.col("patient_ar") + pl.col("plb_ar"),
        cash=pl.col("paid") + pl.col("ppay"),
    )
    x = x.with_columns(
        trailing_npsr=pl.col("npsr").rolling_sum(3, min_samples=1).over("facility_id"),
        trailing_gross=pl.col("gross").rolling_sum(3, min_samples=1).over("facility_id"),
        trailing_days=pl.col("days").rolling_sum(3, min_samples=1).over("facility_id"),
        prior_n=pl.col("submitted_n").shift(1).rolling_sum(3, min_samples=1).over("facility_id"),
        prior_charge=pl.col("submitted_charge").shift(1).rolling_sum(3, min_samples=1).over("facility_id"),
        prior_periods=pl.int_range(pl.len()).over("facility_id").clip(upper_bound=3),
    )
    rows = []
    for r in x.iter_rows(named=True):
        pos = r["trailing_npsr"] if r["trailing_npsr"] > 0 else None
        rows.append(
            {
                **r,
                "avg_daily_npsr": _ratio(r["trailing_npsr"], r["trailing_days"] * 100, "0.01"),
                "net_days_in_ar": _ratio(r["net_ar"] * r["trailing_days"], pos, "0.01"),
                "cash_pct": _ratio(r["cash"], r["npsr"], "0.0001"),
                "write_off_pct": _ratio(r["write_off"], r["npsr"], "0.0001"),
                "avg_daily_gross": _ratio(r["trailing_gross"], r["trailing_days"] * 100, "0.01"),
                "dnfb_days": _ratio(
                    r["dnfb"] * r["trailing_days"], r["trailing_gross"] if r["trailing_gross"] > 0 else None, "0.01"
                ),
                "bad_debt_pct": _ratio(r["bad_debt"], r["gross"], "0.0001"),
                "charity_pct": _ratio(r["charity"], r["gross"], "0.0001"),
                "prior_avg_submitted": _ratio(r["prior_n"], r["prior_periods"], "0.0001"),
                "initial_denial_rate": _ratio(r["denied_n"] * r["prior_periods"], r["prior_n"], "0.0001"),
                "prior_avg_submitted_charge": _ratio(r["prior_charge"], r["prior_periods"] * 100, "0.01"),
                "initial_denial_charge_rate": _ratio(
                    r["denied_charge"] * r["prior_periods"], r["prior_charge"], "0.0001"
                ),
            }
        )
    return pl.DataFrame(rows, infer_schema_length=None).sort("period_id", "facility_id", maintain_order=True)


CHARGE_CAPTURE_COLUMNS = (
    "encounter_id",
    "service_date",
    "reconciliation_status",
    "ehr_charge_count",
    "ehr_charge_amount",
    "billed_line_count",
    "billed_charge_amount",
    "difference_amount",
)


def charge_capture(ehr_charges: pl.DataFrame, claims: pl.DataFrame, landed_lines: pl.DataFrame) -> pl.DataFrame:
    """What ``mart_charge_capture_reconciliation`` must show: one row per encounter and service
    date with EHR charges (DFT FT1) or billed lines (the landed lines of the chain's current,
    not voided, claim version), amounts in cents.

    An encounter the DFT feed never mentions is ``not_in_charge_feed``; otherwise a day is
    ``matched`` (equal amounts), ``amount_difference``, ``ehr_only`` (captured, never billed:
    leakage) or ``claim_only`` (billed with no EHR charge).
    """
    current = claims.sort("orig_row", "freq", maintain_order=True).group_by("orig_row", maintain_order=True).last()
    billed_claims = current.filter(pl.col("freq") != 8).select("claim_idx", "encounter_id")
    billed = (
        landed_lines.join(billed_claims, on="claim_idx", how="inner")
        .group_by("encounter_id", "service_date")
        .agg(billed_line_count=pl.len(), billed_cents=pl.col("charge_cents").sum())
    )
    ehr = ehr_charges.group_by("encounter_id", "service_date").agg(
        ehr_charge_count=pl.len(), ehr_cents=pl.col("amount_cents").sum()
    )
    fed = ehr.select("encounter_id").unique()
    both = ehr.join(billed, on=["encounter_id", "service_date"], how="full", coalesce=True).with_columns(
        pl.col("ehr_charge_count", "billed_line_count").fill_null(0),
        pl.col("ehr_cents", "billed_cents").fill_null(0),
        in_feed=pl.col("encounter_id").is_in(fed["encounter_id"].implode()),
    )
    status = (
        pl.when(~pl.col("in_feed"))
        .then(pl.lit("not_in_charge_feed"))
        .when(pl.col("billed_line_count") == 0)
        .then(pl.lit("ehr_only"))
        .when(pl.col("ehr_charge_count") == 0)
        .then(pl.lit("claim_only"))
        .when(pl.col("ehr_cents") == pl.col("billed_cents"))
        .then(pl.lit("matched"))
        .otherwise(pl.lit("amount_difference"))
    )
    return both.select(
        "encounter_id",
        "service_date",
        reconciliation_status=status,
        ehr_charge_count="ehr_charge_count",
        ehr_charge_amount=money("ehr_cents"),
        billed_line_count="billed_line_count",
        billed_charge_amount=money("billed_cents"),
        difference_amount=money(pl.col("ehr_cents") - pl.col("billed_cents")),
    ).sort("encounter_id", "service_date")
