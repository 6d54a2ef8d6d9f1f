"""EHR-side charges and accounts as an interface engine sends them: HL7 v2 DFT^P03 (detail
financial transactions) and BAR^P01/P05/P12 (patient accounts), for a share of encounters.

The EHR captures a charge for every claim line of the encounter's original claim (one DFT
message per encounter and service date, one FT1 per charge, PR1 after the first, DG1 last),
except that, as in a real charge-capture process:

- a small share of encounters lose one later day's charge batch (the interface never sent it:
  the mart's ``claim_only``), and a small share of claim lines never had an EHR charge
  (entered straight in the billing system: that day's ``amount_difference``);
- a small share of EHR charges carry a different amount than the claim line (a charge master
  price changed between capture and billing: ``amount_difference``);
- a small share of encounters get a late charge, dated the day after the claim's statement
  period, posted after the claim was submitted and never billed (leakage: ``ehr_only``).

BAR accounts cover a share of every encounter that began before the as-of date, billed or not:
the unbilled ones (discharged awaiting final codes, or coded awaiting a bill; in house if an
encounter ran past the as-of date) are the account side of DNFB, and ``ground_truth/patient_accounts.csv`` gives each account's state.

Messages are written to the HL7 drop folder (``ehr/adt/dft_YYYYMMDD.hl7`` and
``bar_YYYYMMDD.hl7``) after every other output, from their own random stream, so claims,
remits, journals and every other file are byte-identical to a run without them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

import numpy as np
import polars as pl

from careledger.simulator.billing import Billing
from careledger.simulator.catalog import Catalog
from careledger.simulator.ehr import j, ts_hl7
from careledger.simulator.network import Network
from careledger.simulator.reference import money

DFT_FOLDER = "ehr/adt"


@dataclass(frozen=True)
class ChargeFeed:
    messages: pl.DataFrame  # file, msg_index, kind (DFT/BAR), trigger, text
    ehr_charges: pl.DataFrame  # one row per FT1: encounter_id, service_date, amount_cents, fate
    omitted_lines: pl.DataFrame  # claim lines with no EHR charge: claim_idx, line_number, charge_cents
    accounts: pl.DataFrame  # one row per BAR account: encounter_id, patient_control_number, account_state
    # resent_dft_messages (sent twice), resent_transactions (FT1s in them: two versions each),
    # ft1_sent (every FT1 row sent, resends included), ft1_sent_amount_cents (FT1-11 as sent)
    sent: dict[str, int]


def field_string(sid: str, fields: dict[int, pl.Expr | str]) -> pl.Expr:
    """A segment with the given fields at their standard (1-based) positions, empty ones between."""
    last = max(fields)
    parts: list[pl.Expr | str] = [sid]
    for n in range(1, last + 1):
        parts.append("|")
        value = fields.get(n)
        if value is not None:
            parts.append(value.fill_null("") if isinstance(value, pl.Expr) else value)
    return j(*parts)


def build_charge_feed(
    rng: np.random.Generator,
    *,
    billing: Billing,
    encounters: pl.DataFrame,
    patients: pl.DataFrame,
    net: Network,
    catalog: Catalog,
    as_of: date,
    dft_share: float,
    bar_share: float,
    missing_share: float = 0.02,
    lost_day_share: float = 0.15,
    repriced_share: float = 0.02,
    late_share: float = 0.05,
    credit_share: float = 0.02,
    resend_share: float = 0.03,
) -> ChargeFeed:
    """DFT messages for a share of the encounters that have a claim and BAR messages for a share
    of every encounter (billed or not yet), with their truth."""
    originals = billing.claims.filter(pl.col("freq") == 1).sort("enc_idx", "claim_idx")
    n = originals.height
    u = rng.random((n, 3))
    covered = originals.filter(pl.Series(u[:, 0] < dft_share))
    accounts = originals.filter(pl.Series(u[:, 1] < bar_share))
    late_pick = u[:, 2] < late_share

    lines = billing.lines.join(covered.select("claim_idx", "orig_row"), on=["claim_idx"], how="semi").sort(
        "claim_idx", "line_number"
    )
    v = rng.random((lines.height, 3))
    # a day whose charge batch never left the EHR (its claim lines are claim-only), and single
    # lines entered straight in billing (the day differs by their amount)
    first_day = lines.group_by("claim_idx").agg(pl.col("service_date").min().alias("_first"))
    later_day = lines.join(first_day, on="claim_idx", how="left", maintain_order="left").select(
        pl.col("service_date") > pl.col("_first")
    )["service_date"]
    lost_claims = covered.filter(pl.Series(rng.random(covered.height) < lost_day_share))["claim_idx"]
    lost_day = (
        lines.filter(later_day & pl.col("claim_idx").is_in(lost_claims.implode()))
        .group_by("claim_idx")
        .agg(pl.col("service_date").max().alias("_lost"))
    )
    lost = (
        lines.join(lost_day, on="claim_idx", how="left", maintain_order="left")
        .select(pl.col("service_date") == pl.col("_lost"))["service_date"]
        .fill_null(False)
    )
    omitted = pl.Series((v[:, 0] < missing_share) & (lines["line_number"] > 1).to_numpy()) | lost
    repriced = pl.Series(v[:, 1] < repriced_share)
    delta = np.where(v[:, 2] < 0.5, -1, 1) * np.maximum(1, (lines["charge_cents"].to_numpy() * 0.05).astype(np.int64))
    captured = lines.filter(~omitted).with_columns(
        amount_cents=pl.when(repriced.filter(~omitted))
        .then(pl.col("charge_cents") + pl.Series(delta).filter(~omitted))
        .otherwise(pl.col("charge_cents")),
        fate=pl.when(repriced.filter(~omitted)).then(pl.lit("repriced")).otherwise(pl.lit("billed")),
        posted_at=pl.col("service_date").cast(pl.Datetime("ms")) + pl.duration(hours=23, minutes=30),
        is_late=pl.lit(False),
        posting_kind=pl.lit("day"),
        transaction_type=pl.lit("CG"),
    )

    # late charges: one ancillary charge dated the day after the claim's statement period and
    # posted two days after the claim went out, never billed
    pool = catalog.items.filter(pl.col("is_mapped") & (pl.col("procedure_code") != "")).sort("item_idx")
    late_claims = covered.join(originals.filter(pl.Series(late_pick)).select("claim_idx"), on="claim_idx", how="semi")
    pick = rng.integers(0, pool.height, size=late_claims.height)
    late = (
        late_claims.select("claim_idx", "statement_to_date", "submitted_date")
        .with_columns(pool[pick].select("item_idx", "procedure_code", "revenue_code", "price_cents").to_struct("it"))
        .unnest("it")
        .select(
            "claim_idx",
            line_number=pl.lit(900, pl.Int64),
            item_idx="item_idx",
            procedure_code="procedure_code",
            revenue_code="revenue_code",
            modifiers=pl.lit(""),
            units=pl.lit(1, pl.Int64),
            charge_cents=pl.col("price_cents").cast(pl.Int64),
            service_date=pl.col("statement_to_date") + pl.duration(days=1),
            amount_cents=pl.col("price_cents").cast(pl.Int64),
            fate=pl.lit("late_unbilled"),
            posted_at=(pl.col("submitted_date") + pl.duration(days=2)).cast(pl.Datetime("ms")) + pl.duration(hours=9),
            is_late=pl.lit(True),
            posting_kind=pl.lit("late"),
            transaction_type=pl.lit("CG"),
        )
    )
    as_of_ts = datetime.combine(as_of, time())
    late = late.filter(pl.col("posted_at") < pl.lit(as_of_ts).cast(pl.Datetime("ms")))
    keep = ["claim_idx", "line_number", "item_idx", "procedure_code", "revenue_code", "modifiers", "units"]
    keep += ["charge_cents", "service_date", "amount_cents", "fate", "posted_at", "is_late", "posting_kind"]
    keep += ["transaction_type"]
    charges = pl.concat([captured.select(keep), late.select(keep)], how="vertical_relaxed")

    # accounts of encounters no claim covers yet (in house at the as-of date, or discharged and
    # not yet coded or billed), drawn last so that every other output keeps its draws
    unbilled = encounters.filter(~pl.col("cancelled") & (pl.col("start_ts") < pl.lit(as_of_ts))).join(
        originals.select("enc_idx"), on="enc_idx", how="anti"
    )
    unbilled = unbilled.filter(pl.Series(rng.random(unbilled.height) < bar_share)).select(
        "enc_idx",
        "encounter_id",
        "patient_idx",
        patient_control_number=pl.lit("PCNU") + pl.col("enc_idx").cast(pl.Utf8).str.zfill(9),
    )
    accounts = pl.concat(
        [accounts.select("enc_idx", "encounter_id", "patient_idx", "patient_control_number"), unbilled]
    )

    # corrections, drawn after: a captured charge the EHR credits (FT1-6 CD, the full amount)
    # and posts again the next day in a message of its own; the two net to nothing, so the day
    # still reconciles as before, with two more transactions
    credited = captured.select(keep).filter(pl.Series(rng.random(captured.height) < credit_share))
    correction = pl.col("posted_at") + pl.duration(days=1)
    charges = pl.concat(
        [
            charges,
            credited.with_columns(
                amount_cents=-pl.col("amount_cents"),
                fate=pl.lit("credited"),
                posted_at=correction,
                posting_kind=pl.lit("correction"),
                transaction_type=pl.lit("CD"),
            ),
            credited.with_columns(fate=pl.lit("recharged"), posted_at=correction, posting_kind=pl.lit("correction")),
        ],
        how="vertical_relaxed",
    )
    charges = charges.join(
        covered.select("claim_idx", "enc_idx", "encounter_id", "patient_idx", "patient_control_number"),
        on="claim_idx",
        how="left",
    ).sort("enc_idx", "is_late", "service_date", "line_number", "posted_at", "transaction_type", maintain_order=True)

    dft, sent = _dft_messages(charges, encounters, patients, net, rng, resend_share)
    bar = _bar_messages(accounts, encounters, patients, net, as_of_ts)
    messages = (
        pl.concat([dft, bar], how="vertical_relaxed")
        .sort("kind", "message_at", "control_id", maintain_order=True)
        .with_columns(
            file=pl.concat_str(
                [
                    pl.lit(DFT_FOLDER + "/"),
                    pl.col("kind").str.to_lowercase(),
                    pl.lit("_"),
                    pl.col("message_at").dt.strftime("%Y%m%d"),
                    pl.lit(".hl7"),
                ]
            )
        )
        .with_columns(msg_index=pl.int_range(1, pl.len() + 1).over("file"))
    )
    ehr = charges.select(
        "encounter_id",
        "service_date",
        "claim_idx",
        "line_number",
        "procedure_code",
        "amount_cents",
        "fate",
    )
    return ChargeFeed(
        messages=messages.select("file", "msg_index", "kind", "trigger", "text"),
        ehr_charges=ehr,
        omitted_lines=lines.filter(omitted).select("claim_idx", "line_number", "service_date", "charge_cents"),
        accounts=_account_states(accounts, originals, encounters, as_of_ts),
        sent=sent,
    )


def _account_states(
    accounts: pl.DataFrame, originals: pl.DataFrame, encounters: pl.DataFrame, as_of_ts: datetime
) -> pl.DataFrame:
    """Where each BAR account stands at the as-of date (core.fct_patient_accounts.account_state):
    billed when a claim went out, else in house until the discharge (P05), discharged and not
    final coded until the final codes (P12, a day later), then discharged and not final billed."""
    end = pl.col("end_ts")
    cutoff = pl.lit(as_of_ts).cast(pl.Datetime("ms"))
    return (
        accounts.join(encounters.select("enc_idx", "end_ts"), on="enc_idx", how="left", maintain_order="left")
        .with_columns(is_billed=pl.col("enc_idx").is_in(originals["enc_idx"].implode()))
        .select(
            "encounter_id",
            "patient_control_number",
            account_state=pl.when("is_billed")
            .then(pl.lit("billed"))
            .when(end >= cutoff)
            .then(pl.lit("in_house"))
            .when(end + pl.duration(days=1) >= cutoff)
            .then(pl.lit("discharged_not_final_coded"))
            .otherwise(pl.lit("discharged_not_final_billed")),
        )
        .sort("encounter_id")
    )


def _context(df: pl.DataFrame, encounters: pl.DataFrame, patients: pl.DataFrame, net: Network) -> pl.DataFrame:
    return (
        df.join(
            encounters.select(
                "enc_idx",
                "dept_idx",
                "provider_idx",
                "facility_idx",
                "enc_class",
                "start_ts",
                "end_ts",
                "dx_code",
                "dx_desc",
                "primary_procedure",
            ),
            on="enc_idx",
            how="left",
            maintain_order="left",
        )
        .join(
            patients.select("patient_idx", "mrn", "family", "given", "birth_date", "sex"),
            on="patient_idx",
            how="left",
            maintain_order="left",
        )
        .join(
            net.facilities.select("facility_idx", "ehr_location_id"),
            on="facility_idx",
            how="left",
            maintain_order="left",
        )
        .join(
            net.departments.select("dept_idx", "ehr_code", "hospital_service"),
            on="dept_idx",
            how="left",
            maintain_order="left",
        )
        .join(
            net.providers.select(
                "provider_idx",
                pl.col("npi").alias("prov_npi"),
                pl.col("family").alias("prov_family"),
                pl.col("given").alias("prov_given"),
            ),
            on="provider_idx",
            how="left",
            maintain_order="left",
        )
    )


def _header(kind: str, trigger: pl.Expr | str, structure: pl.Expr | str) -> list[pl.Expr]:
    msg_ts = ts_hl7("message_at")
    msh = j(
        "MSH|^~\\&|EPICADT|",
        pl.col("ehr_location_id"),
        "|CARELEDGER|CARELEDGER|",
        msg_ts,
        f"||{kind}^",
        trigger,
        "^",
        structure,
        "|",
        pl.col("control_id"),
        "|P|2.5",
    )
    evn = j("EVN|", trigger, "|", msg_ts)
    pid = field_string(
        "PID",
        {
            1: "1",
            3: j(pl.col("mrn"), "^^^CARELEDGER^MR"),
            5: j(pl.col("family").str.to_uppercase(), "^", pl.col("given").str.to_uppercase()),
            7: pl.col("birth_date").dt.strftime("%Y%m%d"),
            8: pl.col("sex"),
            18: pl.col("patient_control_number"),
        },
    )
    return [msh, evn, pid]


def _pv1(discharged: pl.Expr) -> pl.Expr:
    return field_string(
        "PV1",
        {
            1: "1",
            2: pl.when(pl.col("enc_class") == "IMP")
            .then(pl.lit("I"))
            .when(pl.col("enc_class") == "EMER")
            .then(pl.lit("E"))
            .otherwise(pl.lit("O")),
            3: j(pl.col("ehr_code"), "^^^", pl.col("ehr_location_id")),
            7: j(
                pl.col("prov_npi"),
                "^",
                pl.col("prov_family").str.to_uppercase(),
                "^",
                pl.col("prov_given").str.to_uppercase(),
            ),
            10: pl.col("hospital_service"),
            19: pl.col("encounter_id"),
            36: pl.when(discharged).then(pl.lit("01")),
            41: pl.when(discharged).then(pl.lit("DISCH")).otherwise(pl.lit("ACTIVE")),
            44: ts_hl7("start_ts"),
            45: pl.when(discharged).then(ts_hl7("end_ts")),
        },
    )


def _dg1(status: pl.Expr | str, action: str | None = None) -> pl.Expr:
    fields: dict[int, pl.Expr | str] = {
        1: "1",
        2: "I10",
        3: j(pl.col("dx_code"), "^", pl.col("dx_desc"), "^I10"),
        5: ts_hl7("start_ts"),
        6: status,
    }
    if action:
        fields[21] = action
    return field_string("DG1", fields)


def _pr1() -> pl.Expr:
    return pl.when(pl.col("primary_procedure").is_not_null() & (pl.col("primary_procedure") != "")).then(
        field_string(
            "PR1",
            {1: "1", 2: "C4", 3: j(pl.col("primary_procedure"), "^^C4"), 5: ts_hl7("start_ts"), 11: pl.col("prov_npi")},
        )
    )


def _dft_messages(
    charges: pl.DataFrame,
    encounters: pl.DataFrame,
    patients: pl.DataFrame,
    net: Network,
    rng: np.random.Generator,
    resend_share: float,
) -> tuple[pl.DataFrame, dict[str, int]]:
    """One DFT^P03 per encounter and posting (a day's charges, one late charge, or one
    correction: a credit and its charge posted again); a share of them the interface sends a
    second time an hour later (a resend: the same FT1-2 transaction ids, a new control id).
    Returns the messages and what was sent: resent messages, the FT1s in them, every FT1 sent
    and the sum of their FT1-11 amounts as sent (credits carry their amount unsigned)."""
    kind = pl.col("posting_kind")
    line = pl.col("line_number").cast(pl.Utf8)
    c = charges.with_columns(
        posting=pl.when(kind == "late")
        .then(pl.concat_str([pl.lit("L"), line]))
        .when(kind == "correction")
        .then(pl.concat_str([pl.lit("C"), pl.col("service_date").dt.strftime("%Y%m%d"), pl.lit("-"), line]))
        .otherwise(pl.col("service_date").dt.strftime("%Y%m%d"))
    )
    c = c.with_columns(
        set_id=pl.int_range(1, pl.len() + 1).over("claim_idx", "posting", "is_late"),
        amount=money(pl.col("amount_cents").abs()),
        unit=pl.when(pl.col("amount_cents") % pl.col("units") == 0)
        .then(pl.col("amount_cents").abs() // pl.col("units"))
        .otherwise(None),
    )
    c = _context(c, encounters, patients, net)
    ft1 = field_string(
        "FT1",
        {
            1: pl.col("set_id").cast(pl.Utf8),
            2: j(pl.col("encounter_id"), "-", pl.col("posting"), "-", pl.col("set_id").cast(pl.Utf8)),
            3: j("B", pl.col("posted_at").dt.strftime("%Y%m%d")),
            4: pl.col("service_date").dt.strftime("%Y%m%d"),
            5: pl.col("posted_at").dt.strftime("%Y%m%d"),
            6: pl.col("transaction_type"),
            7: j("CDM", pl.col("item_idx").cast(pl.Utf8).str.zfill(5), "^^CDM"),
            10: pl.col("units").cast(pl.Utf8),
            11: pl.col("amount"),
            12: pl.when(pl.col("unit").is_not_null()).then(money("unit")),
            13: pl.col("ehr_code"),
            19: j(pl.col("dx_code"), "^^I10"),
            20: pl.col("prov_npi"),
            21: pl.col("prov_npi"),
            25: pl.when(pl.col("procedure_code") != "").then(j(pl.col("procedure_code"), "^^C4")),
            26: pl.col("modifiers").str.replace_all(",", "~"),
        },
    )
    c = c.with_columns(ft1=ft1, pr1=pl.when(pl.col("set_id") == 1).then(_pr1()))
    seg_text = pl.concat_str([pl.col("ft1"), pl.col("pr1")], separator="\r", ignore_nulls=True)
    grouped = (
        c.with_columns(seg_text=seg_text)
        .group_by("claim_idx", "posting", maintain_order=True)
        .agg(
            pl.col("seg_text").str.join("\r"),
            pl.col("posted_at").first().alias("message_at"),
            *[
                pl.col(x).first()
                for x in (
                    "enc_idx",
                    "encounter_id",
                    "patient_control_number",
                    "mrn",
                    "family",
                    "given",
                    "birth_date",
                    "sex",
                    "ehr_location_id",
                    "ehr_code",
                    "hospital_service",
                    "prov_npi",
                    "prov_family",
                    "prov_given",
                    "enc_class",
                    "start_ts",
                    "end_ts",
                    "dx_code",
                    "dx_desc",
                )
            ],
        )
    )
    resent = grouped.filter(pl.Series(rng.random(grouped.height) < resend_share))
    resent_ft1 = c.join(resent.select("claim_idx", "posting"), on=["claim_idx", "posting"], how="semi")
    sent_ft1 = pl.concat([c.select("amount_cents"), resent_ft1.select("amount_cents")])
    resends = {
        "resent_dft_messages": resent.height,
        "resent_transactions": resent_ft1.height,
        "ft1_sent": sent_ft1.height,
        "ft1_sent_amount_cents": int(sent_ft1["amount_cents"].abs().sum()),
    }
    grouped = (
        pl.concat([grouped, resent.with_columns(message_at=pl.col("message_at") + pl.duration(hours=1))])
        .sort("message_at", "enc_idx", "posting", maintain_order=True)
        .with_columns(control_id=j("DFT", pl.int_range(1, pl.len() + 1).cast(pl.Utf8).str.zfill(9)))
    )
    msh, evn, pid = _header("DFT", "P03", "DFT_P03")
    text = pl.concat_str([msh, evn, pid, _pv1(pl.lit(False)), pl.col("seg_text"), _dg1("A")], separator="\r")
    messages = grouped.select(
        kind=pl.lit("DFT"), trigger=pl.lit("P03"), message_at="message_at", control_id="control_id", text=text
    )
    return messages, resends


def _bar_messages(
    accounts: pl.DataFrame, encounters: pl.DataFrame, patients: pl.DataFrame, net: Network, as_of_ts: datetime
) -> pl.DataFrame:
    """BAR^P01 at admission, P05 at discharge and P12 (final codes) the day after discharge."""
    a = _context(
        accounts.select("enc_idx", "encounter_id", "patient_idx", "patient_control_number"), encounters, patients, net
    )
    events = pl.concat(
        [
            a.with_columns(trigger=pl.lit("P01"), message_at=pl.col("start_ts")),
            a.with_columns(trigger=pl.lit("P05"), message_at=pl.col("end_ts")),
            a.with_columns(trigger=pl.lit("P12"), message_at=pl.col("end_ts") + pl.duration(days=1)),
        ]
    )
    events = (
        events.filter(pl.col("message_at").is_not_null() & (pl.col("message_at") < pl.lit(as_of_ts)))
        .sort("message_at", "enc_idx", "trigger")
        .with_columns(control_id=j("BAR", pl.int_range(1, pl.len() + 1).cast(pl.Utf8).str.zfill(9)))
    )
    trigger = pl.col("trigger")
    msh, evn, pid = _header(
        "BAR", trigger, pl.when(trigger == "P12").then(pl.lit("BAR_P12")).otherwise(j("BAR_", trigger))
    )
    discharged = trigger != "P01"
    final = trigger == "P12"
    text = pl.concat_str(
        [
            msh,
            evn,
            pid,
            _pv1(discharged),
            pl.when(final).then(_dg1("F", "U")).otherwise(_dg1("A")),
            pl.when(final).then(_pr1()),
        ],
        separator="\r",
        ignore_nulls=True,
    )
    return events.select(
        kind=pl.lit("BAR"), trigger="trigger", message_at="message_at", control_id="control_id", text=text
    )
