"""Replay: reprocess a batch from raw, or re-run everything that depends on the crosswalks
after a mapping fix. Raw is immutable; replay rebuilds what is derived from it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
from dagster import AssetKey

from careledger.config import Home
from careledger.ingest import formats
from careledger.ingest.landing import IngestError
from careledger.orchestration.assets.raw import RAW_FAMILIES, raw_key


class ReplayError(RuntimeError):
    pass


@dataclass
class ReplayResult:
    raw_tables: list[str]
    assets_rebuilt: int
    exceptions_before: int | None
    exceptions_after: int | None


def batch_family(warehouse: Path, batch_id: str) -> tuple[str, str]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        row = con.execute("select format, source_file from raw_meta.batches where batch_id = ?", [batch_id]).fetchone()
    if row is None:
        raise ReplayError(f"no batch {batch_id!r} in raw_meta.batches (see `careledger status`)")
    try:
        family = formats.get(row[0]).family
    except IngestError:
        raise ReplayError(f"batch {batch_id!r} has format {row[0]!r}, which careledger no longer lands") from None
    return family, row[1]


def downstream_dbt_keys(raw_tables: list[str]) -> list[AssetKey]:
    """Every dbt model downstream of these raw tables (not the publish assets)."""
    from careledger.orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    seen: set[AssetKey] = set()
    frontier = [raw_key(t) for t in raw_tables]
    while frontier:
        key = frontier.pop()
        for child in graph.get(key).child_keys:
            if child not in seen and child.path[0] not in ("publish",):
                seen.add(child)
                frontier.append(child)
    return sorted(seen, key=lambda k: k.to_user_string())


def _exception_count(warehouse: Path) -> int | None:
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            return int(
                con.execute("select coalesce(sum(record_count), 0) from core.fct_mapping_exceptions").fetchone()[0]
            )
    except duckdb.Error:
        return None


def replay(home: Home, *, batch_id: str | None = None, crosswalks: bool = False) -> ReplayResult:
    from careledger.orchestration.jobs import run_job

    if batch_id:
        family_name, _source_file = batch_family(home.warehouse, batch_id)
        family = next(f for f in RAW_FAMILIES if f.name == family_name)
        tables = list(family.tables)
    elif crosswalks:
        tables = ["raw_erp.crosswalks"]
    else:
        raise ReplayError("say what to replay: --batch BATCH_ID or --crosswalks")
    before = _exception_count(home.warehouse)
    keys = downstream_dbt_keys(tables)
    run_job(
        home,
        "refresh",
        asset_selection=keys,
        run_config={"ops": {"careledger_dbt_assets": {"config": {"full_refresh": True}}}},
    )
    return ReplayResult(tables, len(keys), before, _exception_count(home.warehouse))
