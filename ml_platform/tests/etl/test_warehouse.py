"""The Django-side warehouse: per-project names, and the same operations on DuckDB and the BigQuery emulator."""
import pytest

from ml_platform.utils.errors import Invalid
from ml_platform.utils.warehouse import BigQueryWarehouse, Column, DuckDBWarehouse, get_warehouse, physical_dataset


def test_physical_dataset_is_namespaced_per_project_and_validated():
    assert physical_dataset(3, "raw_data") == "p3_raw_data"
    assert physical_dataset(4, "raw_data") != physical_dataset(3, "raw_data")
    for bad in ("", "raw-data", "1abc", 'x"; drop', "a" * 200):
        with pytest.raises(Invalid):
            physical_dataset(3, bad)


@pytest.fixture
def duck(tmp_path):
    return DuckDBWarehouse(str(tmp_path / "w.duckdb"))


@pytest.fixture
def bigquery(bq_emulator, settings):
    settings.GCP_PROJECT_ID = bq_emulator.project
    settings.GCP_API_ENDPOINTS = {**settings.GCP_API_ENDPOINTS, "bigquery": bq_emulator.endpoint}
    settings.WAREHOUSE_BACKEND = "bigquery"
    return get_warehouse()


def _exercise(warehouse, dataset: str) -> None:
    assert warehouse.list_tables(dataset) == []
    assert warehouse.table_columns(dataset, "orders") is None
    warehouse.create_table(dataset, "orders", [Column("id", "INT64", "REQUIRED"), Column("created", "TIMESTAMP")],
                           partition={"column": "created", "granularity": "DAY"}, cluster_by=["id"])
    warehouse.create_table(dataset, "orders", [Column("id", "INT64")])  # exists: left as it is
    warehouse.add_columns(dataset, "orders", [Column("note", "STRING")])
    names = [c["name"] for c in warehouse.table_columns(dataset, "orders")]
    assert names == ["id", "created", "note"]
    assert [t["name"] for t in warehouse.list_tables(dataset)] == ["orders"]
    assert warehouse.preview(dataset, "orders") == {"columns": ["id", "created", "note"], "rows": []}
    assert warehouse.preview(dataset, "missing") == {"columns": [], "rows": []}


def test_duckdb_warehouse_operations(duck):
    _exercise(duck, "p1_raw_data")
    types = {c["name"]: c["type"] for c in duck.table_columns("p1_raw_data", "orders")}
    assert types == {"id": "BIGINT", "created": "TIMESTAMP WITH TIME ZONE", "note": "VARCHAR"}


def test_duckdb_identifiers_are_quoted(duck):
    duck.create_table("p1_raw_data", 'odd"name', [Column('we"ird', "STRING")])
    assert duck.table_columns("p1_raw_data", 'odd"name') == [{"name": 'we"ird', "type": "VARCHAR"}]


def test_bigquery_warehouse_operations(bigquery):
    assert isinstance(bigquery, BigQueryWarehouse)
    _exercise(bigquery, "p1_raw_data")
    modes = {c["name"]: (c["type"], c["mode"]) for c in bigquery.table_columns("p1_raw_data", "orders")}
    assert modes["id"] == ("INTEGER", "REQUIRED") or modes["id"] == ("INT64", "REQUIRED")
