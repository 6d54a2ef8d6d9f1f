"""The claim lifecycle in bulk: claims and lines, payer adjudication (paid, partially paid,
denied, reversed and corrected), and the denial work queue.

Money is integer cents throughout (int64); it is formatted to two decimals only when written.

Adjudication is modelled in *instances*: one instance is one CLP on an 835. An instance has
*units*: the SVC lines of an outpatient/professional claim, or a single claim-level unit
(``unit_no = 0``, no SVC) for an inpatient DRG claim. Every unit balances:
``charge = paid + contractual + patient responsibility + denial``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from careledger.simulator.catalog import MODIFIERS, PROFESSIONAL_COMPONENT, SURGICAL_DRG_LINES, Catalog
from careledger.simulator.clinical import UNMAPPED_DRGS
from careledger.simulator.network import Network

SURGICAL_DRGS = {"247", "329", "330", "343", "418", "419", "460", "470", "481", "788"}
IMPLANT_DRGS = {"247", "460", "470", "481"}

# group, CARC, RARC, weight; claim-level denials and line-level denials.
CLAIM_DENIALS: list[tuple[str, str, str, float]] = [
    ("CO", "27", "N30", 4),
    ("CO", "31", "N30", 2),
    ("CO", "26", "N30", 1),
    ("CO", "109", "N130", 1),
    ("CO", "197", "N54", 6),
    ("CO", "15", "N54", 2),
    ("CO", "16", "M51", 5),
    ("CO", "11", "M76", 3),
    ("CO", "252", "M127", 2),
    ("CO", "50", "N115", 5),
    ("CO", "29", "N211", 2),
    ("CO", "18", "N522", 2),
    ("OA", "18", "N522", 1),
    ("CO", "22", "MA04", 3),
    ("CO", "96", "N130", 2),
    ("CO", "119", "N362", 1),
]
LINE_DENIALS: list[tuple[str, str, str, float]] = [
    ("CO", "97", "M15", 5),
    ("CO", "4", "M78", 3),
    ("CO", "236", "M80", 2),
    ("CO", "50", "N386", 3),
    ("CO", "151", "N362", 2),
    ("CO", "96", "N130", 2),
    ("CO", "16", "M51", 2),
]
# Patient responsibility parameters by payer class.
FILING_INDICATOR = {
    "medicare": "MA",
    "medicaid": "MC",
    "commercial": "12",
    "managed_care": "HM",
    "other_government": "CH",
    "workers_comp": "WC",
    "self_pay": "09",
}


@dataclass(frozen=True)
class Billing:
    claims: pl.DataFrame  # one row per claim (all versions)
    lines: pl.DataFrame  # one row per claim line
    instances: pl.DataFrame  # one row per CLP (adjudication instance)
    units: pl.DataFrame  # one row per adjudicated unit of an instance (SVC or claim-level)
    denial_events: pl.DataFrame  # denial work-queue events


def _days(a: np.ndarray) -> np.ndarray:
    return a.astype("timedelta64[D]")


def _pick(rng: np.random.Generator, table: list[tuple[str, str, str, float]], n: int) -> np.ndarray:
    w = np.array([t[3] for t in table], dtype=float)
    return rng.choice(len(table), size=n, p=w / w.sum())


def build_billing(
    rng: np.random.Generator,
    *,
    encounters: pl.DataFrame,
    patients: pl.DataFrame,
    net: Network,
    catalog: Catalog,
    as_of: date,
    faults: float,
    carc_category: dict[tuple[str, str], str],
) -> tuple[Billing, dict[str, pl.DataFrame]]:
    """Build claims, lines, 835 adjudication instances and denial events.

    Returns the billing frames and the injected billing-side faults (frames of affected ids).
    """
    as_of_d = np.datetime64(as_of, "D")
    enc = encounters.filter(~pl.col("cancelled"))
    end_day = enc["end_ts"].to_numpy().astype("datetime64[D]")
    cls = enc["enc_class"].to_numpy()
    n = enc.height
    lag = np.where(cls == "IMP", rng.integers(3, 11, n), rng.integers(1, 7, n))
    late = rng.random(n) < 0.04
    lag = lag + np.where(late, rng.integers(25, 61, n), 0)
    submitted = end_day + _days(lag)
    keep = (enc["end_ts"].to_numpy() < np.datetime64(as_of, "s")) & (submitted < as_of_d)
    enc = enc.filter(pl.Series(keep))
    submitted = submitted[keep]
    n = enc.height
    cls = enc["enc_class"].to_numpy()

    fac = net.facilities
    dept = net.departments
    payers = net.payers
    pat = patients
    payer_idx = pat["payer_idx"].to_numpy()[enc["patient_idx"].to_numpy()]
    fac_type = fac["facility_type"].to_numpy()[enc["facility_idx"].to_numpy()]
    claim_type = np.where(fac_type == "hospital", "I", "P")

    # ---- unmapped DRG fault (real DRG the seeds do not know; payer knows the weight)
    drg = enc["drg_code"].to_numpy().astype(object)
    drg_weight = enc["drg_weight"].to_numpy().copy()
    um_drg = (cls == "IMP") & (rng.random(n) < faults)
    pick = rng.integers(0, len(UNMAPPED_DRGS), n)
    drg = np.where(um_drg, np.array([d for d, _ in UNMAPPED_DRGS], dtype=object)[pick], drg)
    drg_weight = np.where(um_drg, np.array([w for _, w in UNMAPPED_DRGS])[pick], drg_weight)
    w_e4 = np.round(drg_weight * 10000).astype(np.int64)
    seed_w_e4 = np.where(um_drg, 0, w_e4)

    # ---- original claims (claim-level attributes)
    pcn_num = (7_301_442_019 + np.arange(n, dtype=np.int64) * 104_729) % 10**10
    drift = rng.random(n) < faults
    drift_kind = rng.integers(0, 2, n)  # 0 facility code drift, 1 department code drift
    fac_code = fac["billing_code"].to_numpy()[enc["facility_idx"].to_numpy()]
    fac_num = fac["facility_num"].to_numpy()[enc["facility_idx"].to_numpy()]
    dept_code = dept["billing_code"].to_numpy()[enc["dept_idx"].to_numpy()]
    fac_code = fac_code.astype(object)
    dept_code = dept_code.astype(object)
    for i in np.flatnonzero(drift & (drift_kind == 0)).tolist():
        fac_code[i] = f"FAC{fac_num[i]}"  # zero padding dropped
    for i in np.flatnonzero(drift & (drift_kind == 1)).tolist():
        dept_code[i] = "D-" + str(dept_code[i])[1:].lstrip("0")  # legacy department code format
    setting = np.where(
        cls == "IMP", "ip", np.where(cls == "EMER", "ed", np.where(fac_type == "hospital", "hosp_op", "clinic"))
    )
    start_day = enc["start_ts"].to_numpy().astype("datetime64[D]")
    claims0 = pl.DataFrame(
        {
            "enc_idx": enc["enc_idx"],
            "encounter_id": enc["encounter_id"],
            "patient_idx": enc["patient_idx"],
            "facility_idx": enc["facility_idx"],
            "dept_idx": enc["dept_idx"],
            "provider_idx": enc["provider_idx"],
            "enc_class": enc["enc_class"],
            "setting": setting,
            "payer_idx": payer_idx.astype(np.int64),
            "claim_type": claim_type,
            "drg_code": pl.Series(np.where(cls == "IMP", drg, None).tolist(), dtype=pl.Utf8),
            "w_e4": np.where(cls == "IMP", w_e4, 0),
            "seed_w_e4": np.where(cls == "IMP", seed_w_e4, 0),
            "los": enc["los"],
            "service_line_hint": enc["service_line_code"],
            "first_item": enc["first_item"],
            "dx_code": enc["dx_code"],
            "statement_from_date": start_day,
            "statement_to_date": enc["end_ts"].to_numpy().astype("datetime64[D]"),
            "submitted_date": submitted,
            "patient_control_number": "PCN" + pl.Series(pcn_num).cast(pl.Utf8).str.zfill(10),
            "facility_code": pl.Series(fac_code.tolist(), dtype=pl.Utf8),
            "department_code": pl.Series(dept_code.tolist(), dtype=pl.Utf8),
            "is_drifted": drift,
            "is_unmapped_drg": um_drg & (cls == "IMP"),
            "freq": np.ones(n, dtype=np.int64),
            "orig_row": np.arange(n, dtype=np.int64),
        }
    )

    # ---- lines of original claims
    n_lines = np.select(
        [cls == "IMP", cls == "EMER", setting == "hosp_op"],
        [rng.integers(4, 11, n), rng.integers(2, 8, n), rng.integers(1, 5, n)],
        rng.integers(1, 4, n),
    )
    row = np.repeat(np.arange(n), n_lines)
    line_no = np.arange(row.size) - np.repeat(np.cumsum(n_lines) - n_lines, n_lines) + 1
    is_ip = cls == "IMP"
    is_ed = cls == "EMER"
    is_hop = setting == "hosp_op"
    is_p = claim_type == "P"
    l_ip = is_ip[row]
    first_line = line_no == 1
    # ancillary pool per claim (integer codes), sampled per line
    pool_names = ["inpatient", "emergency", "default", "oncology", "cardiology", "imaging", "lab", "general_surgery"]
    sl_claim = enc["service_line_code"].fill_null("").to_numpy()
    pool_claim = np.full(n, 2, dtype=np.int64)
    for k, name in enumerate(pool_names[3:], start=3):
        pool_claim[sl_claim == name] = k
    pool_claim = np.where(is_ip, 0, np.where(is_ed, 1, pool_claim))
    item = catalog.sample_pools(rng, pool_claim[row], pool_names)
    item = np.where(first_line, enc["first_item"].to_numpy()[row], item)
    # inpatient line 1 is room and board (ICU for heavy DRGs); surgical DRGs add OR lines
    drg_s = pl.Series(drg.tolist(), dtype=pl.Utf8)
    surg_claim = drg_s.is_in(list(SURGICAL_DRGS)).fill_null(False).to_numpy() & is_ip
    implant_claim = drg_s.is_in(list(IMPLANT_DRGS)).fill_null(False).to_numpy() & is_ip
    rb = np.where(drg_weight > 3.0, catalog.idx("rev:0200"), catalog.idx("rev:0120"))
    item = np.where(l_ip & first_line, rb[row], item)
    surg = surg_claim[row]
    for k, key in enumerate(SURGICAL_DRG_LINES, start=2):
        item = np.where(surg & (line_no == k), catalog.idx(key), item)
    item = np.where(implant_claim[row] & (line_no == 5), catalog.idx("rev:0278"), item)
    # unmapped-code fault on outpatient/professional lines after the first
    um_line = ~l_ip & (line_no > 1) & (rng.random(row.size) < faults)
    item = np.where(um_line, catalog.unmapped_items[rng.integers(0, len(catalog.unmapped_items), row.size)], item)

    items = catalog.items
    price = items["price_cents"].to_numpy()[item]
    max_units = items["max_units"].to_numpy()[item]
    units = np.where(max_units > 1, 1 + (rng.random(row.size) * max_units).astype(np.int64), 1)
    units = np.where(item == catalog.idx("J9271"), 100 + rng.integers(0, 101, row.size), units)
    los_row = enc["los"].to_numpy()[row]
    units = np.where(l_ip & first_line, los_row, units)
    charge = price * units
    l_p = is_p[row]
    # modifiers (integer codes -> text at the end)
    mod_names = ["", "RT", "LT", "50", "26", "25", "RT:59"]
    mod = np.zeros(row.size, dtype=np.int64)
    for code, options in MODIFIERS.items():
        m = item == catalog.idx(code)
        k = int(m.sum())
        if k:
            mod[m] = np.array([mod_names.index(o) for o in options])[rng.integers(0, len(options), k)]
    codes = items["procedure_code"].to_list()
    pc_item = np.array([any(c.startswith(p) for p in PROFESSIONAL_COMPONENT) for c in codes])
    em_item = np.array([c.startswith("992") for c in codes])
    pc = l_p & pc_item[item] & (rng.random(row.size) < 0.5)
    mod = np.where(pc & (mod == 0), 4, mod)
    em = em_item[item] & first_line & (n_lines[row] > 1) & (rng.random(row.size) < 0.4)
    mod = np.where(em & (mod == 0), 5, mod)
    mod = np.where((mod == 1) & (rng.random(row.size) < 0.1), 6, mod)
    # service dates and place of service
    start_row = start_day[row]
    svc_day = start_row + _days(
        np.where(l_ip & ~first_line, (rng.random(row.size) * np.maximum(los_row, 1)).astype(np.int64), 0)
    )
    pos_code = np.select([l_ip, is_ed[row], is_hop[row]], [0, 1, 2], 3)

    # ---- payer terms: allowed (payer) and expected (warehouse, from seeds)
    method = payers["outpatient_method"].to_numpy()[payer_idx]
    is_pct = (method == "pct_of_charges")[row]
    rate_bp = payers["op_rate_bp"].to_numpy()[payer_idx]
    base = payers["ip_base_cents"].to_numpy()[payer_idx]
    fee = items["fee_cents"].to_numpy()[item]
    seed_fee = items["seed_fee_cents"].to_numpy()[item]
    rate_row = rate_bp[row]
    ip_allowed = (base * w_e4 + 5000) // 10000
    ip_expected = (base * seed_w_e4 + 5000) // 10000
    # inpatient charges always exceed the DRG payment: top up room and board if needed
    claim_charge = np.bincount(row, weights=charge, minlength=n).astype(np.int64)
    need = np.where(is_ip, np.maximum(0, (ip_allowed * 5 + 3) // 4 - claim_charge), 0)
    need = (np.ceil(need / 100.0) * 100).astype(np.int64)
    charge = charge + np.where(first_line, need[row], 0)
    pct_line = (charge * rate_row + 5000) // 10000
    allowed_line = np.where(is_pct, pct_line, (fee * units * rate_row + 5000) // 10000)
    expected_line = np.where(is_pct, pct_line, (seed_fee * units * rate_row + 5000) // 10000)

    item_s = pl.Series(item.astype(np.int64))
    lines0 = pl.DataFrame(
        {
            "orig_row": row.astype(np.int64),
            "line_number": line_no.astype(np.int64),
            "item_idx": item_s,
            "procedure_code": items["procedure_code"].gather(item_s),
            "revenue_code": pl.select(
                pl.when(pl.Series(l_p)).then(pl.lit("")).otherwise(items["revenue_code"].gather(item_s))
            ).to_series(),
            "modifiers": pl.Series(mod_names).gather(pl.Series(mod)),
            "units": units.astype(np.int64),
            "charge_cents": charge.astype(np.int64),
            "allowed_cents": np.where(l_ip, 0, allowed_line).astype(np.int64),
            "expected_cents": np.where(l_ip, 0, expected_line).astype(np.int64),
            "service_date": svc_day,
            "place_of_service": pl.Series(["21", "23", "22", "11"]).gather(pl.Series(pos_code)),
            "is_unmapped_code": um_line,
        }
    )
    claims0 = claims0.with_columns(
        ip_allowed_cents=pl.Series(np.where(cls == "IMP", ip_allowed, 0)),
        ip_expected_cents=pl.Series(np.where(cls == "IMP", ip_expected, 0)),
        n_lines=pl.Series(n_lines.astype(np.int64)),
    )

    # ---- patient responsibility parameters per claim (paid variant)
    pclass = payers["payer_class"].to_numpy()[payer_idx]
    u = rng.random((n, 4))
    ded = np.select(
        [
            (pclass == "medicare") & (cls == "IMP"),
            pclass == "medicare",
            np.isin(pclass, ["commercial", "managed_care"]),
        ],
        [
            np.where(u[:, 0] < 0.35, 167_600, 0),
            np.where(u[:, 0] < 0.10, 25_700, 0),
            np.where(u[:, 0] < 0.25, rng.integers(5, 61, n) * 5_000, 0),
        ],
        0,
    )
    coins_bp = np.select(
        [
            (pclass == "medicare") & (cls != "IMP"),
            pclass == "commercial",
            pclass == "managed_care",
            pclass == "other_government",
        ],
        [np.full(n, 2000), np.where(u[:, 1] < 0.5, 1000, 2000), np.full(n, 1000), np.full(n, 500)],
        0,
    )
    copay = np.select(
        [
            (pclass == "commercial") & (cls != "IMP"),
            (pclass == "managed_care") & (cls != "IMP"),
            (pclass == "medicaid") & (cls != "IMP"),
        ],
        [
            np.where(u[:, 2] < 0.6, np.array([2500, 4000, 5000])[rng.integers(0, 3, n)], 0),
            np.where(u[:, 2] < 0.5, np.array([2000, 3500])[rng.integers(0, 2, n)], 0),
            np.where(u[:, 2] < 0.3, 400, 0),
        ],
        0,
    )
    claims0 = claims0.with_columns(
        ded_cents=pl.Series(ded.astype(np.int64)),
        coins_bp=pl.Series(coins_bp.astype(np.int64)),
        copay_cents=pl.Series(copay.astype(np.int64)),
    )

    # ---- original adjudication (only for payers that remit)
    remits = payers["x12_payer_id"].to_numpy()[payer_idx] != ""
    remit_day = submitted + _days(rng.integers(10, 46, n))
    has_remit = remits & (remit_day < as_of_d)
    deny_rate = payers["denial_rate"].to_numpy()[payer_idx]
    ud = rng.random((n, 3))
    claim_deny = has_remit & (ud[:, 0] < 0.72 * deny_rate)
    multi = (n_lines >= 2) & (cls != "IMP")
    line_deny = has_remit & ~claim_deny & multi & (ud[:, 1] < 0.55 * deny_rate)
    line_deny_no = 2 + (ud[:, 2] * np.maximum(n_lines - 1, 1)).astype(np.int64)
    cd_pick = _pick(rng, CLAIM_DENIALS, n)
    ld_pick = _pick(rng, LINE_DENIALS, n)
    den_group = np.where(
        claim_deny, np.array([t[0] for t in CLAIM_DENIALS])[cd_pick], np.array([t[0] for t in LINE_DENIALS])[ld_pick]
    )
    den_carc = np.where(
        claim_deny, np.array([t[1] for t in CLAIM_DENIALS])[cd_pick], np.array([t[1] for t in LINE_DENIALS])[ld_pick]
    )
    den_rarc = np.where(
        claim_deny, np.array([t[2] for t in CLAIM_DENIALS])[cd_pick], np.array([t[2] for t in LINE_DENIALS])[ld_pick]
    )
    claims0 = claims0.with_columns(
        orig_remit_date=pl.Series(remit_day),
        has_remit=pl.Series(has_remit),
        claim_deny=pl.Series(claim_deny),
        line_deny=pl.Series(line_deny),
        line_deny_no=pl.Series(line_deny_no),
        den_group=pl.Series(den_group.astype(str)),
        den_carc=pl.Series(den_carc.astype(str)),
        den_rarc=pl.Series(den_rarc.astype(str)),
    )

    # ---- corrections (freq 7) and voids (freq 8) of paid claims
    paid_ok = has_remit & ~claim_deny & ~line_deny
    uc = rng.random(n)
    correct = paid_ok & (uc < 0.02)
    void = paid_ok & (uc >= 0.02) & (uc < 0.026)
    corr_sub = remit_day + _days(rng.integers(3, 16, n))
    void_sub = remit_day + _days(rng.integers(3, 21, n))
    new_sub = np.where(correct, corr_sub, void_sub)
    make_new = (correct | void) & (new_sub < as_of_d)
    readj_day = new_sub + _days(rng.integers(10, 31, n))

    new_rows = np.flatnonzero(make_new)
    newc = claims0[new_rows].with_columns(
        freq=pl.Series(np.where(correct[new_rows], 7, 8).astype(np.int64)),
        submitted_date=pl.Series(new_sub[new_rows]),
        orig_remit_date=pl.Series(readj_day[new_rows]),
        has_remit=pl.Series(readj_day[new_rows] < as_of_d),
        claim_deny=pl.lit(False),
        line_deny=pl.lit(False),
    )
    claims_all = pl.concat([claims0, newc]).with_row_index("claim_idx").with_columns(pl.col("claim_idx").cast(pl.Int64))
    order = claims_all.select("claim_idx", "submitted_date", "encounter_id", "freq").sort(
        "submitted_date", "encounter_id", "freq", maintain_order=True
    )
    order = order.with_columns(claim_id="C" + pl.int_range(1, pl.len() + 1).cast(pl.Utf8).str.zfill(8))
    claims_all = claims_all.join(
        order.select("claim_idx", "claim_id"), on="claim_idx", how="left", maintain_order="left"
    ).sort("claim_idx", maintain_order=True)
    claims_all = (
        claims_all.join(
            claims_all.filter(pl.col("freq") == 1).select(
                pl.col("orig_row").alias("_o"), pl.col("claim_id").alias("original_claim_id")
            ),
            left_on="orig_row",
            right_on="_o",
            how="left",
            maintain_order="left",
        )
        .with_columns(original_claim_id=pl.when(pl.col("freq") > 1).then(pl.col("original_claim_id")).otherwise(None))
        .sort("claim_idx", maintain_order=True)
    )
    # replacement lines: last line gets one more unit
    newl = (
        pl.DataFrame(
            {
                "orig_row": new_rows.astype(np.int64),
                "claim_idx": np.arange(n, n + new_rows.size, dtype=np.int64),
                "freq": np.where(correct[new_rows], 7, 8).astype(np.int64),
            }
        )
        .join(lines0, on="orig_row", how="inner", maintain_order="left")
        .join(claims0.select("orig_row", "n_lines", "enc_class"), on="orig_row", how="left", maintain_order="left")
    )
    bump = (pl.col("freq") == 7) & (pl.col("line_number") == pl.col("n_lines"))
    price_s = pl.Series("p", items["price_cents"].to_numpy())
    newl = newl.with_columns(
        unit_price=pl.col("item_idx").map_batches(lambda s: price_s.gather(s), return_dtype=pl.Int64)
    )
    newl = newl.with_columns(
        units=pl.when(bump).then(pl.col("units") + 1).otherwise(pl.col("units")),
        charge_cents=pl.when(bump)
        .then(pl.col("charge_cents") + pl.col("unit_price"))
        .otherwise(pl.col("charge_cents")),
    )
    newl = newl.join(claims0.select("orig_row", "payer_idx"), on="orig_row", how="left", maintain_order="left")
    p_method = pl.Series(method)
    newl = newl.with_columns(
        _m=pl.col("orig_row").map_batches(lambda s: p_method.gather(s), return_dtype=pl.Utf8),
        _r=pl.col("payer_idx").map_batches(
            lambda s: pl.Series(payers["op_rate_bp"].to_numpy()).gather(s), return_dtype=pl.Int64
        ),
        _f=pl.col("item_idx").map_batches(
            lambda s: pl.Series(items["fee_cents"].to_numpy()).gather(s), return_dtype=pl.Int64
        ),
        _sf=pl.col("item_idx").map_batches(
            lambda s: pl.Series(items["seed_fee_cents"].to_numpy()).gather(s), return_dtype=pl.Int64
        ),
    )
    pct = (pl.col("charge_cents") * pl.col("_r") + 5000) // 10000
    newl = newl.with_columns(
        allowed_cents=pl.when(pl.col("enc_class") == "IMP")
        .then(0)
        .when(pl.col("_m") == "pct_of_charges")
        .then(pct)
        .otherwise((pl.col("_f") * pl.col("units") * pl.col("_r") + 5000) // 10000),
        expected_cents=pl.when(pl.col("enc_class") == "IMP")
        .then(0)
        .when(pl.col("_m") == "pct_of_charges")
        .then(pct)
        .otherwise((pl.col("_sf") * pl.col("units") * pl.col("_r") + 5000) // 10000),
    )
    lines_all = pl.concat(
        [
            lines0.with_columns(claim_idx=pl.col("orig_row")),
            newl.select(lines0.columns + ["claim_idx"]),
        ],
        how="vertical_relaxed",
    )

    # ---- paid-variant units per claim
    ip_claims = claims_all.filter(pl.col("enc_class") == "IMP").select(
        "claim_idx",
        unit_no=pl.lit(0, dtype=pl.Int64),
        charge=pl.lit(0, dtype=pl.Int64),  # filled from lines below
        allowed=pl.col("ip_allowed_cents"),
    )
    ip_charge = lines_all.group_by("claim_idx").agg(pl.col("charge_cents").sum().alias("c"))
    ip_claims = (
        ip_claims.join(ip_charge, on="claim_idx", how="left", maintain_order="left")
        .with_columns(charge=pl.col("c"))
        .drop("c")
    )
    op_units = lines_all.join(
        claims_all.filter(pl.col("enc_class") != "IMP").select("claim_idx"), on="claim_idx", how="semi"
    ).select("claim_idx", unit_no=pl.col("line_number"), charge=pl.col("charge_cents"), allowed=pl.col("allowed_cents"))
    units = pl.concat([ip_claims, op_units]).join(
        claims_all.select("claim_idx", "ded_cents", "coins_bp", "copay_cents"),
        on="claim_idx",
        how="left",
        maintain_order="left",
    )
    first_unit = pl.col("unit_no") <= 1
    units = (
        units.with_columns(
            allowed=pl.min_horizontal("allowed", "charge"),
        )
        .with_columns(
            copay=pl.when(first_unit).then(pl.min_horizontal("copay_cents", "allowed")).otherwise(0),
        )
        .with_columns(
            ded=pl.when(first_unit)
            .then(pl.min_horizontal(pl.col("ded_cents"), pl.col("allowed") - pl.col("copay")))
            .otherwise(0),
        )
        .with_columns(
            coins=((pl.col("allowed") - pl.col("copay") - pl.col("ded")) * pl.col("coins_bp") + 5000) // 10000,
        )
        .select("claim_idx", "unit_no", "charge", "allowed", "ded", "coins", "copay")
        .sort("claim_idx", "unit_no", maintain_order=True)
    )

    # ---- instances: originals, and (after the work queue) reversals and readjudications
    orig = claims_all.filter(pl.col("has_remit") & (pl.col("freq") == 1)).select(
        "claim_idx",
        remit_date="orig_remit_date",
        kind=pl.lit("original"),
        ref_claim_idx=pl.col("claim_idx"),
        claim_deny="claim_deny",
        line_deny="line_deny",
        line_deny_no="line_deny_no",
        den_group="den_group",
        den_carc="den_carc",
        den_rarc="den_rarc",
    )
    # corrected / void: reversal of the original's instance, plus new adjudication for freq 7
    nc = claims_all.filter(pl.col("has_remit") & (pl.col("freq") > 1))
    orig_of_new = nc.select(
        pl.col("orig_row").alias("claim_idx"),
        remit_date="orig_remit_date",
        kind=pl.lit("reversal"),
        ref_claim_idx=pl.col("orig_row"),
    )
    new_adj = nc.filter(pl.col("freq") == 7).select(
        "claim_idx",
        remit_date="orig_remit_date",
        kind=pl.lit("readjudication"),
        ref_claim_idx=pl.col("claim_idx"),
    )

    # ---- denial work queue on original denials
    den = orig.filter(pl.col("claim_deny") | pl.col("line_deny"))
    den_units = (
        den.select("claim_idx", "claim_deny", "line_deny_no")
        .join(units, on="claim_idx", how="left", maintain_order="left")
        .filter(pl.col("claim_deny") | (pl.col("unit_no") == pl.col("line_deny_no")))
    )
    den_amt = den_units.group_by("claim_idx").agg(pl.col("charge").sum().alias("denied_cents"))
    den = den.join(den_amt, on="claim_idx", how="left", maintain_order="left").sort("claim_idx", maintain_order=True)
    k = den.height
    cat_map = np.array(
        [
            carc_category.get((g, c), "other")
            for g, c in zip(den["den_group"].to_list(), den["den_carc"].to_list(), strict=True)
        ],
        dtype=object,
    )
    appeal_p = np.where(np.isin(cat_map, ["timely_filing", "duplicate"]), 0.15, 0.6)
    ua = rng.random((k, 2))
    appealed = ua[:, 0] < appeal_p
    overturned = appealed & (ua[:, 1] < 0.5)
    rd = den["remit_date"].to_numpy().astype("datetime64[D]")
    appeal_d = rd + _days(rng.integers(5, 26, k))
    outcome_d = appeal_d + _days(rng.integers(20, 61, k))
    wo_d = np.where(appealed, outcome_d + _days(rng.integers(1, 11, k)), rd + _days(rng.integers(30, 61, k)))
    ev = []
    base_cols = {
        "claim_idx": den["claim_idx"].to_numpy(),
        "group_code": den["den_group"].to_numpy(),
        "carc_code": den["den_carc"].to_numpy(),
        "denial_category": cat_map.astype(str),
        "denied_cents": den["denied_cents"].to_numpy(),
    }

    def add(event: str, mask: np.ndarray, when: np.ndarray, order: int) -> None:
        m = int(mask.sum())
        ev.append(
            pl.DataFrame(
                {
                    "claim_idx": pl.Series(base_cols["claim_idx"][mask], dtype=pl.Int64),
                    "group_code": pl.Series(base_cols["group_code"][mask].tolist(), dtype=pl.Utf8),
                    "carc_code": pl.Series(base_cols["carc_code"][mask].tolist(), dtype=pl.Utf8),
                    "denial_category": pl.Series(base_cols["denial_category"][mask].tolist(), dtype=pl.Utf8),
                    "denied_cents": pl.Series(base_cols["denied_cents"][mask], dtype=pl.Int64),
                    "event_type": pl.Series([event] * m, dtype=pl.Utf8),
                    "event_date": pl.Series(when[mask].astype("datetime64[D]"), dtype=pl.Date),
                    "event_order": pl.Series([order] * m, dtype=pl.Int64),
                }
            )
        )

    add("denial_received", np.ones(k, bool), rd, 1)
    add("appeal_filed", appealed, appeal_d, 2)
    add("overturned", overturned, outcome_d, 3)
    add("upheld", appealed & ~overturned, outcome_d, 3)
    add("written_off", ~overturned, wo_d, 4)
    events = pl.concat(ev).filter(pl.col("event_date") < as_of_d)
    ovt = events.filter(pl.col("event_type") == "overturned").select("claim_idx", remit_date="event_date")
    ovt_rev = ovt.select("claim_idx", "remit_date", kind=pl.lit("reversal"), ref_claim_idx=pl.col("claim_idx"))
    ovt_new = ovt.select("claim_idx", "remit_date", kind=pl.lit("readjudication"), ref_claim_idx=pl.col("claim_idx"))

    inst = pl.concat(
        [
            orig,
            orig_of_new.with_columns(
                claim_deny=pl.lit(False),
                line_deny=pl.lit(False),
                line_deny_no=pl.lit(0, pl.Int64),
                den_group=pl.lit(""),
                den_carc=pl.lit(""),
                den_rarc=pl.lit(""),
            ),
            new_adj.with_columns(
                claim_deny=pl.lit(False),
                line_deny=pl.lit(False),
                line_deny_no=pl.lit(0, pl.Int64),
                den_group=pl.lit(""),
                den_carc=pl.lit(""),
                den_rarc=pl.lit(""),
            ),
            ovt_rev.with_columns(pl.col("remit_date").cast(pl.Date)).join(
                orig.select(
                    "claim_idx", "claim_deny", "line_deny", "line_deny_no", "den_group", "den_carc", "den_rarc"
                ),
                on="claim_idx",
                how="left",
                maintain_order="left",
            ),
            ovt_new.with_columns(
                pl.col("remit_date").cast(pl.Date),
                claim_deny=pl.lit(False),
                line_deny=pl.lit(False),
                line_deny_no=pl.lit(0, pl.Int64),
                den_group=pl.lit(""),
                den_carc=pl.lit(""),
                den_rarc=pl.lit(""),
            ),
        ],
        how="diagonal_relaxed",
    )
    kind_order = pl.col("kind").replace_strict(
        {"reversal": 0, "original": 1, "readjudication": 2}, return_dtype=pl.Int64
    )
    inst = inst.join(
        claims_all.select("claim_idx", "payer_idx", "facility_idx", "patient_control_number"),
        on="claim_idx",
        how="left",
        maintain_order="left",
    )
    fac_npi = pl.Series(fac["npi"].to_numpy())
    inst = (
        inst.with_columns(
            payee_npi=pl.col("facility_idx").map_batches(lambda s: fac_npi.gather(s), return_dtype=pl.Utf8),
            _ko=kind_order,
        )
        .sort("remit_date", "payer_idx", "payee_npi", "patient_control_number", "_ko", maintain_order=True)
        .with_row_index("inst_id")
        .with_columns(pl.col("inst_id").cast(pl.Int64))
        .drop("_ko")
    )
    # A reversal negates the instance it reverses: the original of the referenced claim.
    # Reversals always point at the original adjudication (claim freq 1) of that claim.
    orig_ids = inst.filter(pl.col("kind") == "original").select(
        pl.col("claim_idx").alias("ref_claim_idx"), pl.col("inst_id").alias("reversed_inst_id")
    )
    inst = (
        inst.join(orig_ids, on="ref_claim_idx", how="left", maintain_order="left")
        .with_columns(
            reversed_inst_id=pl.when(pl.col("kind") == "reversal").then(pl.col("reversed_inst_id")).otherwise(None)
        )
        .sort("inst_id", maintain_order=True)
    )

    # ---- units of each instance
    base_units = (
        inst.filter(pl.col("kind") != "reversal")
        .select("inst_id", "claim_idx", "claim_deny", "line_deny", "line_deny_no", "den_group", "den_carc", "den_rarc")
        .join(units, on="claim_idx", how="left", maintain_order="left")
    )
    denied = pl.col("claim_deny") | (pl.col("line_deny") & (pl.col("unit_no") == pl.col("line_deny_no")))
    base_units = (
        base_units.with_columns(
            denied=denied,
        )
        .with_columns(
            allowed=pl.when("denied").then(0).otherwise("allowed"),
            ded=pl.when("denied").then(0).otherwise("ded"),
            coins=pl.when("denied").then(0).otherwise("coins"),
            copay=pl.when("denied").then(0).otherwise("copay"),
            den_group=pl.when("denied").then("den_group").otherwise(pl.lit("")),
            den_carc=pl.when("denied").then("den_carc").otherwise(pl.lit("")),
            den_rarc=pl.when("denied").then("den_rarc").otherwise(pl.lit("")),
        )
        .with_columns(
            denial=pl.when("denied").then("charge").otherwise(0),
            paid=pl.col("allowed") - pl.col("ded") - pl.col("coins") - pl.col("copay"),
            contractual=pl.when(pl.col("denied")).then(0).otherwise(pl.col("charge") - pl.col("allowed")),
        )
        .select(
            "inst_id",
            "claim_idx",
            "unit_no",
            "charge",
            "allowed",
            "paid",
            "contractual",
            "ded",
            "coins",
            "copay",
            "denial",
            "denied",
            "den_group",
            "den_carc",
            "den_rarc",
        )
    )
    money_cols = ["charge", "allowed", "paid", "contractual", "ded", "coins", "copay", "denial"]
    orig_units = base_units.rename({"inst_id": "reversed_inst_id"})
    rev_units = (
        inst.filter(pl.col("kind") == "reversal")
        .select("inst_id", "reversed_inst_id")
        .join(orig_units, on="reversed_inst_id", how="inner", maintain_order="left")
        .with_columns([(-pl.col(c)).alias(c) for c in money_cols])
        .drop("reversed_inst_id")
        .select(base_units.columns)
    )
    all_units = pl.concat([base_units, rev_units]).sort("inst_id", "unit_no", maintain_order=True)

    # instance totals and status codes
    tot = all_units.group_by("inst_id").agg(
        [pl.col(c).sum() for c in money_cols] + [pl.col("denied").all().alias("all_denied")]
    )
    inst = (
        inst.join(tot, on="inst_id", how="left", maintain_order="left")
        .with_columns(
            status=pl.when(pl.col("kind") == "reversal")
            .then(pl.lit("22"))
            .when(pl.col("all_denied"))
            .then(pl.lit("4"))
            .otherwise(pl.lit("1")),
            patient_resp=pl.col("ded") + pl.col("coins") + pl.col("copay"),
        )
        .sort("inst_id", maintain_order=True)
    )
    # payer claim control number: new per non-reversal instance; reversals reuse the reversed one
    icn = pl.concat_str(
        [pl.col("remit_date").dt.strftime("%y%j"), pl.lit("9"), pl.col("inst_id").cast(pl.Utf8).str.zfill(8)]
    )
    inst = inst.with_columns(icn=icn)
    inst = (
        inst.join(
            inst.select(pl.col("inst_id").alias("reversed_inst_id"), pl.col("icn").alias("_ricn")),
            on="reversed_inst_id",
            how="left",
            maintain_order="left",
        )
        .with_columns(icn=pl.coalesce("_ricn", "icn"))
        .drop("_ricn")
        .sort("inst_id", maintain_order=True)
    )

    # ---- denial events: amounts, recovered amount on overturn, ids
    readj_paid = inst.filter(pl.col("kind") == "readjudication").select(
        "claim_idx", "remit_date", pl.col("paid").alias("recovered")
    )
    events = (
        events.join(
            readj_paid.rename({"remit_date": "event_date"}).with_columns(pl.col("event_date").cast(pl.Date)),
            on=["claim_idx", "event_date"],
            how="left",
            maintain_order="left",
        )
        .with_columns(
            amount_cents=pl.when(pl.col("event_type") == "overturned")
            .then(pl.col("recovered"))
            .when(pl.col("event_type").is_in(["denial_received", "written_off"]))
            .then(pl.col("denied_cents"))
            .otherwise(None),
        )
        .join(
            claims_all.select("claim_idx", "payer_idx", "patient_idx"),
            on="claim_idx",
            how="left",
            maintain_order="left",
        )
        .sort("event_date", "claim_idx", "event_order", maintain_order=True)
        .with_columns(event_id="DE" + pl.int_range(1, pl.len() + 1).cast(pl.Utf8).str.zfill(9))
    )

    billing = Billing(claims=claims_all, lines=lines_all, instances=inst, units=all_units, denial_events=events)
    faults_out = {
        "unmapped_drg": claims_all.filter(pl.col("is_unmapped_drg")).select("claim_idx"),
        "unmapped_code": lines_all.filter(pl.col("is_unmapped_code")).select("claim_idx", "line_number"),
        "id_drift": claims_all.filter(pl.col("is_drifted")).select("claim_idx"),
    }
    return billing, faults_out
