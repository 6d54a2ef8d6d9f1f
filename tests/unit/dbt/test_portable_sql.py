"""Models stay portable to Postgres and Spark (docs/dbt.md): engine-specific SQL lives only in
dispatched macros (ours in dbt_project/macros, dbt's cross-database macros).

The check reads the compiled SQL of every model (`compiled_code` of `dbt compile`) and looks
for DuckDB-only syntax. A hit is a violation when the model's own text wrote it, i.e. it is
also there in the model's raw code once Jinja (`{{ }}`, `{% %}`, `{# #}`) is blanked out; a
hit that only appears after compilation came from a macro (dbt.datediff renders
`date_diff(...)` on DuckDB) and is the macro's business. Our own macros are checked too,
except their engine-specific (`duckdb__*`, `postgres__*`, `spark__*`) implementations.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[3] / "dbt_project"

# (pattern, what to use instead); matched case-insensitively on SQL without comments/strings
DUCKDB_ONLY: list[tuple[str, str]] = [
    (r"\bqualify\b", "the deduplicate() macro (or a row_number() subquery)"),
    (r"::", "cast(x as type) / dbt.cast / dbt.safe_cast"),
    (r"\bdate_?diff\s*\(", "dbt.datediff"),
    (r"\b(date_add|date_sub|dateadd)\s*\(", "dbt.dateadd"),
    (r"\b(strftime|strptime)\s*\(", "dbt.date_trunc / dbt.cast / date_part_int"),
    (r"\blist_\w+\s*\(", "standard aggregates or dbt.listagg"),
    (r"\bstruct_pack\s*\(", "separate columns"),
    (r"\bepoch(_ms|_us|_ns)?\s*\(", "dbt.datediff"),
    (r"->>?", "the json_string() macro"),
    (r"\bjson_extract(_string)?\s*\(", "the json_string() macro"),
    (r"\b(greatest|least)\s*\(", "an ANSI case expression"),
    (r"\b(group|order)\s+by\s+all\b", "explicit column lists"),
    (r"\*\s*(exclude|replace)\s*\(", "explicit column lists"),
    (r"\btry_cast\s*\(", "dbt.safe_cast"),
    (r"\bifnull\s*\(", "coalesce"),
    (r"\b(arg_max|arg_min|max_by|min_by|count_if)\s*\(", "a window function or case expression"),
    (r"\bregexp_(matches|full_match)\s*\(", "a dispatched macro"),
    (r"\bas\s+(double|hugeint|ubigint|uinteger|usmallint|utinyint)\b", "type_double() / standard types"),
]

_COMMENTS_AND_STRINGS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/", re.S)
_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
_MACRO = re.compile(r"\{%-?\s*macro\s+(\w+)\s*\(.*?\{%-?\s*endmacro\s*-?%\}", re.S)
_ENGINE_SPECIFIC = re.compile(r"^(duckdb|postgres|spark|databricks|snowflake|bigquery|redshift)__")


def _sql_text(sql: str) -> str:
    """SQL without comments, string literals and quoted identifiers."""
    return _COMMENTS_AND_STRINGS.sub(" ", sql)


def _hits(sql: str) -> list[tuple[str, str]]:
    text = _sql_text(sql)
    return [(m.group(0), hint) for pattern, hint in DUCKDB_ONLY for m in re.finditer(pattern, text, re.I)]


def duckdb_only_syntax(compiled_code: str, raw_code: str) -> list[str]:
    """DuckDB-only constructs of the compiled SQL that the model's own text wrote."""
    compiled = _sql_text(compiled_code)
    own_text = _sql_text(_JINJA.sub(" ", raw_code))
    found = []
    for pattern, hint in DUCKDB_ONLY:
        for m in re.finditer(pattern, compiled, re.I):
            if re.search(pattern, own_text, re.I):
                found.append(f"`{m.group(0).strip()}` (use {hint})")
    return sorted(set(found))


def _model_violations(manifest: dict) -> list[str]:
    violations = []
    for n in manifest["nodes"].values():
        if n["resource_type"] != "model" or n["package_name"] != "careledger":
            continue
        compiled = n.get("compiled_code")
        assert compiled, f"{n['name']} was not compiled"
        violations += [f"{n['original_file_path']}: {v}" for v in duckdb_only_syntax(compiled, n["raw_code"])]
    return violations


def test_models_use_no_duckdb_only_syntax(compiled_manifest: dict) -> None:
    violations = _model_violations(compiled_manifest)
    assert not violations, "DuckDB-only SQL in models (put it in a dispatched macro):\n" + "\n".join(violations)


def test_portable_macros_use_no_duckdb_only_syntax() -> None:
    violations = []
    for path in sorted((PROJECT / "macros").rglob("*.sql")):
        for m in _MACRO.finditer(path.read_text()):
            if _ENGINE_SPECIFIC.match(m.group(1)):
                continue
            body = _JINJA.sub(" ", m.group(0))
            violations += [f"{path.name}: macro {m.group(1)}: `{t}` (use {h})" for t, h in _hits(body)]
    assert not violations, "DuckDB-only SQL in a macro meant for every engine:\n" + "\n".join(violations)


def _planted(manifest: dict, raw: str, compiled: str) -> dict:
    bad = copy.deepcopy(manifest)
    node = bad["nodes"]["model.careledger.int_erp__accounts"]
    node["raw_code"], node["compiled_code"] = raw, compiled
    return bad


@pytest.mark.parametrize(
    "sql",
    [
        "select * from accounts qualify row_number() over (partition by account_id order by _loaded_at desc) = 1",
        "select account_id, _loaded_at::date as loaded_date from accounts",
        "select date_diff('day', opened_at, closed_at) as days_open from accounts",
        "select greatest(a, b) as m from accounts",
        "select account_id from accounts group by all",
        "select resource ->> '$.id' as id from accounts",
        "select cast(x as double) as x from accounts",
    ],
)
def test_check_catches_planted_duckdb_syntax(compiled_manifest: dict, sql: str) -> None:
    violations = _model_violations(_planted(compiled_manifest, sql, sql))
    assert violations and all("int_erp__accounts" in v for v in violations), violations


def test_check_allows_macro_renderings_strings_and_comments(compiled_manifest: dict) -> None:
    raw = (
        "-- qualify and :: in a comment are fine\n"
        "select {{ dbt.datediff('a', 'b', 'day') }} as d, 'x::y qualify' as s, least_cost from accounts"
    )
    compiled = (
        "-- qualify and :: in a comment are fine\n"
        "select date_diff('day', a, b) as d, 'x::y qualify' as s, least_cost from accounts"
    )
    assert _model_violations(_planted(compiled_manifest, raw, compiled)) == []
