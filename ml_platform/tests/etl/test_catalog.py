"""Warehouse reads behind the table APIs keep answering while a runner holds the embedded warehouse."""
import subprocess
import sys

import pytest
from django.urls import reverse
from django.utils import timezone

from ml_platform.etl import catalog
from ml_platform.tests.factories import DataSourceFactory, DataSourceTableFactory
from ml_platform.utils.warehouse import Column, DuckDBWarehouse, physical_dataset


@pytest.fixture
def warehouse(settings, tmp_path):
    settings.WAREHOUSE_BACKEND = "duckdb"
    settings.WAREHOUSE_DUCKDB_PATH = str(tmp_path / "warehouse.duckdb")
    return DuckDBWarehouse(settings.WAREHOUSE_DUCKDB_PATH)


@pytest.fixture
def loaded_orders(project, warehouse):
    job = DataSourceFactory(etl_config=project.etl_config)
    DataSourceTableFactory(data_source=job, dest_table_name="orders", last_synced_at=timezone.now(),
                           last_row_count=7, dest_schema=[{"name": "id", "type": "INT64", "mode": "NULLABLE"}])
    warehouse.create_table(physical_dataset(project.pk, "raw_data"), "orders",
                           [Column("id", "INT64"), Column("added_by_drift", "STRING")])


@pytest.fixture
def runner_holding_the_warehouse(warehouse):
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('locked', flush=True); time.sleep(60)", warehouse.path],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    yield holder
    holder.kill()
    holder.wait()


def test_reads_are_live_when_the_warehouse_is_free(project, loaded_orders):
    columns, from_catalog = catalog.catalog_table_columns(project_id=project.pk, dataset="raw_data", table="orders")
    assert not from_catalog and [c["name"] for c in columns] == ["id", "added_by_drift"]


def test_table_list_and_compatibility_answer_from_the_catalog_while_a_runner_loads(
        owner_client, project, loaded_orders, runner_holding_the_warehouse):
    listing = owner_client.get(reverse("api_etl_list_bq_tables", args=["raw_data"]), {"model_id": project.pk})
    assert listing.status_code == 200
    assert listing.json()["tables"] == [{"name": "orders", "row_count": 7}]
    assert listing.json()["from_catalog"] is True

    body = {"model_id": project.pk, "dest_dataset": "raw_data", "dest_table_name": "orders",
            "columns": [{"name": "id", "type": "INT64"}, {"name": "note", "type": "STRING"}]}
    report = owner_client.post(reverse("api_etl_validate_schema_compatibility"), body,
                               content_type="application/json")
    assert report.status_code == 200, report.json()
    assert report.json()["from_catalog"] is True and report.json()["table_exists"] is True
    assert [c["name"] for c in report.json()["columns_to_add"]] == ["note"]
