"""ERP side: accounting periods, payroll and supply subledgers, and the GL actuals that
summarise them (the GL is the book of record; subledgers tie to it per cost center and period).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

from careledger.simulator.network import Network

SUPPLY_CATEGORY_ACCOUNT = {
    "medical_surgical": "7010",
    "pharmaceuticals": "7020",
    "implants": "7030",
    "non_medical": "7040",
}
SUPPLIERS_BY_CATEGORY = {
    "medical_surgical": ["S1001", "S1002"],
    "pharmaceuticals": ["S1003", "S1004"],
    "implants": ["S1005", "S1006"],
    "non_medical": ["S1007"],
}
# monthly other expense per facility: account, overhead cost center number, base cents, supplier, credit account
OTHER_EXPENSE = [
    ("8010", 8100, 4_200_000, "S1008", "2000", "Purchased services"),
    ("8020", 8200, 2_600_000, "S1009", "2000", "Utilities"),
    ("8030", 8200, 1_100_000, "S1010", "2000", "Repairs and maintenance"),
    ("8040", 8100, 6_500_000, "", "1500", "Depreciation"),
]
SURGICAL_SERVICE_LINES = {"orthopedics", "cardiology", "general_surgery"}
# Staffing is sized for this many encounters per facility and day; payroll and other expense
# scale with the simulated volume (part-time below it, more employees above it).
REFERENCE_ENCOUNTERS_PER_FACILITY_DAY = 120.0


@dataclass(frozen=True)
class Erp:
    periods: pl.DataFrame
    payroll: pl.DataFrame  # + period_id, facility_id, cost_cents, hours_centi
    supply_spend: pl.DataFrame  # + period_id, facility_id, amount_cents
    gl: pl.DataFrame  # debit_cents, credit_cents


def month_starts(first: date, last: date) -> list[date]:
    out = []
    d = date(first.year, first.month, 1)
    while d <= last:
        out.append(d)
        d = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    return out


def accounting_periods(start: date, as_of: date) -> pl.DataFrame:
    months = month_starts(start, as_of - timedelta(days=1))
    rows = []
    for i, m in enumerate(months):
        nxt = date(m.year + (m.month == 12), m.month % 12 + 1, 1)
        fy = m.year + (1 if m.month >= 7 else 0)
        rows.append(
            {
                "period_id": f"{m:%Y-%m}",
                "period_start_date": m,
                "period_end_date": nxt - timedelta(days=1),
                "fiscal_year": fy,
                "fiscal_period": (m.month - 7) % 12 + 1,
                "status": "closed" if i < len(months) - 2 else "open",
            }
        )
    return pl.DataFrame(rows)


def build_erp(rng: np.random.Generator, *, net: Network, encounters: pl.DataFrame, start: date, as_of: date) -> Erp:
    periods = accounting_periods(start, as_of)
    days = max(1, (as_of - start).days)
    volume = encounters.height / days / max(1, net.facilities.height) / REFERENCE_ENCOUNTERS_PER_FACILITY_DAY
    volume = max(volume, 0.02)
    copies = max(1, int(np.ceil(volume)))  # employees per staffed position
    fte = volume / copies  # hours factor of each of them
    fac = net.facilities.select("facility_id", "legal_entity_id")
    cc = net.cost_centers.select("cost_center_id", "facility_id", "cost_center_type", "service_line_code")

    # ---- payroll: biweekly pay periods ending on Saturdays inside the window
    first_end = start + timedelta(days=13 + (5 - (start + timedelta(days=13)).weekday()) % 7)
    ends = []
    d = first_end
    while d < as_of:
        ends.append(d)
        d += timedelta(days=14)
    prov = net.providers.select(
        "employee_id",
        "npi",
        "cost_center_id",
        job_code=pl.lit("MD"),
        hourly_cents=pl.lit(0, pl.Int64),
    )
    prov = prov.with_columns(hourly_cents=pl.Series(rng.integers(11_000, 22_000, prov.height)))
    staff = net.staff.select(
        "employee_id",
        npi=pl.lit(None, pl.Utf8),
        cost_center_id="cost_center_id",
        job_code=pl.when(pl.col("cost_center_type") == "overhead")
        .then(pl.lit("ADMIN"))
        .when(pl.col("cost_center_type") == "ancillary")
        .then(pl.lit("TECH"))
        .otherwise(pl.lit("RN")),
        hourly_cents="hourly_cents",
    )
    emp = pl.concat([prov, staff], how="vertical_relaxed")
    if copies > 1:
        extra = [
            staff.with_columns(
                employee_id=pl.concat_str(
                    [pl.lit("E"), (pl.col("employee_id").str.slice(1).cast(pl.Int64) + 100_000 * k).cast(pl.Utf8)]
                )
            )
            for k in range(1, copies)
        ]
        emp = pl.concat([emp, *extra], how="vertical_relaxed")
    if ends:
        pp = pl.DataFrame({"pay_period_end_date": ends})
        payroll = emp.join(pp, how="cross").sort("pay_period_end_date", "employee_id", maintain_order=True)
        hours_centi = np.clip(rng.normal(8000, 600, payroll.height) * fte, 100, 11000).astype(np.int64)
        payroll = (
            payroll.with_columns(hours_centi=pl.Series(hours_centi))
            .with_columns(
                cost_cents=(pl.col("hours_centi") * pl.col("hourly_cents") + 50) // 100,
                period_id=pl.col("pay_period_end_date").dt.strftime("%Y-%m"),
            )
            .join(cc.select("cost_center_id", "facility_id"), on="cost_center_id", how="left", maintain_order="left")
        )
    else:
        payroll = pl.DataFrame(
            schema={
                "employee_id": pl.Utf8,
                "npi": pl.Utf8,
                "cost_center_id": pl.Utf8,
                "job_code": pl.Utf8,
                "hourly_cents": pl.Int64,
                "pay_period_end_date": pl.Date,
                "hours_centi": pl.Int64,
                "cost_cents": pl.Int64,
                "period_id": pl.Utf8,
                "facility_id": pl.Utf8,
            }
        )

    # ---- supply spend: invoices per cost center and month, scaled by its encounter volume
    vol = (
        encounters.join(
            net.departments.select("dept_idx", "cost_center_id"), on="dept_idx", how="left", maintain_order="left"
        )
        .with_columns(period_id=pl.col("start_ts").dt.strftime("%Y-%m"))
        .group_by("cost_center_id", "period_id")
        .len("encounters")
    )
    months = periods.select("period_id", "period_start_date", "period_end_date")
    ccm = (
        cc.filter(pl.col("cost_center_type") != "overhead")
        .join(months, how="cross")
        .join(vol, on=["cost_center_id", "period_id"], how="left", maintain_order="left")
        .with_columns(pl.col("encounters").fill_null(0))
        .sort("period_id", "cost_center_id", maintain_order=True)
    )
    ohm = (
        cc.filter(pl.col("cost_center_type") == "overhead")
        .join(months, how="cross")
        .sort("period_id", "cost_center_id", maintain_order=True)
    )
    inv = []
    categories = ["medical_surgical", "pharmaceuticals", "implants"]
    for row in ccm.iter_rows(named=True):
        k = int(rng.integers(2, 6))
        total = int(row["encounters"]) * int(rng.integers(2_500, 9_000)) + int(rng.integers(50_000, 400_000))
        for j in range(k):
            cat = (
                categories[j % 2] if not (row["service_line_code"] in SURGICAL_SERVICE_LINES and j == 2) else "implants"
            )
            inv.append(
                (
                    row["cost_center_id"],
                    row["facility_id"],
                    row["period_id"],
                    row["period_start_date"],
                    cat,
                    total // k + int(rng.integers(0, 5_000)),
                )
            )
    for row in ohm.iter_rows(named=True):
        inv.append(
            (
                row["cost_center_id"],
                row["facility_id"],
                row["period_id"],
                row["period_start_date"],
                "non_medical",
                int(rng.integers(20_000, 250_000)),
            )
        )
    sup = pl.DataFrame(
        inv,
        schema=["cost_center_id", "facility_id", "period_id", "month_start", "item_category", "amount_cents"],
        orient="row",
    )
    day_off = rng.integers(0, 28, sup.height)
    pick = rng.integers(0, 2, sup.height)
    sup = (
        sup.with_columns(
            invoice_date=pl.col("month_start") + pl.duration(days=pl.Series(day_off)),
            supplier_id=pl.Series(
                [
                    SUPPLIERS_BY_CATEGORY[c][p % len(SUPPLIERS_BY_CATEGORY[c])]
                    for c, p in zip(sup["item_category"].to_list(), pick.tolist(), strict=True)
                ],
                dtype=pl.Utf8,
            ),
        )
        .filter(pl.col("invoice_date") < pl.lit(as_of))
        .sort("invoice_date", "cost_center_id", "item_category", maintain_order=True)
    )
    sup = sup.with_columns(invoice_id="INV" + pl.int_range(100001, 100001 + pl.len()).cast(pl.Utf8))

    # ---- GL actuals
    root = pl.concat_str([pl.lit("CC-"), pl.col("facility_id"), pl.lit("-0001")])
    # payroll journals: one per facility and pay period end
    pay_acct = (
        pl.when(pl.col("job_code") == "MD")
        .then(pl.lit("6020"))
        .when(pl.col("job_code") == "ADMIN")
        .then(pl.lit("6030"))
        .otherwise(pl.lit("6010"))
    )
    pdeb = (
        payroll.with_columns(account_id=pay_acct)
        .group_by("facility_id", "pay_period_end_date", "cost_center_id", "account_id")
        .agg(pl.col("cost_cents").sum().alias("debit_cents"))
        .with_columns(
            credit_cents=pl.lit(0, pl.Int64),
            supplier_id=pl.lit(None, pl.Utf8),
            description=pl.lit("Payroll expense"),
            posting_date=pl.col("pay_period_end_date"),
        )
    )
    pcred = (
        pdeb.group_by("facility_id", "pay_period_end_date")
        .agg(pl.col("debit_cents").sum().alias("credit_cents"))
        .with_columns(
            cost_center_id=root,
            account_id=pl.lit("2100"),
            debit_cents=pl.lit(0, pl.Int64),
            supplier_id=pl.lit(None, pl.Utf8),
            description=pl.lit("Accrued payroll"),
            posting_date=pl.col("pay_period_end_date"),
        )
    )
    payroll_gl = pl.concat([pdeb, pcred.select(pdeb.columns)]).with_columns(
        source=pl.lit("payroll"),
        jkey=pl.concat_str([pl.lit("P"), pl.col("facility_id"), pl.col("pay_period_end_date").dt.strftime("%Y%m%d")]),
    )
    # supply journals: one per invoice
    sacct = pl.col("item_category").replace_strict(SUPPLY_CATEGORY_ACCOUNT)
    sdeb = sup.select(
        "facility_id",
        "cost_center_id",
        account_id=sacct,
        debit_cents="amount_cents",
        credit_cents=pl.lit(0, pl.Int64),
        supplier_id="supplier_id",
        description=pl.concat_str([pl.lit("Supplies invoice "), pl.col("invoice_id")]),
        posting_date="invoice_date",
        jkey=pl.concat_str([pl.lit("S"), pl.col("invoice_id")]),
    )
    scred = sdeb.with_columns(
        cost_center_id=root,
        account_id=pl.lit("2000"),
        credit_cents=pl.col("debit_cents"),
        debit_cents=pl.lit(0, pl.Int64),
    )
    supply_gl = pl.concat([sdeb, scred]).with_columns(source=pl.lit("supplies"))
    # other expense: one journal per facility, month and expense type, on the 15th
    other_rows = []
    for m in months.iter_rows(named=True):
        post = m["period_start_date"] + timedelta(days=14)
        if post >= as_of:
            continue
        for fid in net.facilities["facility_id"].to_list():
            for acct, ccnum, base, supplier, credit, desc in OTHER_EXPENSE:
                amt = max(100, int(base * volume * rng.uniform(0.85, 1.15)) // 100 * 100)
                key = f"O{fid}{post:%Y%m%d}{acct}"
                other_rows.append((fid, f"CC-{fid}-{ccnum:04d}", acct, amt, 0, supplier or None, desc, post, key))
                other_rows.append((fid, f"CC-{fid}-0001", credit, 0, amt, supplier or None, desc, post, key))
    cols = [
        "facility_id",
        "cost_center_id",
        "account_id",
        "debit_cents",
        "credit_cents",
        "supplier_id",
        "description",
        "posting_date",
        "jkey",
    ]
    other_gl = pl.DataFrame(other_rows, schema=cols, orient="row").with_columns(source=pl.lit("other"))
    gl = (
        pl.concat(
            [
                payroll_gl.select(cols + ["source"]),
                supply_gl.select(cols + ["source"]),
                other_gl.select(cols + ["source"]),
            ],
            how="vertical_relaxed",
        )
        .join(fac, on="facility_id", how="left", maintain_order="left")
        .with_columns(period_id=pl.col("posting_date").dt.strftime("%Y-%m"))
    )
    gl = gl.with_columns(_credit=pl.col("credit_cents") > 0).sort(
        "posting_date", "source", "jkey", "_credit", "cost_center_id", "account_id", maintain_order=True
    )
    jids = (
        gl.select("jkey")
        .unique(maintain_order=True)
        .with_columns(
            journal_id=pl.concat_str([pl.lit("GL"), pl.int_range(1, pl.len() + 1).cast(pl.Utf8).str.zfill(7)])
        )
    )
    gl = (
        gl.join(jids, on="jkey", how="left", maintain_order="left")
        .with_columns(line_number=pl.int_range(1, pl.len() + 1).over("journal_id"))
        .drop("_credit")
    )
    return Erp(periods=periods, payroll=payroll, supply_spend=sup, gl=gl)
