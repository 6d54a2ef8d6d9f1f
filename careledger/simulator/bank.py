"""Patient-side transactions (billing CSV export) and bank deposits (BAI2 prior-day files).

Patient side: every effective adjudication (a CLP that no later reversal negates) leaves a
patient responsibility. The copay is collected at the point of service (on the statement
from date); the rest is paid on a statement, partly paid and the remainder written off as
bad debt, written off as bad debt, or adjusted as charity. Amounts are positive reductions
of the patient balance.

Bank side: one BAI2 file per legal entity and day with a deposit. Each 835 payment (BPR*I,
amount BPR02 > 0) arrives as a preauthorized ACH credit (type 165) whose customer reference
is the 835 TRN02 trace number; the patient cash of a legal entity and day arrives as one
lockbox deposit (type 115) whose customer reference is the lockbox batch that the patient
transactions export names. Faults (``faults`` > 0): a deposit with no 835, an 835 whose
deposit never arrives, and a deposit whose amount is the claim payments before the PLB
(so it differs from BPR02 by the provider-level adjustment).

Money is integer cents; BAI2 amounts are written in cents without a decimal point.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

from careledger.simulator.billing import Billing
from careledger.simulator.network import Network

BANK_ID = "071000013"  # the health system's bank (routing number of the BPR receiving DFI)
RECEIVER_ID = "CARELEDGER"
PATIENT_TX_FILE = "billing/patient_transactions/patient_transactions.csv"
BAI2_DIR = "bank/bai2"

#: BAI2 detail type codes the simulator writes (BAI2 specification, section 5)
TYPE_ACH_CREDIT = "165"  # preauthorized ACH credit
TYPE_LOCKBOX = "115"  # lockbox deposit


@dataclass(frozen=True)
class BankOutput:
    accounts: pl.DataFrame  # legal_entity_id, account_number
    patient_transactions: pl.DataFrame  # one row per patient transaction (cents)
    deposits: pl.DataFrame  # one row per BAI2 detail written
    reconciliation: pl.DataFrame  # ground truth: one row per ERA and per deposit
    files: list[tuple[str, str]]  # (relative path, text)
    fault_records: dict[str, list[dict]]


def bank_accounts(net: Network) -> pl.DataFrame:
    """One operating account per legal entity (`LE10` -> `4410000010`)."""
    return net.legal_entities.select(
        "legal_entity_id",
        account_number=pl.lit("44100000") + pl.col("legal_entity_id").str.slice(2).str.zfill(2),
    )


def build_patient_transactions(
    rng: np.random.Generator, billing: Billing, net: Network, *, as_of: date
) -> pl.DataFrame:
    inst = billing.instances
    reversed_ids = inst.filter(pl.col("kind") == "reversal").select(pl.col("reversed_inst_id").alias("inst_id"))
    eff = (
        inst.filter(pl.col("kind") != "reversal")
        .join(reversed_ids, on="inst_id", how="anti")
        .filter(pl.col("patient_resp") > 0)
        .join(
            billing.claims.select("claim_idx", "claim_id", "statement_from_date"),
            on="claim_idx",
            how="left",
            maintain_order="left",
        )
        .join(
            net.facilities.select("facility_idx", "legal_entity_id"),
            on="facility_idx",
            how="left",
            maintain_order="left",
        )
        .sort("inst_id", maintain_order=True)
    )
    n = eff.height
    u = rng.random(n)
    d_pay = rng.integers(20, 61, n)
    d_wo = rng.integers(30, 61, n)
    d_late = rng.integers(45, 76, n)
    d_ch = rng.integers(20, 46, n)
    copay = eff["copay"].to_numpy()
    rest = eff["patient_resp"].to_numpy() - copay
    remit = eff["remit_date"].to_numpy().astype("datetime64[D]")
    pos = eff["statement_from_date"].to_numpy().astype("datetime64[D]")
    full = u < 0.55
    part = (u >= 0.55) & (u < 0.75)
    bad = (u >= 0.75) & (u < 0.9)
    charity = u >= 0.9
    half = rest // 2
    base = {
        "claim_id": eff["claim_id"].to_numpy(),
        "legal_entity_id": eff["legal_entity_id"].to_numpy(),
    }

    def rows(kind: str, mask: np.ndarray, when: np.ndarray, amount: np.ndarray) -> pl.DataFrame:
        mask = mask & (amount > 0)
        return pl.DataFrame(
            {
                "claim_id": pl.Series(base["claim_id"][mask].tolist(), dtype=pl.Utf8),
                "legal_entity_id": pl.Series(base["legal_entity_id"][mask].tolist(), dtype=pl.Utf8),
                "transaction_type": pl.Series([kind] * int(mask.sum()), dtype=pl.Utf8),
                "transaction_date": pl.Series(when[mask], dtype=pl.Date),
                "amount_cents": pl.Series(amount[mask], dtype=pl.Int64),
            }
        )

    ones = np.ones(n, bool)
    parts = [
        rows("copay", ones, pos, copay),
        rows("payment", full, remit + d_pay.astype("timedelta64[D]"), rest),
        rows("payment", part, remit + d_pay.astype("timedelta64[D]"), half),
        rows("bad_debt", part, remit + d_late.astype("timedelta64[D]"), rest - half),
        rows("bad_debt", bad, remit + d_wo.astype("timedelta64[D]"), rest),
        rows("charity", charity, remit + d_ch.astype("timedelta64[D]"), rest),
    ]
    tx = pl.concat(parts).filter(pl.col("transaction_date") < np.datetime64(as_of, "D"))
    tx = tx.sort("transaction_date", "claim_id", "transaction_type", maintain_order=True)
    cash = pl.col("transaction_type").is_in(["copay", "payment"])
    return tx.with_columns(
        transaction_id="PT" + pl.int_range(1, pl.len() + 1).cast(pl.Utf8).str.zfill(9),
        payment_method=pl.when(pl.col("transaction_type") == "copay")
        .then(pl.lit("card"))
        .when(pl.col("transaction_type") == "payment")
        .then(pl.lit("check"))
        .otherwise(pl.lit("")),
        deposit_reference=pl.when(cash)
        .then(
            pl.concat_str([pl.lit("LBX"), pl.col("legal_entity_id"), pl.col("transaction_date").dt.strftime("%Y%m%d")])
        )
        .otherwise(pl.lit("")),
    )


def build_deposits(
    rng: np.random.Generator,
    transactions: pl.DataFrame,
    patient_tx: pl.DataFrame,
    net: Network,
    *,
    faults: float,
    as_of: date,
) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, list[dict]]]:
    """(deposits written, reconciliation ground truth, fault records)."""
    le_by_npi = net.facilities.select(pl.col("npi").alias("payee_npi"), "legal_entity_id")
    eras = (
        transactions.filter(pl.col("bpr_amt") > 0)
        .join(le_by_npi, on="payee_npi", how="left", maintain_order="left")
        .select(
            "legal_entity_id",
            deposit_date="remit_date",
            reference="trace_number",
            payer_tin="payer_tin",
            era_cents="bpr_amt",
            plb_cents=pl.when(pl.col("fb") == 0).then(pl.col("interest")).otherwise(0),
            era_landed=~pl.col("faulted"),
            era_file="file",
            era_st_index="st_index",
        )
    )
    n = eras.height
    deposit_cents = eras["era_cents"].to_numpy().copy()
    has_deposit = np.ones(n, bool)
    records: dict[str, list[dict]] = {
        "deposit_without_835": [],
        "835_without_deposit": [],
        "deposit_plb_difference": [],
    }
    if faults > 0 and n:
        k = int(np.floor(faults * n + 0.5))
        if k:
            drop = rng.choice(n, size=min(k, n), replace=False)
            has_deposit[drop] = False
        # interest only (no forward balance), so the deposit stays a positive credit
        interest_only = (eras["plb_cents"].to_numpy() != 0) & (eras["plb_cents"].to_numpy() + deposit_cents > 0)
        with_plb = np.flatnonzero(interest_only & has_deposit)
        if with_plb.size:
            pick = rng.choice(with_plb, size=max(1, min(k, with_plb.size)), replace=False)
            deposit_cents[pick] = deposit_cents[pick] + eras["plb_cents"].to_numpy()[pick]
    eras = eras.with_columns(deposit_cents=pl.Series(deposit_cents, dtype=pl.Int64), has_deposit=pl.Series(has_deposit))
    for r in eras.filter(~pl.col("has_deposit")).iter_rows(named=True):
        records["835_without_deposit"].append(
            {
                "file": r["era_file"],
                "record_index": r["era_st_index"],
                "reason": f"no deposit for trace {r['reference']}",
            }
        )
    era_deposits = eras.filter(pl.col("has_deposit")).select(
        "legal_entity_id",
        "deposit_date",
        type_code=pl.lit(TYPE_ACH_CREDIT),
        reference="reference",
        text=pl.concat_str([pl.lit("TRN*1*"), pl.col("reference"), pl.lit("*"), pl.col("payer_tin"), pl.lit("\\")]),
        amount_cents="deposit_cents",
    )
    lockbox = (
        patient_tx.filter(pl.col("deposit_reference") != "")
        .group_by("legal_entity_id", "transaction_date", "deposit_reference")
        .agg(pl.col("amount_cents").sum())
        .sort("transaction_date", "legal_entity_id", maintain_order=True)
        .select(
            "legal_entity_id",
            deposit_date="transaction_date",
            type_code=pl.lit(TYPE_LOCKBOX),
            reference="deposit_reference",
            text=pl.lit("LOCKBOX DEPOSIT"),
            amount_cents="amount_cents",
        )
    )
    stray = pl.DataFrame(schema=era_deposits.schema)
    if faults > 0 and n:
        k = max(1, int(np.floor(faults * n * 0.5 + 0.5)))
        src = eras.gather(rng.choice(n, size=k, replace=False).tolist())
        stray = src.select(
            "legal_entity_id",
            "deposit_date",
            type_code=pl.lit(TYPE_ACH_CREDIT),
            reference=pl.lit("9") + pl.col("reference").str.slice(1),
            text=pl.lit("TRN*1*") + pl.lit("9") + pl.col("reference").str.slice(1) + pl.lit("*1999999999\\"),
            amount_cents=pl.Series(rng.integers(5_000, 500_000, k), dtype=pl.Int64),
        )
    deposits = (
        pl.concat([era_deposits, stray, lockbox])
        .filter(pl.col("deposit_date") < np.datetime64(as_of, "D"))
        .sort("legal_entity_id", "deposit_date", "type_code", "reference", maintain_order=True)
    )
    for r in stray.iter_rows(named=True):
        records["deposit_without_835"].append(
            {
                "file": bai2_path(r["legal_entity_id"], r["deposit_date"]),
                "record_index": None,
                "reason": f"ACH credit with trace {r['reference']} matches no 835",
            }
        )
    for r in eras.filter(pl.col("has_deposit") & (pl.col("deposit_cents") != pl.col("era_cents"))).iter_rows(
        named=True
    ):
        records["deposit_plb_difference"].append(
            {
                "file": bai2_path(r["legal_entity_id"], r["deposit_date"]),
                "record_index": None,
                "reason": f"deposit for trace {r['reference']} differs from BPR02 by the PLB",
            }
        )

    # ---- ground truth: ERAs that landed vs deposits, matched on reference
    landed_eras = eras.filter(pl.col("era_landed")).select(
        "legal_entity_id", "deposit_date", "reference", "era_cents", source=pl.lit("era")
    )
    lockbox_expected = lockbox.select(
        "legal_entity_id", "deposit_date", "reference", era_cents="amount_cents", source=pl.lit("lockbox")
    )
    expected = pl.concat([landed_eras, lockbox_expected])
    dep = deposits.select(
        pl.col("legal_entity_id").alias("dep_le"),
        pl.col("deposit_date").alias("dep_date"),
        "reference",
        "amount_cents",
    )
    recon = expected.join(dep, on="reference", how="full", coalesce=True, maintain_order="left")
    recon = recon.with_columns(
        legal_entity_id=pl.coalesce("legal_entity_id", "dep_le"),
        deposit_date=pl.coalesce("dep_date", "deposit_date"),
        source=pl.col("source").fill_null("era"),
        status=pl.when(pl.col("era_cents").is_null())
        .then(pl.lit("deposit_without_remittance"))
        .when(pl.col("amount_cents").is_null())
        .then(pl.lit("remittance_without_deposit"))
        .when(pl.col("era_cents") != pl.col("amount_cents"))
        .then(pl.lit("amount_mismatch"))
        .otherwise(pl.lit("matched")),
    ).select(
        "legal_entity_id",
        "deposit_date",
        "source",
        "reference",
        remittance_cents="era_cents",
        deposit_cents="amount_cents",
        status="status",
    )
    recon = recon.sort("legal_entity_id", "deposit_date", "source", "reference", maintain_order=True)
    return deposits, recon, records


def bai2_path(legal_entity_id: str, day: date) -> str:
    return f"{BAI2_DIR}/{legal_entity_id}_{day:%Y%m%d}.bai"


def bai2_files(deposits: pl.DataFrame, accounts: pl.DataFrame) -> list[tuple[str, str]]:
    """One BAI2 file per legal entity and deposit date: 01/02/03, one 16 per deposit, 49/98/99."""
    acct = dict(accounts.select("legal_entity_id", "account_number").iter_rows())
    out: list[tuple[str, str]] = []
    groups = deposits.partition_by("legal_entity_id", "deposit_date", as_dict=True, maintain_order=True)
    for seq, ((le, day), part) in enumerate(sorted(groups.items()), start=1):
        created = day + timedelta(days=1)
        details = [
            f"16,{t},{a},0,{i:010d},{ref},{text}"
            for i, (t, a, ref, text) in enumerate(
                part.select("type_code", "amount_cents", "reference", "text").iter_rows(), start=1
            )
        ]
        total = int(part["amount_cents"].sum())
        credits = len(details)
        account = [f"03,{acct[le]},USD,100,{total},{credits},/", *details]
        account.append(f"49,{total * 2},{len(account) + 1}/")  # 03 summary + 16 details
        records = [
            f"01,{BANK_ID},{RECEIVER_ID},{created:%y%m%d},0600,{seq},,,2/",
            f"02,{RECEIVER_ID},{BANK_ID},1,{day:%y%m%d},2400,USD,2/",
            *account,
            f"98,{total * 2},1,{len(account) + 2}/",
        ]
        records.append(f"99,{total * 2},1,{len(records) + 1}/")
        out.append((bai2_path(le, day), "\n".join(records) + "\n"))
    return out


def build_bank(
    rng: np.random.Generator,
    billing: Billing,
    transactions: pl.DataFrame,
    net: Network,
    *,
    faults: float,
    as_of: date,
) -> BankOutput:
    accounts = bank_accounts(net)
    patient_tx = build_patient_transactions(rng, billing, net, as_of=as_of)
    if transactions.height == 0 or "trace_number" not in transactions.columns:
        transactions = pl.DataFrame(
            schema={
                "file": pl.Utf8,
                "st_index": pl.Int64,
                "faulted": pl.Boolean,
                "interest": pl.Int64,
                "fb": pl.Int64,
                "bpr_amt": pl.Int64,
                "trace_number": pl.Utf8,
                "payer_tin": pl.Utf8,
                "remit_date": pl.Date,
                "payee_npi": pl.Utf8,
            }
        )
    deposits, recon, records = build_deposits(rng, transactions, patient_tx, net, faults=faults, as_of=as_of)
    return BankOutput(
        accounts=accounts,
        patient_transactions=patient_tx,
        deposits=deposits,
        reconciliation=recon,
        files=bai2_files(deposits, accounts),
        fault_records=records,
    )
