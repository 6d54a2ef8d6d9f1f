"""Master data of the simulated health network: entities, facilities, departments, cost
centers, providers, payers, chart of accounts, suppliers and the cross-system crosswalks.

These tables are small (tens to hundreds of rows), so they are built row by row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from careledger.simulator.phi import CITIES, people
from careledger.simulator.reference import make_npis

# (code, name, kind, service_line, cost center number, cost center type, HL7 hospital service)
HOSPITAL_DEPARTMENTS: list[tuple[str, str, str, str, int, str, str]] = [
    ("ED", "Emergency department", "ed", "emergency", 2100, "revenue", "EME"),
    ("MED", "Medical unit", "inpatient", "primary_care", 2200, "revenue", "MED"),
    ("SURG", "Surgical unit", "inpatient", "general_surgery", 2210, "revenue", "SUR"),
    ("CARD", "Cardiac unit", "inpatient", "cardiology", 2220, "revenue", "CAR"),
    ("ORTH", "Orthopedic unit", "inpatient", "orthopedics", 2230, "revenue", "ORT"),
    ("ONC", "Oncology unit", "inpatient", "oncology", 2240, "revenue", "ONC"),
    ("LD", "Labor and delivery", "inpatient", "womens_health", 2250, "revenue", "OBS"),
    ("PSY", "Behavioral health unit", "inpatient", "behavioral_health", 2260, "revenue", "PSY"),
    ("NEUR", "Neuroscience unit", "inpatient", "neurology", 2270, "revenue", "NEU"),
    ("PULM", "Pulmonary unit", "inpatient", "pulmonology", 2280, "revenue", "PUL"),
    ("INF", "Infusion center", "outpatient", "oncology", 2300, "revenue", "ONC"),
    ("ENDO", "Endoscopy and ambulatory surgery", "outpatient", "general_surgery", 2310, "revenue", "SUR"),
    ("CATH", "Cardiac cath lab", "outpatient", "cardiology", 3100, "ancillary", "CAR"),
    ("IMG", "Imaging", "outpatient", "imaging", 3200, "ancillary", "RAD"),
    ("LAB", "Laboratory", "outpatient", "lab", 3300, "ancillary", "LAB"),
    ("PFT", "Pulmonary function lab", "outpatient", "pulmonology", 3400, "ancillary", "PUL"),
    ("NDX", "Neurodiagnostics", "outpatient", "neurology", 3500, "ancillary", "NEU"),
]
CLINIC_DEPARTMENTS: list[tuple[str, str, str, str, int, str, str]] = [
    ("PC", "Primary care", "clinic", "primary_care", 2500, "revenue", "MED"),
    ("OC", "Orthopedic clinic", "clinic", "orthopedics", 2510, "revenue", "ORT"),
    ("WH", "Women's health clinic", "clinic", "womens_health", 2520, "revenue", "OBS"),
    ("BH", "Behavioral health clinic", "clinic", "behavioral_health", 2530, "revenue", "PSY"),
    ("CC", "Cardiology clinic", "clinic", "cardiology", 2540, "revenue", "CAR"),
    ("NC", "Neurology clinic", "clinic", "neurology", 2550, "revenue", "NEU"),
]
OVERHEAD_COST_CENTERS: list[tuple[int, str]] = [
    (8100, "Administration"),
    (8200, "Plant operations"),
    (8300, "Information technology"),
    (8400, "Nursing administration"),
]
# Providers per department kind (min, max).
PROVIDERS_PER_KIND = {"ed": (4, 8), "inpatient": (2, 5), "outpatient": (1, 3), "clinic": (2, 6)}
# Non-provider staff per cost center (min, max) for payroll.
STAFF_PER_CC = (4, 12)

# payer_code, name, class, x12 payer id, EHR org id, inpatient base rate (cents),
# outpatient method, outpatient rate (x10000), initial denial rate
PAYERS: list[tuple[str, str, str, str, str, int, str, int, float]] = [
    ("PYR001", "Medicare Part A and B", "medicare", "14512", "PAY-MCR", 725_000, "fee_schedule", 10_000, 0.06),
    ("PYR002", "Illinois Medicaid", "medicaid", "77046", "PAY-MCD", 580_000, "fee_schedule", 7_500, 0.11),
    ("PYR003", "Blue Prairie PPO", "commercial", "62118", "PAY-BPP", 1_250_000, "pct_of_charges", 5_200, 0.08),
    ("PYR004", "Heartland Health Plan", "commercial", "39026", "PAY-HHP", 1_180_000, "fee_schedule", 14_500, 0.10),
    ("PYR005", "Summit Medicare Advantage", "managed_care", "52077", "PAY-SMA", 760_000, "fee_schedule", 10_200, 0.13),
    (
        "PYR006",
        "Riverbend Medicaid Managed Care",
        "managed_care",
        "81455",
        "PAY-RMC",
        600_000,
        "fee_schedule",
        8_000,
        0.15,
    ),
    ("PYR007", "TRICARE East", "other_government", "99726", "PAY-TRI", 800_000, "fee_schedule", 10_500, 0.07),
    (
        "PYR008",
        "Prairie State Workers Comp",
        "workers_comp",
        "23140",
        "PAY-PWC",
        1_300_000,
        "pct_of_charges",
        6_500,
        0.05,
    ),
    ("PYR009", "Lakeshore Commercial HMO", "commercial", "47310", "PAY-LCH", 1_100_000, "pct_of_charges", 4_800, 0.09),
    ("PYR090", "Self-pay", "self_pay", "", "PAY-SELF", 400_000, "pct_of_charges", 4_000, 0.0),
]

# account_id, name, type, natural balance, is_posting
CHART_OF_ACCOUNTS: list[tuple[str, str, str, str, bool]] = [
    ("1000", "Cash and equivalents", "asset", "debit", False),
    ("1010", "Cash clearing", "asset", "debit", True),
    ("1100", "Operating cash", "asset", "debit", True),
    ("1200", "Patient A/R - payer", "asset", "debit", True),
    ("1210", "Patient A/R - self-pay", "asset", "debit", True),
    ("1290", "Allowance for contractual adjustments", "asset", "credit", True),
    ("1300", "Supplies inventory", "asset", "debit", True),
    ("2000", "Accounts payable", "liability", "credit", True),
    ("2100", "Accrued payroll", "liability", "credit", True),
    ("2110", "Accrued benefits and payroll taxes", "liability", "credit", True),
    ("2200", "Accrued expenses", "liability", "credit", True),
    ("1500", "Accumulated depreciation", "asset", "credit", True),
    ("3000", "Net assets", "equity", "credit", False),
    ("4000", "Patient service revenue", "revenue", "credit", False),
    ("4010", "Revenue - room and board", "revenue", "credit", True),
    ("4020", "Revenue - laboratory and pathology", "revenue", "credit", True),
    ("4030", "Revenue - radiology and imaging", "revenue", "credit", True),
    ("4040", "Revenue - surgical services", "revenue", "credit", True),
    ("4050", "Revenue - emergency services", "revenue", "credit", True),
    ("4060", "Revenue - pharmacy and supplies", "revenue", "credit", True),
    ("4070", "Revenue - clinic and professional services", "revenue", "credit", True),
    ("4080", "Revenue - cardiology and diagnostics", "revenue", "credit", True),
    ("4090", "Revenue - therapy and behavioral services", "revenue", "credit", True),
    ("4800", "Provider-level adjustments", "revenue", "credit", True),
    ("4810", "Prompt-pay interest on payer payments", "revenue", "credit", True),
    ("4900", "Contractual allowances", "revenue", "debit", True),
    ("4910", "Denials", "revenue", "debit", True),
    ("4920", "Bad debt", "revenue", "debit", True),
    ("4930", "Charity care", "revenue", "debit", True),
    ("4950", "Contractual allowance true-up", "revenue", "debit", True),
    ("4960", "Unclassified payer adjustments", "revenue", "debit", True),
    ("1295", "Remittance suspense", "asset", "debit", True),
    ("1250", "Unbilled patient A/R (DNFB)", "asset", "debit", True),
    ("4999", "Unmapped revenue suspense", "revenue", "credit", True),
    ("6000", "Salaries and benefits", "expense", "debit", False),
    ("6010", "Salaries and wages - clinical", "expense", "debit", True),
    ("6020", "Salaries and wages - physicians", "expense", "debit", True),
    ("6030", "Salaries and wages - administrative", "expense", "debit", True),
    ("6100", "Employee benefits and payroll taxes", "expense", "debit", True),
    ("7000", "Supplies expense", "expense", "debit", False),
    ("7010", "Medical and surgical supplies", "expense", "debit", True),
    ("7020", "Pharmaceuticals", "expense", "debit", True),
    ("7030", "Implants and devices", "expense", "debit", True),
    ("7040", "Non-medical supplies", "expense", "debit", True),
    ("8000", "Other expense", "expense", "debit", False),
    ("8010", "Purchased services", "expense", "debit", True),
    ("8020", "Utilities", "expense", "debit", True),
    ("8030", "Repairs and maintenance", "expense", "debit", True),
    ("8040", "Depreciation", "expense", "debit", True),
]

SUPPLIERS: list[tuple[str, str, str]] = [
    ("S1001", "Midwest Medical Supply Co", "medical_surgical"),
    ("S1002", "Prairie Surgical Distributors", "medical_surgical"),
    ("S1003", "Great Lakes Pharmaceutical Wholesale", "pharmaceuticals"),
    ("S1004", "Central Rx Distribution", "pharmaceuticals"),
    ("S1005", "OrthoDynamics Implants", "implants"),
    ("S1006", "CardioVascular Devices Inc", "implants"),
    ("S1007", "Office Essentials Supply", "non_medical"),
    ("S1008", "Heartland Linen and Laundry", "purchased_services"),
    ("S1009", "Ameren-Style Regional Utility", "utilities"),
    ("S1010", "BioMed Equipment Services", "repairs_maintenance"),
]

FACILITY_NAMES_HOSPITAL = [
    "Prairie Regional Medical Center",
    "Sangamon Valley Hospital",
    "Illinois River Medical Center",
    "Lincoln Trail Hospital",
    "Kaskaskia Community Hospital",
    "Vermilion Memorial Hospital",
]
FACILITY_NAMES_CLINIC = [
    "Prairie Physician Partners",
    "Heartland Family Clinic",
    "Riverside Specialty Clinic",
    "Westside Medical Group",
    "Eastview Health Clinic",
    "Northfield Primary Care",
]


@dataclass(frozen=True)
class Network:
    legal_entities: pl.DataFrame
    facilities: pl.DataFrame
    departments: pl.DataFrame
    cost_centers: pl.DataFrame
    providers: pl.DataFrame
    staff: pl.DataFrame
    payers: pl.DataFrame
    chart_of_accounts: pl.DataFrame
    suppliers: pl.DataFrame


def build_network(rng: np.random.Generator, n_facilities: int) -> Network:
    """Build the health network's master data for ``n_facilities`` facilities."""
    n_facilities = max(1, n_facilities)
    n_hosp = max(1, (n_facilities + 1) // 2)
    hospital_entities = 1 if n_hosp <= 3 else 2
    le_rows = [
        ("LE10", "Prairie Health System Hospitals Inc", "37-1104521", "USD", "PHS Hospitals"),
        ("LE20", "Prairie Health Medical Group LLC", "37-1879033", "USD", "PHS Medical Group"),
        ("LE30", "Sangamon Valley Health Inc", "37-2230914", "USD", "SVH Ledger"),
    ]
    le_ids = ["LE10"] + (["LE30"] if hospital_entities == 2 else [])
    uses_clinic_entity = n_facilities > n_hosp
    legal_entities = pl.DataFrame(
        [r for r in le_rows if r[0] in le_ids or (r[0] == "LE20" and uses_clinic_entity)],
        schema=["legal_entity_id", "legal_entity_name", "tax_id", "currency_code", "ledger_name"],
        orient="row",
    )
    fac_npis = make_npis(rng, n_facilities, 2)  # organization NPIs begin with 2, individual NPIs with 1
    fac_rows = []
    for i in range(1, n_facilities + 1):
        is_hosp = i <= n_hosp
        ftype = "hospital" if is_hosp else "clinic"
        name_list = FACILITY_NAMES_HOSPITAL if is_hosp else FACILITY_NAMES_CLINIC
        k = (i - 1) if is_hosp else (i - 1 - n_hosp)
        name = name_list[k % len(name_list)] + ("" if k < len(name_list) else f" {k // len(name_list) + 1}")
        city, state, zip3, _ = CITIES[(i - 1) % len(CITIES)]
        le = (le_ids[(i - 1) % len(le_ids)]) if is_hosp else "LE20"
        fac_rows.append(
            {
                "facility_idx": i - 1,
                "facility_num": i,
                "facility_id": f"F{i * 100}",
                "facility_name": name,
                "facility_type": ftype,
                "legal_entity_id": le,
                "address_line": f"{100 + 37 * i} {['Main', 'Oak', 'Lincoln', 'Prairie'][i % 4]} St",
                "city": city,
                "state": state,
                "zip": f"{zip3}{(i * 7) % 90 + 1:02d}",
                "bed_count": int(rng.integers(120, 420)) if is_hosp else 0,
                "ehr_location_id": f"L-{i}",
                "ehr_org_id": f"ORG-{i}",
                "billing_code": f"FAC{i:02d}",
                "npi": fac_npis[i - 1],
                "tax_id": f"37-{1100000 + i * 1371:07d}",
            }
        )
    facilities = pl.DataFrame(fac_rows)

    dept_rows = []
    cc_rows = []
    billing_seq = 100
    for f in fac_rows:
        fid = f["facility_id"]
        root = f"CC-{fid}-0001"
        cc_rows.append((root, f"{f['facility_name']} - total", None, fid, "overhead", None, True))
        templates = HOSPITAL_DEPARTMENTS if f["facility_type"] == "hospital" else CLINIC_DEPARTMENTS
        for code, name, kind, sl, ccnum, cctype, svc in templates:
            billing_seq += int(rng.integers(1, 9))
            cc = f"CC-{fid}-{ccnum:04d}"
            dept_rows.append(
                {
                    "facility_idx": f["facility_idx"],
                    "ehr_code": f"D-{f['facility_num']}-{code}",
                    "short_code": code,
                    "billing_code": f"D{billing_seq:04d}",
                    "department_name": name,
                    "kind": kind,
                    "service_line_code": sl,
                    "cost_center_id": cc,
                    "hospital_service": svc,
                }
            )
            cc_rows.append((cc, f"{f['facility_name']} - {name}", root, fid, cctype, sl, True))
        for ccnum, name in OVERHEAD_COST_CENTERS:
            cc_rows.append(
                (f"CC-{fid}-{ccnum:04d}", f"{f['facility_name']} - {name}", root, fid, "overhead", None, True)
            )
    departments = pl.DataFrame(dept_rows).with_row_index("dept_idx").with_columns(pl.col("dept_idx").cast(pl.Int64))
    cost_centers = pl.DataFrame(
        cc_rows,
        schema=[
            "cost_center_id",
            "cost_center_name",
            "parent_cost_center_id",
            "facility_id",
            "cost_center_type",
            "service_line_code",
            "is_active",
        ],
        orient="row",
    )

    # Providers: a few per department; their billing and ERP codes drift from the EHR id.
    counts = [
        int(rng.integers(PROVIDERS_PER_KIND[k][0], PROVIDERS_PER_KIND[k][1] + 1)) for k in departments["kind"].to_list()
    ]
    n_prov = sum(counts)
    dept_of = np.repeat(np.arange(len(counts)), counts)
    who = people(rng, n_prov, female_share=0.45)
    npis = make_npis(rng, n_prov, 1)
    bp_codes = rng.choice(np.arange(1000, 9999), size=n_prov, replace=False)
    emp_order = rng.permutation(n_prov)
    providers = (
        pl.DataFrame(
            {
                "provider_idx": np.arange(n_prov),
                "practitioner_id": [f"PR{i + 1:04d}" for i in range(n_prov)],
                "npi": npis,
                "billing_code": [f"BP{c}" for c in bp_codes.tolist()],
                "employee_id": [f"E{10001 + int(e)}" for e in emp_order.tolist()],
                "dept_idx": dept_of,
            }
        )
        .hstack(who)
        .join(
            departments.select("dept_idx", "facility_idx", "cost_center_id", "service_line_code"),
            on="dept_idx",
            how="left",
            maintain_order="left",
        )
        .sort("provider_idx", maintain_order=True)
    )
    dept_counts = np.asarray(counts)
    departments = departments.with_columns(
        prov_start=pl.Series(np.concatenate([[0], np.cumsum(dept_counts)[:-1]])),
        prov_count=pl.Series(dept_counts),
    )

    # Non-provider staff per cost center (nurses, techs, admin), employees without NPIs.
    staff_cc = cost_centers.filter(pl.col("parent_cost_center_id").is_not_null())
    s_counts = rng.integers(STAFF_PER_CC[0], STAFF_PER_CC[1] + 1, staff_cc.height)
    n_staff = int(s_counts.sum())
    staff = pl.DataFrame(
        {
            "employee_id": [f"E{20001 + i}" for i in range(n_staff)],
            "cost_center_id": np.repeat(staff_cc["cost_center_id"].to_numpy(), s_counts),
            "cost_center_type": np.repeat(staff_cc["cost_center_type"].to_numpy(), s_counts),
            "hourly_cents": rng.integers(2400, 6800, n_staff),
        }
    )

    payers = (
        pl.DataFrame(
            PAYERS,
            schema=[
                "payer_code",
                "payer_name",
                "payer_class",
                "x12_payer_id",
                "ehr_org_id",
                "ip_base_cents",
                "outpatient_method",
                "op_rate_bp",
                "denial_rate",
            ],
            orient="row",
        )
        .with_row_index("payer_idx")
        .with_columns(pl.col("payer_idx").cast(pl.Int64))
    )
    chart = pl.DataFrame(
        CHART_OF_ACCOUNTS,
        schema=["account_id", "account_name", "account_type", "natural_balance", "is_posting"],
        orient="row",
    )
    suppliers = pl.DataFrame(SUPPLIERS, schema=["supplier_id", "supplier_name", "supplier_category"], orient="row")
    return Network(
        legal_entities=legal_entities,
        facilities=facilities,
        departments=departments,
        cost_centers=cost_centers,
        providers=providers,
        staff=staff,
        payers=payers,
        chart_of_accounts=chart,
        suppliers=suppliers,
    )


def crosswalks(net: Network, rng: np.random.Generator, unmapped_share: float) -> tuple[pl.DataFrame, pl.DataFrame]:
    """All crosswalk rows, and the rows deliberately left out (``unmapped_share`` per entity).

    Returns (written crosswalk, dropped rows).
    """
    f = net.facilities
    d = net.departments
    p = net.providers
    pay = net.payers.filter(pl.col("x12_payer_id") != "")

    def part(df: pl.DataFrame, entity: str, system: str, src: str, tgt: str) -> pl.DataFrame:
        return df.select(
            pl.lit(entity).alias("entity"),
            pl.lit(system).alias("source_system"),
            pl.col(src).alias("source_code"),
            pl.col(tgt).alias("target_code"),
        )

    parts = [
        part(p, "provider", "ehr", "practitioner_id", "npi"),
        part(p, "provider", "billing", "billing_code", "npi"),
        part(p, "provider", "erp", "employee_id", "npi"),
        part(d, "department", "billing", "billing_code", "ehr_code"),
        part(d, "department_cost_center", "ehr", "ehr_code", "cost_center_id"),
        part(f, "location", "ehr", "ehr_location_id", "facility_id"),
        part(f, "location", "billing", "billing_code", "facility_id"),
        part(pay, "payer", "x12", "x12_payer_id", "payer_code"),
        part(net.payers, "payer", "ehr", "ehr_org_id", "payer_code"),
        # the payee each facility's 835s name (N1*PE N104 NPI, REF*TJ tax id): places a claim
        # payment that matches no billing claim
        part(f, "payee", "npi", "npi", "facility_id"),
        part(
            f.with_columns(payee_tin=pl.col("tax_id").str.replace("-", "")), "payee", "tin", "payee_tin", "facility_id"
        ),
    ]
    cols = ["entity", "source_system", "source_code", "target_code"]
    full = pl.concat(parts).select(cols)
    full = full.with_row_index("_i")
    drop_idx: list[int] = []
    for _key, grp in full.group_by(["entity", "source_system"], maintain_order=True):
        k = int(np.floor(unmapped_share * grp.height + 0.5))
        if k > 0:
            drop_idx.extend(rng.choice(grp["_i"].to_numpy(), size=k, replace=False).tolist())
    mask = full["_i"].is_in(drop_idx)
    return full.filter(~mask).drop("_i"), full.filter(mask).drop("_i")
