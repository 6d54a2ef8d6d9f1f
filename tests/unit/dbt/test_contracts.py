"""The public marts as careledger.publish.contracts reads them from the dbt yml equal what dbt
itself compiles into the manifest: the same public models, each contract enforced, the same
columns in the same order with the same types. The BI serving exposure names every one."""

from __future__ import annotations

import json

import pytest

from careledger.publish.contracts import exposure_marts, public_marts
from careledger.publish.exposures import SERVING_EXPOSURE_YML, render

PACKAGE = "careledger"


@pytest.fixture(scope="module")
def parsed_manifest(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """manifest.json of ``dbt parse``: access, contracts and columns are parse-time properties,
    so no warehouse (and no compile-time query) is needed."""
    from careledger.orchestration.dbt_runner import run_dbt

    home = tmp_path_factory.mktemp("dbt_parse")
    run_dbt(["parse", "--target-path", str(home / "target")], home=home)
    return json.loads((home / "target" / "manifest.json").read_text())


def _manifest_public_models(manifest: dict) -> dict[str, dict]:
    return {
        n["name"]: n
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and n["package_name"] == PACKAGE and n.get("access") == "public"
    }


def test_public_marts_from_the_yml_equal_the_manifest(parsed_manifest: dict) -> None:
    from_manifest = _manifest_public_models(parsed_manifest)
    from_yml = public_marts()
    assert sorted(from_yml) == sorted(from_manifest)
    for name, contract in from_yml.items():
        node = from_manifest[name]
        assert node["contract"]["enforced"] is True and contract.enforced, name
        manifest_columns = [(c, col.get("data_type")) for c, col in node["columns"].items()]
        assert list(contract.columns) == manifest_columns, name


def test_every_public_mart_has_a_typed_column_list() -> None:
    for name, contract in public_marts().items():
        assert contract.columns, name
        assert all(t for _, t in contract.columns), f"{name} has a column without data_type"


def test_the_serving_exposure_depends_on_exactly_the_public_marts() -> None:
    listed, public = set(exposure_marts("bi_serving_snapshot")), set(public_marts())
    assert listed == public, (
        "the serving snapshot publishes every public mart: list "
        f"{sorted(public - listed)} (and drop {sorted(listed - public)}) under the "
        "bi_serving_snapshot exposure: run `make exposures`"
    )
    for consumer in ("executive_dashboard", "finance_extract", "erp_journal_export"):
        assert set(exposure_marts(consumer)) <= set(public_marts()), consumer


def test_the_committed_serving_exposure_is_the_generated_one() -> None:
    from careledger.config import DBT_PROJECT_DIR

    committed = (DBT_PROJECT_DIR / SERVING_EXPOSURE_YML).read_text(encoding="utf-8")
    assert committed == render(), f"{SERVING_EXPOSURE_YML} is stale: run `make exposures` and commit it"


def test_the_serving_exposure_is_declared_only_in_the_generated_file() -> None:
    from careledger.config import DBT_PROJECT_DIR

    declaring = sorted(
        str(p.relative_to(DBT_PROJECT_DIR))
        for p in (DBT_PROJECT_DIR / "models").rglob("*.yml")
        if "name: bi_serving_snapshot" in p.read_text(encoding="utf-8")
    )
    assert declaring == [str(SERVING_EXPOSURE_YML)], declaring


def test_the_generator_follows_access_public(tmp_path) -> None:
    """A mart marked public in a copy of the project appears in the rendered exposure."""
    import shutil

    from careledger.config import DBT_PROJECT_DIR

    copy = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR / "models", copy / "models")
    extra = copy / "models" / "marts" / "_extra.yml"
    extra.write_text(
        "version: 2\nmodels:\n  - name: mart_new_public\n    access: public\n"
        "    config: {contract: {enforced: true}}\n    columns:\n      - {name: k, data_type: varchar}\n",
        encoding="utf-8",
    )
    rendered = render(copy)
    assert "      - ref('mart_new_public')\n" in rendered
    assert rendered.count("- ref(") == len(public_marts()) + 1
