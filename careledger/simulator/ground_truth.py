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
    )


def counted_claims(claims: pl.DataFrame) -> pl.DataFrame:
    """Claims whose charges count: not voids, and not superseded by an exported freq 7/8."""
    superseded = claims.filter(pl.col("freq") > 1).select(pl.col("original_claim_id").alias("claim_id"))
    return claims.filter(pl.col("freq") != 8).join(superseded, on="claim_id", how="anti")


def charges_daily(claims: pl.DataFrame, landed_lines: pl.DataFrame, dims: pl.DataFrame) -> pl.DataFrame:
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
    x = (
        c.join(per_claim, on="claim_idx", how="inner", maintain_order="left")
        .join(dims, on="claim_idx", how="left", maintain_order="left")
        .with_columns(
            expected=pl.when(pl.col("enc_class") == "IMP")
            .then(pl.col("ip_expected_cents"))
            .otherwise(pl.col("line_expected"))
        )
    )
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


def journal_totals(
    daily: pl.DataFrame, charges: pl.DataFrame, facilities: pl.DataFrame, periods: pl.DataFrame
) -> pl.DataFrame:
    """Debit totals of the balanced journals the posting rules produce.

    ``daily_reimbursement``: per facility, remit date and service line each measure nets to
    one line pair (a negative net swaps debit and credit), so the debit total is the sum of
    absolute nets. ``month_end_accrual``: gross charges of the period, posted at period end.
    """
    le = facilities.select("facility_id", "legal_entity_id")
    d = (
        daily.filter(pl.col("facility_id") != UNMAPPED)
        .group_by("facility_id", "remit_date", "service_line_code")
        .agg(pl.col("paid").sum(), pl.col("contractual").sum(), pl.col("denial").sum(), pl.col("patient_resp").sum())
    )
    d = (
        d.with_columns(
            debit=pl.col("paid").abs()
            + pl.col("contractual").abs()
            + pl.col("denial").abs()
            + pl.col("patient_resp").abs()
        )
        .group_by("facility_id", pl.col("remit_date").alias("posting_date"))
        .agg(pl.col("debit").sum())
        .with_columns(journal_source=pl.lit("daily_reimbursement"))
    )
    c = (
        charges.filter(pl.col("facility_id") != UNMAPPED)
        .with_columns(period_id=pl.col("statement_to_date").dt.strftime("%Y-%m"))
        .join(periods.select("period_id", "period_end_date"), on="period_id", how="left", maintain_order="left")
    )
    c = (
        c.group_by("facility_id", pl.col("period_end_date").alias("posting_date"))
        .agg(pl.col("charge").sum().alias("debit"))
        .with_columns(journal_source=pl.lit("month_end_accrual"))
    )
    out = pl.concat(
        [
            d.select("facility_id", "posting_date", "journal_source", "debit"),
            c.select("facility_id", "posting_date", "journal_source", "debit"),
        ]
    )
    out = out.filter(pl.col("debit") != 0).join(le, on="facility_id", how="left", maintain_order="left")
    return out.select(
        "legal_entity_id", "facility_id", "posting_date", "journal_source", debit_total=money("debit"), _d="debit"
    ).sort("legal_entity_id", "facility_id", "posting_date", "journal_source", maintain_order=True)


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
    adjudication stands (a count of adjudications less reversals, floored at 0). Rows
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
        landed_instances.join(claims.select("claim_idx", "orig_row"), on="claim_idx", how="left")
        .join(ch.select("orig_row", "claim_id"), on="orig_row", how="inner")
        .select(
            "claim_id",
            "remit_date",
            adjudicated=(pl.col("kind") != "reversal").cast(pl.Int64),
            moved=pl.col("paid") + pl.col("contractual") + pl.col("denial") + pl.col("patient_resp"),
        )
    )
    # the reserve stands released while an adjudication stands: +1 per adjudication, -1 per
    # reversal (reversals post first within a day), the running count floored at 0 (the
    # running sum less its lowest point below 0 so far, which a day reaches after its reversals)
    days = (
        remits.group_by("claim_id", "remit_date")
        .agg(
            pl.col("moved").sum(),
            pl.col("adjudicated").sum().alias("n_adj"),
            (1 - pl.col("adjudicated")).sum().alias("n_rev"),
        )
        .sort("claim_id", "remit_date", maintain_order=True)
        .with_columns(running=(pl.col("n_adj") - pl.col("n_rev")).cum_sum().over("claim_id"))
        .with_columns(
            lowest=(pl.col("running") - pl.col("n_adj")).cum_min().over("claim_id").clip(upper_bound=0),
        )
        .with_columns(released=((pl.col("running") - pl.col("lowest")) >= 1).cast(pl.Int64))
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
    date); averages over the last three periods. Amounts in cents, ratios as decimal strings.
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
    ledger = subledger.group_by("period_id", "facility_id").agg(
        pl.col("reserve").sum().alias("reserve_bal"),
        pl.col("net").sum().alias("payer_net"),
        pl.col("charges_to_date").filter(~pl.col("is_billed")).sum().alias("dnfb"),
    )
    fac_ids = pl.concat([facilities.select("facility_id"), pl.DataFrame({"facility_id": [UNMAPPED]})]).unique()
    grid = periods.select(
        "period_id", days=(pl.col("period_end_date") - pl.col("period_start_date")).dt.total_days() + 1
    ).join(fac_ids, how="cross")
    x = grid
    for part in (gross, remits, patient, write_offs, ledger):
        x = x.join(part, on=["period_id", "facility_id"], how="left", maintain_order="left")
    measures = [c for c in x.columns if c not in ("period_id", "facility_id", "days")]
    x = x.with_columns([pl.col(c).fill_null(0).cast(pl.Int64) for c in measures]).sort("facility_id", "period_id")
    x = x.with_columns(
        reserve_change=pl.col("reserve_bal") - pl.col("reserve_bal").shift(1).over("facility_id").fill_null(0),
        patient_ar=(pl.col("patient_resp") - pl.col("ppay") - pl.col("bad_debt") - pl.col("charity"))
        .cum_sum()
        .over("facility_id"),
    ).with_columns(
        npsr=pl.col("gross")
        - pl.col("contractual")
        - pl.col("denial")
        - pl.col("reserve_change")
        - pl.col("bad_debt")
        - pl.col("charity"),
        net_ar=pl.col("payer_net") + pl.col("patient_ar"),
        cash=pl.col("paid") + pl.col("ppay"),
    )
    x = x.with_columns(
        trailing_npsr=pl.col("npsr").rolling_sum(3, min_samples=1).over("facility_id"),
        trailing_gross=pl.col("gross").rolling_sum(3, min_samples=1).over("facility_id"),
        trailing_days=pl.col("days").rolling_sum(3, min_samples=1).over("facility_id"),
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
            }
        )
    return pl.DataFrame(rows, infer_schema_length=None).sort("period_id", "facility_id", maintain_order=True)
