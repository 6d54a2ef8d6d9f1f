"""Ground truth: what a correct pipeline must reproduce from the landing folder.

Computed from the very frames that were written, after removing what a correct pipeline
skips (duplicate files and records) or quarantines (malformed records), and mapping codes
only through the crosswalk rows and seeds that were actually written.
"""

from __future__ import annotations

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
