"""The one-minute demo: `load_demo`, then Run now on both jobs; the real runner loads everything into DuckDB."""
import sqlite3
from decimal import Decimal

import duckdb
import pytest
from django.core.management import call_command
from django.test import Client

from ml_platform.management.commands import load_demo
from ml_platform.models import DataSource, ModelEndpoint
from ml_platform.tests.factories import UserFactory
from ml_platform.utils.warehouse import physical_dataset
from tests.e2e.test_postgres_to_duckdb import _run


@pytest.fixture
def demo(platform, monkeypatch, settings, tmp_path, transactional_db):
    settings.PLATFORM_DATA_DIR = tmp_path / "state"
    settings.PLATFORM_DATA_DIR.mkdir()
    monkeypatch.setattr(load_demo, "SIZES", {"customers": 300, "products": 50, "orders": 2000})
    monkeypatch.setattr(load_demo, "SALES_DAYS", 3)
    admin = UserFactory(username="admin")
    call_command("load_demo")
    client = Client()
    client.force_login(admin)
    return ModelEndpoint.objects.get(name=load_demo.DEMO_PROJECT), client


def test_demo_jobs_run_to_completion_with_exact_counts_and_types(demo, settings):
    project, client = demo
    jobs = {job.name: job for job in DataSource.objects.filter(etl_config__model_endpoint=project)}
    orders_run = _run(client, jobs["Retail orders"].pk)
    assert orders_run.total_rows_loaded == 300 + 50 + 2000
    files_run = _run(client, jobs["Store exports"].pk)
    assert files_run.total_rows_loaded > 0

    dataset = physical_dataset(project.pk, "raw_data")
    source = sqlite3.connect(settings.PLATFORM_DATA_DIR / "demo" / "retail.sqlite")
    expected_total = source.execute("SELECT round(sum(total_amount), 2) FROM orders").fetchone()[0]
    with duckdb.connect(settings.WAREHOUSE_DUCKDB_PATH, read_only=True) as warehouse:
        count, total = warehouse.execute(f'SELECT count(*), sum(total_amount) FROM "{dataset}".orders').fetchone()
        types = dict(warehouse.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = ? "
            "AND table_name = 'orders'", [dataset]).fetchall())
    assert count == 2000
    assert total == Decimal(str(expected_total))
    assert types["total_amount"] == "DECIMAL(14,2)" and types["updated_at"] == "TIMESTAMP"

    rerun = _run(client, jobs["Retail orders"].pk)  # nothing changed at the source: merge brings nothing new
    assert rerun.total_rows_loaded == 300 + 50  # customers and products are full snapshots (replace)
