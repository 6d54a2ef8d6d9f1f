"""What the serving snapshot says about itself, read from the dbt project's yml: table and
column comments (the dbt descriptions), primary keys, the conformed dimensions BI tools join
to (date, facility, payer, service line, GL account: non-PHI columns only), the foreign keys
from the marts to them, and the dbt metrics as a ``metrics`` table plus one view per metric.

Like :mod:`careledger.publish.contracts`, it reads the yml that ships with the code, not the
build's manifest. Nothing here is a second copy of a definition: descriptions, keys and metric
expressions are dbt's; this module only turns them into DuckDB DDL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from careledger.config import DBT_PROJECT_DIR
from careledger.publish.contracts import _docs, _setting

#: Version of the snapshot's shape (tables, comments, keys, metrics, Parquet metadata); raised
#: when a reader would have to change. Written to every Parquet file and to ``snapshot_manifest``.
SNAPSHOT_CONTRACT_VERSION = "2"

#: The conformed dimensions BI needs beside the marts, from the core layer, and the mart column
#: that refers to each (a foreign key when every value of the column is in the dimension).
CONFORMED_DIMENSIONS: dict[str, str] = {
    "dim_date": "date_day",
    "dim_facility": "facility_id",
    "dim_payer": "payer_code",
    "dim_service_line": "service_line_code",
    "dim_gl_account": "account_id",
}

#: Date columns of the marts that refer to dim_date (a date dimension for BI time intelligence).
DATE_COLUMNS: tuple[str, ...] = (
    "period_start_date",
    "period_end_date",
    "remit_date",
    "posting_date",
    "activity_date",
    "deposit_date",
    "exception_date",
    "week_start_date",
)


@dataclass(frozen=True)
class ModelDoc:
    """One model as the yml describes it."""

    name: str
    description: str
    columns: dict[str, str]  # column -> description
    phi_columns: frozenset[str]  # columns tagged meta: {phi: true}
    primary_key: tuple[str, ...]
    version: str


_CAST = re.compile(r"cast\(\s*(\w+)\s+as\s+\w+\s*\)", re.IGNORECASE)


def _key_from_unique_test(model: dict) -> tuple[str, ...]:
    """The key columns of a ``unique`` test on ``a || '|' || b`` (how the marts test a
    composite key without building an index)."""
    for test in model.get("data_tests") or []:
        if isinstance(test, dict) and isinstance(test.get("unique"), dict):
            expr = str(test["unique"].get("column_name", ""))
            parts = [p.strip() for p in expr.split("||")]
            cols = [_CAST.sub(r"\1", p) for p in parts if p and p != "'|'"]
            if cols and all(re.fullmatch(r"\w+", c) for c in cols):
                return tuple(cols)
    return ()


def _primary_key(model: dict) -> tuple[str, ...]:
    for c in model.get("constraints") or []:
        if c.get("type") == "primary_key":
            return tuple(c.get("columns") or ())
    meta = _setting(model, "meta") or {}
    if meta.get("primary_key"):
        return tuple(meta["primary_key"])
    for col in model.get("columns") or []:
        if any(c.get("type") == "primary_key" for c in col.get("constraints") or []):
            return (col["name"],)
    return _key_from_unique_test(model)


def _is_phi(column: dict) -> bool:
    meta = {**(column.get("meta") or {}), **((column.get("config") or {}).get("meta") or {})}
    return bool(meta.get("phi"))


def model_docs(project_dir: Path = DBT_PROJECT_DIR) -> dict[str, ModelDoc]:
    out: dict[str, ModelDoc] = {}
    for _, doc in _docs(Path(project_dir).resolve()):
        for model in doc.get("models") or []:
            cols = model.get("columns") or []
            out[model["name"]] = ModelDoc(
                name=model["name"],
                description=" ".join(str(model.get("description") or "").split()),
                columns={c["name"]: " ".join(str(c.get("description") or "").split()) for c in cols},
                phi_columns=frozenset(c["name"] for c in cols if _is_phi(c)),
                primary_key=_primary_key(model),
                version=str(model.get("latest_version") or "1"),
            )
    return out


@dataclass(frozen=True)
class Metric:
    """A dbt metric as SQL over the snapshot table of its semantic model."""

    name: str
    label: str
    description: str
    metric_type: str  # simple | ratio
    table: str
    expression: str  # the aggregate, e.g. sum(gross_charge_amount)
    time_dimension: str | None
    dimensions: tuple[str, ...]  # columns a view groups by (time, entities, categorical dims)
    numerator: str | None = None
    denominator: str | None = None


def _name(ref: object) -> str:
    return str(ref.get("name") if isinstance(ref, dict) else ref)


def metrics(project_dir: Path = DBT_PROJECT_DIR) -> list[Metric]:
    """Every simple and ratio metric whose measures live in one semantic model."""
    measures: dict[str, tuple[str, str, dict]] = {}  # measure -> (agg, expr, semantic model)
    specs: dict[str, dict] = {}
    for _, doc in _docs(Path(project_dir).resolve()):
        for sm in doc.get("semantic_models") or []:
            for m in sm.get("measures") or []:
                measures[m["name"]] = (str(m.get("agg", "sum")), str(m.get("expr") or m["name"]), sm)
        for m in doc.get("metrics") or []:
            specs[m["name"]] = m

    def table_of(sm: dict) -> str:
        return str(sm["model"]).strip()[4:-1].strip().strip("'\"")

    def time_of(sm: dict) -> str | None:
        """The column of the semantic model's time dimension (a dimension's expr, else its name)."""
        name = (sm.get("defaults") or {}).get("agg_time_dimension")
        for d in sm.get("dimensions") or []:
            if d["name"] == name:
                return str(d.get("expr") or d["name"])
        return name

    def dims_of(sm: dict) -> tuple[str, ...]:
        time = time_of(sm)
        cols = [time] if time else []
        cols += [str(e.get("expr") or e["name"]) for e in sm.get("entities") or [] if e.get("type") != "primary"]
        cols += [str(d.get("expr") or d["name"]) for d in sm.get("dimensions") or []]
        return tuple(dict.fromkeys(c for c in cols if re.fullmatch(r"\w+", c)))

    out: list[Metric] = []
    for name, spec in specs.items():
        params = spec.get("type_params") or {}
        kind = spec.get("type")
        if kind == "simple":
            measure = _name(params.get("measure"))
            if measure not in measures:
                continue
            agg, expr, sm = measures[measure]
            sql, num, den = f"{agg}({expr})", None, None
        elif kind == "ratio":
            sides = []
            for side in ("numerator", "denominator"):
                inner = specs.get(_name(params.get(side)), {})
                measure = _name((inner.get("type_params") or {}).get("measure"))
                sides.append(measures.get(measure))
            if None in sides or sides[0][2] is not sides[1][2]:
                continue  # not over one semantic model: no single-table SQL for it
            (agg_n, expr_n, sm), (agg_d, expr_d, _) = sides
            sql = f"{agg_n}({expr_n}) / nullif({agg_d}({expr_d}), 0)"
            num, den = _name(params.get("numerator")), _name(params.get("denominator"))
        else:
            continue
        out.append(
            Metric(
                name=name,
                label=str(spec.get("label") or name),
                description=" ".join(str(spec.get("description") or "").split()),
                metric_type=str(kind),
                table=table_of(sm),
                expression=sql,
                time_dimension=time_of(sm),
                dimensions=dims_of(sm),
                numerator=num,
                denominator=den,
            )
        )
    return out
