"""Seeds: the reference data every side of the pipeline shares."""

from __future__ import annotations

import csv
from pathlib import Path

SEEDS = Path(__file__).resolve().parents[3] / "seeds"

COLUMNS = {
    "payer_classes": ["payer_class", "payer_class_name", "is_government"],
    "service_lines": ["service_line_code", "service_line_name"],
    "ms_drgs": ["drg_code", "drg_description", "weight", "service_line_code"],
    "service_line_procedure_ranges": ["range_start", "range_end", "service_line_code", "priority"],
    "procedure_codes": [
        "procedure_code",
        "code_system",
        "description",
        "revenue_code",
        "fee_schedule_amount",
        "revenue_category_code",
    ],
    "revenue_codes": ["revenue_code", "description", "revenue_category_code"],
    "revenue_categories": ["revenue_category_code", "revenue_category_name", "gl_account_id"],
    "carc_categories": ["group_code", "carc_code", "description", "category"],
    "cas_group_codes": ["group_code", "description"],
    "place_of_service": ["place_of_service_code", "description"],
    "reference_data_version": ["seed_name", "version", "effective_date"],
    "account_roles": ["account_id", "role", "description"],
    "posting_rules": ["journal_source", "measure", "debit_role", "credit_role", "description"],
}


def rows(name: str) -> list[dict[str, str]]:
    with (SEEDS / f"{name}.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_seed_files_have_contract_columns() -> None:
    for name, cols in COLUMNS.items():
        with (SEEDS / f"{name}.csv").open(newline="") as fh:
            assert next(csv.reader(fh)) == cols, name
    # every seed file has a version row, so a change to any of them is visible
    assert {r["seed_name"] for r in rows("reference_data_version")} == {p.stem for p in SEEDS.glob("*.csv")}


def test_keys_unique_and_codes_resolve() -> None:
    lines = {r["service_line_code"] for r in rows("service_lines")}
    required = {
        "cardiology",
        "orthopedics",
        "oncology",
        "womens_health",
        "behavioral_health",
        "emergency",
        "primary_care",
        "general_surgery",
        "imaging",
        "lab",
        "neurology",
        "pulmonology",
        "UNMAPPED",
    }
    assert required <= lines
    drgs = rows("ms_drgs")
    assert len({r["drg_code"] for r in drgs}) == len(drgs) >= 35
    assert all(len(r["drg_code"]) == 3 and r["service_line_code"] in lines and float(r["weight"]) > 0 for r in drgs)
    cats = {r["revenue_category_code"]: r["gl_account_id"] for r in rows("revenue_categories")}
    assert cats["UNMAPPED"] == "4999"
    assert {v for k, v in cats.items() if k != "UNMAPPED"} == {f"40{i}0" for i in range(1, 10)}
    revs = {r["revenue_code"]: r["revenue_category_code"] for r in rows("revenue_codes")}
    assert all(len(c) == 4 and c.isdigit() and v in cats for c, v in revs.items())
    procs = rows("procedure_codes")
    assert len({r["procedure_code"] for r in procs}) == len(procs) >= 80
    for r in procs:
        assert len(r["procedure_code"]) == 5 and r["code_system"] in {"CPT", "HCPCS"}
        assert revs[r["revenue_code"]] == r["revenue_category_code"]
        assert float(r["fee_schedule_amount"]) > 0
    for r in rows("service_line_procedure_ranges"):
        assert len(r["range_start"]) == len(r["range_end"]) == 5 and r["range_start"] <= r["range_end"]
        assert r["service_line_code"] in lines


def test_carc_groups_and_categories() -> None:
    groups = {r["group_code"] for r in rows("cas_group_codes")}
    assert {"CO", "PR", "OA", "PI", "CR"} == groups
    allowed = {
        "contractual",
        "patient_responsibility",
        "eligibility",
        "authorization",
        "coding",
        "medical_necessity",
        "timely_filing",
        "duplicate",
        "coordination_of_benefits",
        "other",
    }
    carcs = rows("carc_categories")
    keys = [(r["group_code"], r["carc_code"]) for r in carcs]
    assert len(set(keys)) == len(keys)
    assert {r["category"] for r in carcs} == allowed
    by_key = {(r["group_code"], r["carc_code"]): r["category"] for r in carcs}
    assert by_key[("CO", "45")] == "contractual" and by_key[("PR", "1")] == "patient_responsibility"
    assert by_key[("CO", "197")] == "authorization" and by_key[("CO", "29")] == "timely_filing"
    assert all(r["category"] == "patient_responsibility" for r in carcs if r["group_code"] == "PR")
    assert all(r["group_code"] in groups for r in carcs)


def test_account_roles_name_posting_accounts_of_the_simulated_chart() -> None:
    from careledger.simulator.network import CHART_OF_ACCOUNTS

    posting = {a for a, _name, _type, _balance, is_posting in CHART_OF_ACCOUNTS if is_posting}
    roles = rows("account_roles")
    assert {r["account_id"] for r in roles} <= posting
    by_role: dict[str, list[str]] = {}
    for r in roles:
        by_role.setdefault(r["role"], []).append(r["account_id"])
    # one account per role, except revenue (one per revenue category)
    assert all(len(ids) == 1 for role, ids in by_role.items() if role != "revenue")
    cats = {r["revenue_category_code"]: r["gl_account_id"] for r in rows("revenue_categories")}
    assert set(by_role["revenue"]) == {v for k, v in cats.items() if k != "UNMAPPED"}
    assert by_role["revenue_suspense"] == [cats["UNMAPPED"]]
    # every posting rule names roles the seed has
    for rule in rows("posting_rules"):
        assert {rule["debit_role"], rule["credit_role"]} <= set(by_role), rule
