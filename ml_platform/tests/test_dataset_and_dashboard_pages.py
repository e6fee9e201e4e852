"""The dataset page (warehouse tables, schema, preview) and the dashboard's ETL health panel."""
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from ml_platform.models import RunStatus
from ml_platform.tests.factories import DataSourceFactory, DataSourceTableFactory, ETLRunFactory
from ml_platform.utils.warehouse import Column, DuckDBWarehouse, physical_dataset

pytestmark = pytest.mark.django_db


@pytest.fixture
def warehouse(settings, tmp_path):
    settings.WAREHOUSE_BACKEND = "duckdb"
    settings.WAREHOUSE_DUCKDB_PATH = str(tmp_path / "warehouse.duckdb")
    return DuckDBWarehouse(settings.WAREHOUSE_DUCKDB_PATH)


def _loaded_table(project, warehouse, name="orders", rows=25):
    import duckdb

    job = DataSourceFactory(etl_config=project.etl_config, name="orders sync")
    table = DataSourceTableFactory(data_source=job, dest_table_name=name, last_synced_at=timezone.now(),
                                   last_row_count=rows)
    dataset = physical_dataset(project.pk, "raw_data")
    warehouse.create_table(dataset, name, [Column("id", "INT64"), Column("note", "STRING")])
    con = duckdb.connect(warehouse.path)
    con.execute(f'INSERT INTO "{dataset}"."{name}" SELECT i, \'row \' || i FROM range({rows}) t(i)')
    con.close()
    return table


def test_dataset_page_lists_tables_with_job_schema_and_twenty_row_preview(owner_client, project, warehouse):
    _loaded_table(project, warehouse)
    response = owner_client.get(reverse("model_dataset", args=[project.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "raw_data.orders" in body and "orders sync" in body and "<code>note</code>" in body
    assert len(response.context["detail"]["preview"]["rows"]) == 20


def test_dataset_page_shows_tables_waiting_for_their_first_load(owner_client, project, warehouse):
    job = DataSourceFactory(etl_config=project.etl_config)
    DataSourceTableFactory(data_source=job, dest_table_name="customers")
    body = owner_client.get(reverse("model_dataset", args=[project.pk])).content.decode()
    assert "Waiting for their first load" in body and "raw_data.customers" in body


def test_dataset_page_ignores_unknown_table_parameter(owner_client, project, warehouse):
    _loaded_table(project, warehouse)
    response = owner_client.get(reverse("model_dataset", args=[project.pk]), {"table": "x.\"; DROP"})
    assert response.status_code == 200 and response.context["detail"] is None


def test_dataset_page_is_404_for_another_user_and_redirects_anonymous(client, other_client, project):
    url = reverse("model_dataset", args=[project.pk])
    assert other_client.get(url).status_code == 404
    assert client.get(url).status_code == 302


def test_dashboard_flags_failing_and_late_jobs(owner_client, project):
    flaky = DataSourceFactory(etl_config=project.etl_config, name="flaky")
    ETLRunFactory(data_source=flaky, status=RunStatus.FAILED)
    ETLRunFactory(data_source=flaky, status=RunStatus.FAILED, total_rows_loaded=0)
    DataSourceFactory(etl_config=project.etl_config, name="nightly", schedule_type="daily",
                      next_run_at=timezone.now() - timedelta(hours=3))
    body = owner_client.get(reverse("model_dashboard", args=[project.pk])).content.decode()
    assert "ETL health" in body
    assert "failed twice in a row" in body and "missed its run" in body
    assert "badge-failing" in body and "badge-late" in body


def test_dataset_page_shows_the_last_committed_catalog_while_a_runner_holds_the_warehouse(
        owner_client, project, warehouse, settings):
    import subprocess
    import sys
    import time

    _loaded_table(project, warehouse, rows=25)
    holder = subprocess.Popen(  # a loading runner: holds the file's write lock
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('locked', "
         "flush=True); time.sleep(30)", warehouse.path], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        response = owner_client.get(reverse("model_dataset", args=[project.pk]))
        elapsed = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    assert response.status_code == 200
    assert response.context["warehouse_busy"]
    assert [(t["name"], t["rows"]) for t in response.context["warehouse_tables"]] == [("orders", 25)]
    assert "The preview returns when the running load ends." in response.content.decode()
    assert elapsed < 10  # it gives up on the lock quickly instead of hanging the page
