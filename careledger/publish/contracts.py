"""The public marts, their contracts and who reads them, read from the dbt project's yml.

A model is a public mart when its yml says ``access: public``; its contract is the ordered list
of columns with their ``data_type`` (``contract: {enforced: true}`` makes dbt build exactly that
shape). Exposures (``models/marts/_marts__exposures.yml``, and the generated
``_marts__serving_exposure.yml``: see ``careledger.publish.exposures``) name the marts each consumer reads;
ratio metrics (``_marts__semantic_models.yml``) say how a ratio rolls up over many mart rows.
Everything that needs one of these (the serving snapshot, the Dagster publish assets, the
dashboard, the extract) asks this module, so each is written once: in dbt.

Why the yml and not ``target/manifest.json``: the yml files are the source dbt compiles the
manifest from and ship with the code, so they are present on a fresh clone and always match
the checked-out code. The manifest is a build artifact that every dbt invocation (tests, other
homes, another branch) rewrites in the shared ``dbt_project/target`` folder; it can be missing,
stale or half-written while a concurrent ``dbt parse`` runs. ``tests/unit/dbt/test_contracts.py``
checks that this reading equals the compiled manifest's public models and contracts.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import yaml

from careledger.config import DBT_PROJECT_DIR


class ContractError(RuntimeError):
    """A consumer found a public mart missing (or the dbt project declares none)."""


@dataclass(frozen=True)
class MartContract:
    """One public mart: its name, its contracted columns in order, and where it is declared."""

    name: str
    columns: tuple[tuple[str, str], ...]  # (column name, declared data_type)
    enforced: bool
    declared_in: Path

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c for c, _ in self.columns)


def _yml_files(project_dir: Path) -> list[Path]:
    models = project_dir / "models"
    return sorted([*models.rglob("*.yml"), *models.rglob("*.yaml")])


def _setting(model: dict, key: str) -> object:
    """A model property set at the top level or under ``config:`` (dbt accepts both)."""
    if key in model:
        return model[key]
    return (model.get("config") or {}).get(key)


@functools.cache
def _docs(project_dir: Path) -> tuple[tuple[Path, dict], ...]:
    # libyaml's loader when present: 0.27 s instead of 1.2 s for the project's yml, paid by every
    # process that builds the Dagster definitions (docs/benchmarks.md, "careledger ui")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return tuple(
        (path, yaml.load(path.read_text(encoding="utf-8"), Loader=loader) or {}) for path in _yml_files(project_dir)
    )


@functools.cache
def _read(project_dir: Path) -> tuple[dict[str, MartContract], dict[str, tuple[str, ...]]]:
    marts: dict[str, MartContract] = {}
    exposures: dict[str, tuple[str, ...]] = {}
    for path, doc in _docs(project_dir):
        for model in doc.get("models") or []:
            if _setting(model, "access") != "public":
                continue
            contract = _setting(model, "contract") or {}
            columns = tuple((str(c["name"]), str(c.get("data_type") or "")) for c in model.get("columns") or [])
            marts[model["name"]] = MartContract(model["name"], columns, bool(contract.get("enforced")), path)
        for exposure in doc.get("exposures") or []:
            refs = []
            for dep in exposure.get("depends_on") or []:
                ref = dep.strip()
                if ref.startswith("ref(") and ref.endswith(")"):
                    refs.append(ref[4:-1].strip().strip("'\""))
            exposures[exposure["name"]] = tuple(refs)
    if not marts:
        raise ContractError(f"the dbt project in {project_dir} declares no public model (access: public)")
    return marts, exposures


def public_marts(project_dir: Path = DBT_PROJECT_DIR) -> dict[str, MartContract]:
    """Every public model of the dbt project by name, in the order the yml files declare them."""
    return dict(_read(Path(project_dir).resolve())[0])


def public_mart_names(project_dir: Path = DBT_PROJECT_DIR) -> tuple[str, ...]:
    return tuple(public_marts(project_dir))


def exposure_marts(exposure: str, project_dir: Path = DBT_PROJECT_DIR) -> tuple[str, ...]:
    """The public marts an exposure (a consumer: dashboard, ERP export, extract) depends on."""
    exposures = _read(Path(project_dir).resolve())[1]
    if exposure not in exposures:
        raise ContractError(f"the dbt project declares no exposure named {exposure}")
    return exposures[exposure]


def require_marts(available: set[str], needed: tuple[str, ...], where: str, remedy: str) -> None:
    """Raise ContractError (one sentence) when ``available`` lacks any of ``needed``."""
    missing = [m for m in needed if m not in available]
    if missing:
        raise ContractError(f"{where} has no {', '.join(missing)}: {remedy}")


def ratio_metric(metric: str, project_dir: Path = DBT_PROJECT_DIR) -> tuple[str, str]:
    """The column expressions a dbt ratio metric divides (numerator, denominator measure
    ``expr``): over many mart rows the ratio is sum(numerator) / sum(denominator), never a sum
    or average of the row-level ratio column."""
    measures: dict[str, str] = {}
    metrics: dict[str, dict] = {}
    for _, doc in _docs(Path(project_dir).resolve()):
        for model in doc.get("semantic_models") or []:
            for m in model.get("measures") or []:
                if m.get("agg") == "sum":
                    measures[m["name"]] = str(m.get("expr") or m["name"])
        for m in doc.get("metrics") or []:
            metrics[m["name"]] = m
    spec = metrics.get(metric)
    if spec is None or spec.get("type") != "ratio":
        raise ContractError(f"the dbt project declares no ratio metric named {metric}")

    def name_of(ref: object) -> str:
        return str(ref.get("name") if isinstance(ref, dict) else ref)

    params = spec.get("type_params") or {}
    parts = []
    for side in ("numerator", "denominator"):
        # a ratio metric divides two metrics; each must be a simple metric over a summed measure
        inner = metrics.get(name_of(params.get(side)), {})
        measure = name_of((inner.get("type_params") or {}).get("measure"))
        if inner.get("type") != "simple" or measure not in measures:
            raise ContractError(f"ratio metric {metric}: its {side} is not a simple metric over a summed measure")
        parts.append(measures[measure])
    return parts[0], parts[1]
