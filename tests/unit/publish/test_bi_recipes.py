"""The BI recipes of docs/serving.md, run the way the doc says: Superset / Metabase-style tools
through SQLAlchemy with duckdb-engine (read-only), Power BI through the Parquet folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import sqlalchemy

from careledger.publish.serving import publish_serving_snapshot
from careledger.publish.serving_model import SNAPSHOT_CONTRACT_VERSION


@pytest.fixture(scope="module")
def serving(built_warehouse, tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("bi")
    warehouse = tmp / "warehouse.duckdb"
    shutil.copy(built_warehouse.warehouse, warehouse)
    publish_serving_snapshot(warehouse, tmp / "serving")
    return tmp / "serving"


def test_sqlalchemy_url_of_the_recipe_reads_tables_keys_and_metrics(serving: Path) -> None:
    # docs/serving.md: duckdb:////abs/path/serving/serving.duckdb with read_only
    engine = sqlalchemy.create_engine(f"duckdb:///{serving / 'serving.duckdb'}", connect_args={"read_only": True})
    with engine.connect() as conn:
        inspector = sqlalchemy.inspect(conn)
        tables = set(inspector.get_table_names())
        assert {"mart_service_line_margin_monthly", "dim_date", "dim_facility", "metrics"} <= tables
        assert "metric_gross_charges" in inspector.get_view_names()
        total = conn.execute(sqlalchemy.text("select sum(gross_charges) from metric_gross_charges")).scalar()
        assert (
            total
            == conn.execute(
                sqlalchemy.text("select sum(gross_charge_amount) from mart_service_line_margin_monthly")
            ).scalar()
        )
        with pytest.raises(sqlalchemy.exc.DBAPIError, match="read-only"):
            conn.execute(sqlalchemy.text("create table scratch (x int)"))
    engine.dispose()


def test_parquet_folder_of_the_recipe_carries_the_contract(serving: Path) -> None:
    # Power BI: Get data -> Parquet (or Folder) on serving/parquet/<table>/
    files = sorted((serving / "parquet" / "mart_service_line_margin_monthly").rglob("*.parquet"))
    assert files
    meta = pq.read_metadata(files[0]).metadata
    assert meta[b"careledger_contract_version"].decode() == SNAPSHOT_CONTRACT_VERSION
    assert meta[b"careledger_table"] == b"mart_service_line_margin_monthly"
    table = pq.read_table(files[0])
    assert "gross_charge_amount" in table.column_names
