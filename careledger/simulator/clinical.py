"""Patients and encounters, generated in bulk with numpy (one array per attribute)."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from careledger.simulator.catalog import Catalog
from careledger.simulator.network import Network
from careledger.simulator.phi import addresses, people
from careledger.simulator.reference import Reference

# Inpatient DRG case mix: (drg_code, relative frequency)
DRG_MIX: list[tuple[str, float]] = [
    ("871", 8),
    ("872", 4),
    ("291", 7),
    ("292", 4),
    ("470", 6),
    ("193", 3),
    ("194", 4),
    ("195", 3),
    ("190", 3),
    ("191", 3),
    ("189", 2),
    ("807", 7),
    ("788", 4),
    ("795", 5),
    ("885", 4),
    ("897", 2),
    ("064", 1),
    ("065", 2),
    ("066", 1),
    ("069", 2),
    ("101", 2),
    ("247", 2),
    ("280", 2),
    ("308", 2),
    ("309", 2),
    ("313", 3),
    ("329", 1),
    ("330", 1),
    ("343", 2),
    ("418", 2),
    ("419", 1),
    ("460", 1),
    ("481", 2),
    ("552", 2),
    ("603", 3),
    ("683", 3),
    ("690", 3),
    ("846", 1),
    ("847", 1),
    ("207", 1),
]
# Real MS-DRGs deliberately absent from seeds/ms_drgs.csv (used by the unmapped-code fault).
UNMAPPED_DRGS: list[tuple[str, float]] = [("177", 1.79), ("392", 0.75), ("378", 0.99), ("312", 0.85)]

# ICD-10-CM principal diagnoses by service line.
DIAGNOSES: dict[str, list[tuple[str, str]]] = {
    "cardiology": [
        ("I21.4", "Non-ST elevation myocardial infarction"),
        ("I50.9", "Heart failure, unspecified"),
        ("I48.91", "Unspecified atrial fibrillation"),
        ("R07.9", "Chest pain, unspecified"),
        ("I25.10", "Atherosclerotic heart disease of native coronary artery"),
    ],
    "orthopedics": [
        ("M17.11", "Unilateral primary osteoarthritis, right knee"),
        ("M16.12", "Unilateral primary osteoarthritis, left hip"),
        ("S72.001A", "Fracture of unspecified part of neck of right femur"),
        ("M54.50", "Low back pain, unspecified"),
        ("M23.211", "Derangement of anterior horn of medial meniscus"),
    ],
    "oncology": [
        ("C34.90", "Malignant neoplasm of unspecified part of bronchus or lung"),
        ("C50.911", "Malignant neoplasm of unspecified site of right female breast"),
        ("C18.9", "Malignant neoplasm of colon, unspecified"),
        ("Z51.11", "Encounter for antineoplastic chemotherapy"),
    ],
    "womens_health": [
        ("O80", "Encounter for full-term uncomplicated delivery"),
        ("Z34.90", "Encounter for supervision of normal pregnancy"),
        ("Z12.31", "Encounter for screening mammogram"),
        ("N87.1", "Moderate cervical dysplasia"),
        ("Z38.00", "Single liveborn infant, delivered vaginally"),
    ],
    "behavioral_health": [
        ("F32.9", "Major depressive disorder, single episode"),
        ("F41.1", "Generalized anxiety disorder"),
        ("F20.9", "Schizophrenia, unspecified"),
        ("F10.20", "Alcohol dependence, uncomplicated"),
        ("F31.9", "Bipolar disorder, unspecified"),
    ],
    "emergency": [
        ("R10.9", "Unspecified abdominal pain"),
        ("R07.9", "Chest pain, unspecified"),
        ("S01.81XA", "Laceration without foreign body of other part of head"),
        ("J06.9", "Acute upper respiratory infection"),
        ("R51.9", "Headache, unspecified"),
        ("S93.401A", "Sprain of unspecified ligament of right ankle"),
    ],
    "primary_care": [
        ("Z00.00", "Encounter for general adult medical examination"),
        ("E11.9", "Type 2 diabetes mellitus without complications"),
        ("I10", "Essential (primary) hypertension"),
        ("E78.5", "Hyperlipidemia, unspecified"),
        ("A41.9", "Sepsis, unspecified organism"),
        ("N39.0", "Urinary tract infection, site not specified"),
        ("L03.115", "Cellulitis of right lower limb"),
        ("N17.9", "Acute kidney failure, unspecified"),
    ],
    "general_surgery": [
        ("K80.20", "Calculus of gallbladder without cholecystitis"),
        ("K35.80", "Unspecified acute appendicitis"),
        ("K40.90", "Unilateral inguinal hernia"),
        ("Z12.11", "Encounter for screening for malignant neoplasm of colon"),
        ("K21.9", "Gastro-esophageal reflux disease without esophagitis"),
    ],
    "imaging": [
        ("R91.8", "Other nonspecific abnormal finding of lung field"),
        ("R10.9", "Unspecified abdominal pain"),
        ("M54.50", "Low back pain, unspecified"),
        ("Z12.31", "Encounter for screening mammogram"),
    ],
    "lab": [
        ("Z13.220", "Encounter for screening for lipoid disorders"),
        ("E11.9", "Type 2 diabetes mellitus without complications"),
        ("R73.03", "Prediabetes"),
        ("E03.9", "Hypothyroidism, unspecified"),
    ],
    "neurology": [
        ("I63.9", "Cerebral infarction, unspecified"),
        ("G45.9", "Transient cerebral ischemic attack"),
        ("G40.909", "Epilepsy, unspecified"),
        ("G56.01", "Carpal tunnel syndrome, right upper limb"),
        ("G43.909", "Migraine, unspecified"),
    ],
    "pulmonology": [
        ("J44.1", "Chronic obstructive pulmonary disease with acute exacerbation"),
        ("J18.9", "Pneumonia, unspecified organism"),
        ("J96.01", "Acute respiratory failure with hypoxia"),
        ("J45.909", "Unspecified asthma, uncomplicated"),
    ],
}
# Inpatient primary procedure (CPT) by DRG service line, for Procedure resources and PR1.
INPATIENT_PROCEDURES: dict[str, list[str]] = {
    "cardiology": ["93458", "92928"],
    "orthopedics": ["27447", "27130", "22612"],
    "general_surgery": ["47562", "44970", "49505"],
    "womens_health": ["59400", "59510"],
}

# Hospital outpatient department mix and clinic department mix (by department short code).
HOSP_OP_MIX = {"IMG": 30, "LAB": 30, "CATH": 6, "INF": 8, "ENDO": 12, "PFT": 6, "NDX": 8}
CLINIC_MIX = {"PC": 45, "OC": 15, "WH": 14, "BH": 12, "CC": 8, "NC": 6}


def _weighted(rng: np.random.Generator, keys: list, weights: list[float], n: int) -> np.ndarray:
    p = np.asarray(weights, dtype=float)
    return np.asarray(keys, dtype=object)[rng.choice(len(keys), size=n, p=p / p.sum())]


def _day_weights(start: date, days: int, weekend_factor: float) -> np.ndarray:
    d = np.datetime64(start) + np.arange(days)
    dow = (d.astype("datetime64[D]").astype(np.int64) + 3) % 7  # 0 = Monday
    doy = (d - d.astype("datetime64[Y]")).astype(np.int64)
    season = 1.0 + 0.18 * np.cos(2 * np.pi * (doy - 15) / 365.25)
    w = season * np.where(dow >= 5, weekend_factor, 1.0)
    return w / w.sum()


def build_patients(rng: np.random.Generator, n: int, net: Network, start: date) -> pl.DataFrame:
    who = people(rng, n, female_share=0.55)
    addr = addresses(rng, n)
    # Age mix of a community health system.
    age = np.clip(np.where(rng.random(n) < 0.3, rng.normal(72, 8, n), rng.normal(42, 17, n)), 0, 99).astype(np.int64)
    dob = (
        np.datetime64(start)
        - (age * 365.25).astype("timedelta64[D]")
        - rng.integers(0, 365, n).astype("timedelta64[D]")
    )
    codes = net.payers["payer_code"].to_list()
    senior = age >= 65
    senior_payers = ["PYR001", "PYR005", "PYR003", "PYR090"]
    senior_w = [58, 34, 5, 3]
    other_payers = ["PYR003", "PYR004", "PYR009", "PYR002", "PYR006", "PYR007", "PYR008", "PYR090"]
    other_w = [20, 16, 12, 14, 12, 4, 3, 8]
    payer = np.where(senior, _weighted(rng, senior_payers, senior_w, n), _weighted(rng, other_payers, other_w, n))
    payer_idx = np.array([codes.index(c) for c in payer.tolist()], dtype=np.int64) if n else np.zeros(0, np.int64)
    idx = np.arange(n, dtype=np.int64)
    mrn_num = (12_345_678 + idx * 3163) % 10**8
    # Member ids: Medicare-like MBI for Medicare; payer prefix + 9 digits elsewhere.
    letters = np.array(list("ACDEFGHJKMNPQRTUVWXY"))
    mbi = pl.DataFrame(
        {
            "a": rng.integers(1, 10, n).astype(str),
            "b": letters[rng.integers(0, 20, n)],
            "c": letters[rng.integers(0, 20, n)],
            "d": rng.integers(0, 10, n).astype(str),
            "e": letters[rng.integers(0, 20, n)],
            "f": letters[rng.integers(0, 20, n)],
            "g": rng.integers(0, 10, n).astype(str),
            "h": letters[rng.integers(0, 20, n)],
            "i": letters[rng.integers(0, 20, n)],
            "j": rng.integers(10, 100, n).astype(str),
        }
    ).select(pl.concat_str(pl.all()).alias("mbi"))["mbi"]
    prefix = pl.Series([c[-3:] for c in net.payers["ehr_org_id"].to_list()]).gather(payer_idx)
    other_id = prefix + pl.Series(rng.integers(10**8, 10**9, n)).cast(pl.Utf8)
    member = pl.select(pl.when(pl.Series(payer) == "PYR001").then(mbi).otherwise(other_id)).to_series()
    member = pl.select(pl.when(pl.Series(payer) == "PYR090").then(pl.lit(None)).otherwise(member)).to_series()
    return (
        pl.DataFrame(
            {
                "patient_idx": idx,
                "patient_id": "P" + pl.Series(idx + 1).cast(pl.Utf8).str.zfill(7),
                "mrn": "MRN" + pl.Series(mrn_num).cast(pl.Utf8).str.zfill(8),
                "birth_date": dob.astype("datetime64[D]"),
                "age": age,
                "payer_idx": payer_idx,
                "member_id": member,
                "group_number": "G" + pl.Series(rng.integers(10000, 99999, n)).cast(pl.Utf8),
            }
        )
        .hstack(who)
        .hstack(addr)
    )


def build_encounters(
    rng: np.random.Generator,
    n: int,
    *,
    start: date,
    days: int,
    net: Network,
    ref: Reference,
    catalog: Catalog,
    patients: pl.DataFrame,
) -> pl.DataFrame:
    fac = net.facilities
    dept = net.departments
    is_hosp = (fac["facility_type"] == "hospital").to_numpy()
    fac_w = np.where(is_hosp, 3.0, 1.0)
    facility_idx = rng.choice(fac.height, size=n, p=fac_w / fac_w.sum())
    hosp_enc = is_hosp[facility_idx]
    u = rng.random(n)
    enc_class = np.where(hosp_enc, np.where(u < 0.12, "IMP", np.where(u < 0.45, "EMER", "AMB")), "AMB")

    # Department and service line (integer lookups: facility x department short code).
    is_ip = enc_class == "IMP"
    is_ed = enc_class == "EMER"
    shorts = sorted(set(dept["short_code"].to_list()))
    table = np.full((fac.height, len(shorts)), -1, dtype=np.int64)
    table[dept["facility_idx"].to_numpy(), [shorts.index(x) for x in dept["short_code"].to_list()]] = np.arange(
        dept.height
    )
    drg_sl = dict(zip(ref.ms_drgs["drg_code"].to_list(), ref.ms_drgs["service_line_code"].to_list(), strict=True))
    drg_weight = dict(zip(ref.ms_drgs["drg_code"].to_list(), ref.ms_drgs["weight"].to_list(), strict=True))
    drg_codes = np.array([d for d, _ in DRG_MIX], dtype=object)
    drg_w = np.array([w for _, w in DRG_MIX], dtype=float)
    drg_pick = rng.choice(len(drg_codes), n, p=drg_w / drg_w.sum())
    drg = np.where(is_ip, drg_codes[drg_pick], None)
    sl_to_ip_dept = {
        "primary_care": "MED",
        "general_surgery": "SURG",
        "cardiology": "CARD",
        "orthopedics": "ORTH",
        "oncology": "ONC",
        "womens_health": "LD",
        "behavioral_health": "PSY",
        "neurology": "NEUR",
        "pulmonology": "PULM",
    }
    ip_short = np.array([shorts.index(sl_to_ip_dept[drg_sl[d]]) for d in drg_codes.tolist()])[drg_pick]
    op_keys = np.array([shorts.index(k) for k in HOSP_OP_MIX])
    cl_keys = np.array([shorts.index(k) for k in CLINIC_MIX])
    op_w = np.array(list(HOSP_OP_MIX.values()), dtype=float)
    cl_w = np.array(list(CLINIC_MIX.values()), dtype=float)
    op_choice = op_keys[rng.choice(len(op_keys), n, p=op_w / op_w.sum())]
    cl_choice = cl_keys[rng.choice(len(cl_keys), n, p=cl_w / cl_w.sum())]
    short_i = np.where(
        is_ip,
        ip_short,
        np.where(is_ed, shorts.index("ED") if "ED" in shorts else 0, np.where(hosp_enc, op_choice, cl_choice)),
    )
    dept_idx = table[facility_idx, short_i]
    weights = np.where(is_ip, np.array([drg_weight[d] for d in drg_codes.tolist()])[drg_pick], 1.0)
    drg_sl_arr = np.array([drg_sl[d] for d in drg_codes.tolist()], dtype=object)
    dept_sl = dept["service_line_code"].to_numpy()[dept_idx]

    # Dates with seasonality and weekday effects; times of day per class.
    day = np.empty(n, dtype=np.int64)
    for cls, wk in (("AMB", 0.2), ("EMER", 1.1), ("IMP", 0.85)):
        m = enc_class == cls
        day[m] = rng.choice(days, size=int(m.sum()), p=_day_weights(start, days, wk))
    base = np.datetime64(start, "s") + (day * 86400).astype("timedelta64[s]")
    start_sec = np.where(
        enc_class == "AMB",
        rng.integers(7 * 3600 + 1800, 17 * 3600, n),
        rng.integers(0, 86400, n),
    )
    start_ts = base + start_sec.astype("timedelta64[s]")
    los = np.clip(np.round(1.6 + weights * 0.9 + rng.uniform(-0.8, 1.2, n)), 2, 6).astype(np.int64)
    dur = np.where(
        enc_class == "AMB",
        rng.integers(20 * 60, 90 * 60, n),
        np.where(enc_class == "EMER", rng.integers(2 * 3600, 9 * 3600, n), 0),
    )
    discharge_ts = (
        base + (los * 86400).astype("timedelta64[s]") + rng.integers(10 * 3600, 16 * 3600, n).astype("timedelta64[s]")
    )
    end_ts = np.where(enc_class == "IMP", discharge_ts, start_ts + dur.astype("timedelta64[s]"))
    los = np.where(enc_class == "IMP", los, 0)
    cancelled = rng.random(n) < 0.02

    # Patients: women's health from the female pool.
    female = np.flatnonzero((patients["sex"] == "F").to_numpy())
    all_p = patients.height
    patient_idx = rng.integers(0, all_p, n)
    wh = dept_sl == "womens_health"
    if female.size:
        patient_idx[wh] = female[rng.integers(0, female.size, int(wh.sum()))]

    # Attending provider from the department.
    pstart = dept["prov_start"].to_numpy()[dept_idx]
    pcount = dept["prov_count"].to_numpy()[dept_idx]
    provider_idx = pstart + (rng.random(n) * pcount).astype(np.int64)

    # Service line and primary procedure / first claim line item.
    sl = np.where(is_ip, drg_sl_arr[drg_pick], dept_sl)
    setting = np.where(enc_class == "EMER", "ed", np.where(hosp_enc, "hosp_op", "clinic"))
    first_item = catalog.sample_first(rng, setting, dept_sl)
    ip_proc = np.full(n, None, dtype=object)
    for line, codes in INPATIENT_PROCEDURES.items():
        m = (enc_class == "IMP") & (sl == line)
        ip_proc[m] = np.asarray(codes, dtype=object)[rng.integers(0, len(codes), int(m.sum()))]
    first_code = catalog.items["procedure_code"].to_numpy()[first_item]
    primary_proc = np.where(enc_class == "IMP", ip_proc, first_code)

    dx_code = np.empty(n, dtype=object)
    dx_desc = np.empty(n, dtype=object)
    for line, items in DIAGNOSES.items():
        m = sl == line
        pick = rng.integers(0, len(items), int(m.sum()))
        dx_code[m] = np.asarray([c for c, _ in items], dtype=object)[pick]
        dx_desc[m] = np.asarray([d for _, d in items], dtype=object)[pick]

    frame = pl.DataFrame(
        {
            "patient_idx": patient_idx.astype(np.int64),
            "facility_idx": facility_idx.astype(np.int64),
            "dept_idx": dept_idx,
            "provider_idx": provider_idx.astype(np.int64),
            "enc_class": enc_class.astype(str),
            "start_ts": start_ts.astype("datetime64[ms]"),
            "end_ts": end_ts.astype("datetime64[ms]"),
            "los": los.astype(np.int64),
            "cancelled": cancelled,
            "drg_code": pl.Series(drg.tolist(), dtype=pl.Utf8),
            "drg_weight": weights,
            "service_line_code": pl.Series(sl.tolist(), dtype=pl.Utf8),
            "first_item": first_item.astype(np.int64),
            "primary_procedure": pl.Series(primary_proc.tolist(), dtype=pl.Utf8),
            "dx_code": pl.Series(dx_code.tolist(), dtype=pl.Utf8),
            "dx_desc": pl.Series(dx_desc.tolist(), dtype=pl.Utf8),
            "tiebreak": rng.random(n),
        }
    ).sort("start_ts", "tiebreak", maintain_order=True)
    frame = (
        frame.with_row_index("enc_idx")
        .with_columns(
            pl.col("enc_idx").cast(pl.Int64),
            encounter_id="V" + (pl.int_range(1, pl.len() + 1)).cast(pl.Utf8).str.zfill(8),
        )
        .drop("tiebreak")
    )
    return frame
