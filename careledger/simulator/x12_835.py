"""X12 005010X221A1 (835) remittance files, built with polars string expressions.

One file per payer and remit date (``<payer_code>_<YYYYMMDD>_1.835``), one ST..SE transaction
set (one payment: BPR/TRN) per payee within it, CLP loops per adjudication instance and SVC
loops per service line. Segments end with ``~`` followed by a newline.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from careledger.simulator.billing import FILING_INDICATOR, Billing
from careledger.simulator.network import Network
from careledger.simulator.reference import money

SEG = "~\n"
RECEIVER_ID = "CARELEDGER"
PAYER_ADDRESS = ("PO BOX 4400", "SPRINGFIELD", "IL", "62708")


@dataclass(frozen=True)
class RemitOutput:
    files: list[tuple[str, str]]  # (relative path, text)
    transactions: pl.DataFrame  # file, st_index (1-based in file), st_control, faulted
    instance_st: pl.DataFrame  # inst_id -> file, st_index
    plb_total_cents: int


def _seg(*parts: pl.Expr | str) -> pl.Expr:
    return pl.concat_str([p if isinstance(p, pl.Expr) else pl.lit(p) for p in parts])


def build_835(
    rng: np.random.Generator,
    billing: Billing,
    patients: pl.DataFrame,
    net: Network,
    *,
    faults: float,
    file_prefix: str = "billing/remits",
) -> RemitOutput:
    inst = billing.instances
    if inst.height == 0:
        return RemitOutput(
            [],
            pl.DataFrame(schema={"file": pl.Utf8, "st_index": pl.Int64, "st_control": pl.Utf8, "faulted": pl.Boolean}),
            pl.DataFrame(schema={"inst_id": pl.Int64, "file": pl.Utf8, "st_index": pl.Int64}),
            0,
        )
    claims = billing.claims
    prov = net.providers
    payers = net.payers
    fac = net.facilities

    # ---- claim-level attributes for each instance
    c = claims.select(
        "claim_idx",
        "patient_idx",
        "provider_idx",
        "claim_type",
        "enc_class",
        "drg_code",
        "los",
        "statement_from_date",
        "statement_to_date",
        "submitted_date",
        "freq",
        "payer_idx",
        pl.col("setting"),
    )
    pat = patients.select("patient_idx", "family", "given", "member_id")
    pr = prov.select(
        "provider_idx",
        pl.col("family").alias("prov_family"),
        pl.col("given").alias("prov_given"),
        pl.col("npi").alias("rendering_npi"),
    )
    pay = payers.select("payer_idx", "payer_code", "payer_name", "payer_class", "x12_payer_id")
    df = (
        inst.join(c.drop("payer_idx"), on="claim_idx", how="left", maintain_order="left")
        .join(pat, on="patient_idx", how="left", maintain_order="left")
        .join(pr, on="provider_idx", how="left", maintain_order="left")
        .join(pay, on="payer_idx", how="left", maintain_order="left")
        .sort("inst_id", maintain_order=True)
    )
    facility_type_code = (
        pl.when(pl.col("claim_type") == "P")
        .then(pl.lit("11"))
        .when(pl.col("enc_class") == "IMP")
        .then(pl.lit("11"))
        .otherwise(pl.lit("13"))
    )
    clp_freq = pl.when(pl.col("kind") == "reversal").then(pl.lit("1")).otherwise(pl.col("freq").cast(pl.Utf8))
    df = df.with_columns(
        filing=pl.col("payer_class").replace_strict(FILING_INDICATOR, default="ZZ"),
        ftc=facility_type_code,
        clp_freq=clp_freq,
    )
    clp = _seg(
        "CLP*",
        pl.col("patient_control_number"),
        "*",
        pl.col("status"),
        "*",
        money("charge"),
        "*",
        money("paid"),
        "*",
        money("patient_resp"),
        "*",
        pl.col("filing"),
        "*",
        pl.col("icn"),
        "*",
        pl.col("ftc"),
        "*",
        pl.col("clp_freq"),
        pl.when(pl.col("drg_code").is_not_null())
        .then(pl.concat_str([pl.lit("**"), pl.col("drg_code")]))
        .otherwise(pl.lit("")),
    )
    nm1_qc = _seg(
        "NM1*QC*1*",
        pl.col("family").str.to_uppercase(),
        "*",
        pl.col("given").str.to_uppercase(),
        "****MI*",
        pl.col("member_id").fill_null("UNKNOWN"),
    )
    nm1_82 = _seg(
        "NM1*82*1*",
        pl.col("prov_family").str.to_uppercase(),
        "*",
        pl.col("prov_given").str.to_uppercase(),
        "****XX*",
        pl.col("rendering_npi"),
    )
    is_ip = pl.col("enc_class") == "IMP"
    mia = pl.when(is_ip).then(
        _seg(
            "MIA*",
            pl.when(pl.col("status") == "4").then(pl.lit("0")).otherwise(pl.col("los").cast(pl.Utf8)),
            "***",
            money("allowed"),
            pl.when((pl.col("denial") != 0) & (pl.col("den_rarc").fill_null("") != ""))
            .then(pl.concat_str([pl.lit("*"), pl.col("den_rarc")]))
            .otherwise(pl.lit("")),
        )
    )
    moa = pl.when(~is_ip & pl.col("payer_class").is_in(["medicare", "medicaid"])).then(pl.lit("MOA***MA01"))
    dtm232 = pl.when(pl.col("claim_type") == "I").then(
        _seg("DTM*232*", pl.col("statement_from_date").dt.strftime("%Y%m%d"))
    )
    dtm233 = pl.when(pl.col("claim_type") == "I").then(
        _seg("DTM*233*", pl.col("statement_to_date").dt.strftime("%Y%m%d"))
    )
    dtm050 = _seg("DTM*050*", pl.col("submitted_date").dt.strftime("%Y%m%d"))
    amt_au = pl.when(pl.col("allowed") != 0).then(_seg("AMT*AU*", money("allowed")))

    # ---- CAS segments per unit (claim-level for inpatient, line-level otherwise)
    u = billing.units

    # one CAS segment per group code and unit: the denial (CO/OA), CO-45, and PR-1/2/3 triplets
    def triplet(code: str, col: str) -> pl.Expr:
        return pl.when(pl.col(col) != 0).then(pl.concat_str([pl.lit(code + "*"), money(col)]))

    pr_trips = pl.concat_str(
        [triplet("1", "ded"), triplet("2", "coins"), triplet("3", "copay")], separator="**", ignore_nulls=True
    )
    den_seg = pl.when(pl.col("denied") & (pl.col("denial") != 0)).then(
        pl.concat_str(
            [pl.lit("CAS*"), pl.col("den_group"), pl.lit("*"), pl.col("den_carc"), pl.lit("*"), money("denial")]
        )
    )
    co_seg = pl.when(pl.col("contractual") != 0).then(pl.concat_str([pl.lit("CAS*CO*45*"), money("contractual")]))
    pr_seg = pl.when(pr_trips != "").then(pl.concat_str([pl.lit("CAS*PR*"), pr_trips]))
    cas_seg = u.select(
        "inst_id",
        "unit_no",
        cas=pl.concat_str([den_seg, co_seg, pr_seg], separator=SEG, ignore_nulls=True),
        cas_n=den_seg.is_not_null().cast(pl.Int64)
        + co_seg.is_not_null().cast(pl.Int64)
        + pr_seg.is_not_null().cast(pl.Int64),
    ).filter(pl.col("cas_n") > 0)
    claim_cas = cas_seg.filter(pl.col("unit_no") == 0).select("inst_id", claim_cas="cas", claim_cas_n="cas_n")

    # ---- SVC loops
    lines = billing.lines.select(
        "claim_idx",
        pl.col("line_number").alias("unit_no"),
        "procedure_code",
        "revenue_code",
        "modifiers",
        "units",
        "service_date",
    )
    svc = (
        u.filter(pl.col("unit_no") > 0)
        .join(lines, on=["claim_idx", "unit_no"], how="left", maintain_order="left")
        .join(cas_seg.filter(pl.col("unit_no") > 0), on=["inst_id", "unit_no"], how="left", maintain_order="left")
        .join(claims.select("claim_idx", "claim_id"), on="claim_idx", how="left", maintain_order="left")
    )
    comp = (
        pl.when(pl.col("procedure_code") == "")
        .then(pl.concat_str([pl.lit("NU:"), pl.col("revenue_code")]))
        .otherwise(
            pl.concat_str(
                [
                    pl.lit("HC:"),
                    pl.col("procedure_code"),
                    pl.when(pl.col("modifiers") != "")
                    .then(pl.concat_str([pl.lit(":"), pl.col("modifiers")]))
                    .otherwise(pl.lit("")),
                ]
            )
        )
    )
    svc_rev = (
        pl.when((pl.col("procedure_code") != "") & (pl.col("revenue_code") != ""))
        .then(pl.col("revenue_code"))
        .otherwise(pl.lit(""))
    )
    svc = svc.with_columns(
        block=pl.concat_str(
            [
                _seg(
                    "SVC*",
                    comp,
                    "*",
                    money("charge"),
                    "*",
                    money("paid"),
                    "*",
                    svc_rev,
                    "*",
                    pl.col("units").cast(pl.Utf8),
                ),
                _seg("DTM*472*", pl.col("service_date").dt.strftime("%Y%m%d")),
                pl.col("cas"),
                _seg("REF*6R*", pl.col("claim_id"), "-", pl.col("unit_no").cast(pl.Utf8)),
                pl.when(pl.col("allowed") != 0).then(_seg("AMT*B6*", money("allowed"))),
                pl.when(pl.col("den_rarc") != "").then(_seg("LQ*HE*", pl.col("den_rarc"))),
            ],
            separator=SEG,
            ignore_nulls=True,
        ),
        nseg=3
        + pl.col("cas_n").fill_null(0)
        + (pl.col("allowed") != 0).cast(pl.Int64)
        + (pl.col("den_rarc") != "").cast(pl.Int64),
    )
    svc_agg = (
        svc.sort("inst_id", "unit_no", maintain_order=True)
        .group_by("inst_id", maintain_order=True)
        .agg(pl.col("block").str.join(SEG).alias("svc_block"), pl.col("nseg").sum().alias("svc_n"))
    )

    df = (
        df.join(claim_cas, on="inst_id", how="left", maintain_order="left")
        .join(svc_agg, on="inst_id", how="left", maintain_order="left")
        .sort("inst_id", maintain_order=True)
    )
    seg_cols = [clp, pl.col("claim_cas"), nm1_qc, nm1_82, mia, moa, dtm232, dtm233, dtm050, amt_au, pl.col("svc_block")]
    df = df.with_columns(
        clp_block=pl.concat_str(seg_cols, separator=SEG, ignore_nulls=True),
        clp_n=(
            3
            + pl.col("claim_cas_n").fill_null(0)
            + is_ip.cast(pl.Int64)
            + (~is_ip & pl.col("payer_class").is_in(["medicare", "medicaid"])).cast(pl.Int64)
            + 2 * (pl.col("claim_type") == "I").cast(pl.Int64)
            + 1
            + (pl.col("allowed") != 0).cast(pl.Int64)
            + pl.col("svc_n").fill_null(0)
        ),
    )

    # ---- transaction sets (one per payer x remit date x payee) and files
    st = (
        df.group_by("payer_idx", "remit_date", "payee_npi", maintain_order=True)
        .agg(
            pl.col("clp_block").str.join(SEG).alias("body"),
            pl.col("clp_n").sum().alias("body_n"),
            pl.col("paid").sum().alias("paid_total"),
            pl.len().alias("claim_count"),
            pl.col("inst_id"),
        )
        .sort("remit_date", "payer_idx", "payee_npi", maintain_order=True)
        .with_columns(st_seq=pl.int_range(1, pl.len() + 1))
    )
    m = st.height
    # provider-level adjustments: interest on some payments; forward balance when net negative
    interest = np.where(rng.random(m) < 0.08, -rng.integers(100, 4500, m), 0)
    st = st.with_columns(interest=pl.Series(interest.astype(np.int64)))
    st = st.with_columns(net=pl.col("paid_total") - pl.col("interest"))
    st = st.with_columns(fb=pl.when(pl.col("net") < 0).then(pl.col("net")).otherwise(0))
    st = st.with_columns(bpr_amt=pl.col("net") - pl.col("fb"))
    st = (
        st.join(pay, on="payer_idx", how="left", maintain_order="left")
        .join(
            fac.select(
                pl.col("npi").alias("payee_npi"), "facility_name", "address_line", "city", "state", "zip", "tax_id"
            ),
            on="payee_npi",
            how="left",
            maintain_order="left",
        )
        .sort("st_seq", maintain_order=True)
    )
    st = st.with_columns(
        file=pl.concat_str(
            [
                pl.lit(file_prefix + "/"),
                pl.col("payer_code"),
                pl.lit("_"),
                pl.col("remit_date").dt.strftime("%Y%m%d"),
                pl.lit("_1.835"),
            ]
        ),
    )
    st = st.with_columns(st_index=pl.int_range(1, pl.len() + 1).over("file"))
    st = st.with_columns(st_control=pl.col("st_index").cast(pl.Utf8).str.zfill(4))
    payer_tin = pl.concat_str([pl.lit("1"), pl.col("x12_payer_id"), pl.lit("0000")])
    date8 = pl.col("remit_date").dt.strftime("%Y%m%d")
    trace = pl.concat_str([pl.col("remit_date").dt.strftime("%y%m%d"), pl.col("st_seq").cast(pl.Utf8).str.zfill(7)])
    st = st.with_columns(trace_number=trace, payer_tin=payer_tin)
    bpr = (
        pl.when(pl.col("bpr_amt") > 0)
        .then(
            _seg(
                "BPR*I*",
                money("bpr_amt"),
                "*C*ACH*CCP*01*071000013*DA*",
                pl.col("x12_payer_id"),
                "0042*",
                payer_tin,
                "**01*071904779*DA*",
                pl.col("tax_id").str.replace("-", ""),
                "*",
                date8,
            )
        )
        .otherwise(_seg("BPR*H*", money("bpr_amt"), "*C*NON************", date8))
    )
    plb_parts = pl.concat_str(
        [
            pl.when(pl.col("interest") != 0).then(_seg("*L6:", trace, "*", money("interest"))),
            pl.when(pl.col("fb") != 0).then(_seg("*FB:", trace, "*", money("fb"))),
        ],
        ignore_nulls=True,
    )
    plb = pl.when((pl.col("interest") != 0) | (pl.col("fb") != 0)).then(
        _seg("PLB*", pl.col("payee_npi"), "*", pl.col("remit_date").dt.strftime("%Y") + "1231", plb_parts)
    )
    header = pl.concat_str(
        [
            _seg("ST*835*", pl.col("st_control")),
            bpr,
            _seg("TRN*1*", trace, "*", payer_tin),
            _seg("REF*EV*", pl.lit(RECEIVER_ID)),
            _seg("DTM*405*", date8),
            _seg("N1*PR*", pl.col("payer_name").str.to_uppercase(), "*XV*", pl.col("x12_payer_id")),
            pl.lit(f"N3*{PAYER_ADDRESS[0]}"),
            pl.lit(f"N4*{PAYER_ADDRESS[1]}*{PAYER_ADDRESS[2]}*{PAYER_ADDRESS[3]}"),
            pl.lit("PER*BL*PROVIDER SERVICES*TE*8005550100"),
            _seg("N1*PE*", pl.col("facility_name").str.to_uppercase(), "*XX*", pl.col("payee_npi")),
            _seg("N3*", pl.col("address_line").str.to_uppercase()),
            _seg("N4*", pl.col("city").str.to_uppercase(), "*", pl.col("state"), "*", pl.col("zip")),
            _seg("REF*TJ*", pl.col("tax_id").str.replace("-", "")),
            pl.lit("LX*1"),
        ],
        separator=SEG,
    )
    header_n = 14
    st = st.with_columns(
        seg_count=header_n + pl.col("body_n") + (pl.col("interest").ne(0) | pl.col("fb").ne(0)).cast(pl.Int64) + 1,
    )
    # fault: SE01 that does not match the segment count
    bad = (rng.random(m) < faults).astype(bool)
    st = st.with_columns(
        faulted=pl.Series(bad),
        se_count=pl.col("seg_count") + pl.when(pl.Series(bad)).then(pl.lit(3)).otherwise(pl.lit(0)),
    )
    st = st.with_columns(
        text=pl.concat_str(
            [header, pl.col("body"), plb, _seg("SE*", pl.col("se_count").cast(pl.Utf8), "*", pl.col("st_control"))],
            separator=SEG,
            ignore_nulls=True,
        )
    )
    files = (
        st.group_by("file", maintain_order=True)
        .agg(
            pl.col("text").str.join(SEG).alias("body"),
            pl.len().alias("n_st"),
            pl.col("x12_payer_id").first(),
            pl.col("remit_date").first(),
        )
        .sort("remit_date", "file", maintain_order=True)
        .with_columns(icn=pl.int_range(1, pl.len() + 1) + 100_000_000)
    )
    out: list[tuple[str, str]] = []
    for fname, body, n_st, sender, rdate, icn in files.select(
        "file", "body", "n_st", "x12_payer_id", "remit_date", "icn"
    ).iter_rows():
        icn9 = f"{icn:09d}"
        gcn = str(icn % 1_000_000_000)
        isa = (
            f"ISA*00*          *00*          *ZZ*{sender:<15}*ZZ*{RECEIVER_ID:<15}*"
            f"{rdate:%y%m%d}*0600*^*00501*{icn9}*0*P*:"
        )
        gs = f"GS*HP*{sender}*{RECEIVER_ID}*{rdate:%Y%m%d}*0600*{gcn}*X*005010X221A1"
        text = SEG.join([isa, gs, body, f"GE*{n_st}*{gcn}", f"IEA*1*{icn9}"]) + SEG
        out.append((fname, text))
    instance_st = st.select("file", "st_index", "inst_id").explode("inst_id")
    return RemitOutput(
        files=out,
        transactions=st.select(
            "file",
            "st_index",
            "st_control",
            "faulted",
            "claim_count",
            "interest",
            "fb",
            "bpr_amt",
            "paid_total",
            "trace_number",
            "payer_tin",
            "remit_date",
            "payee_npi",
        ),
        instance_st=instance_st,
        plb_total_cents=int(st["interest"].sum() + st["fb"].sum()),
    )


def write_files(root: Path, files: list[tuple[str, str]]) -> None:
    for rel, text in files:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(text.encode("ascii"))
