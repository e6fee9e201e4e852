"""`manage.py load_demo`: a demo project with real source data, two connections and two jobs, made once."""
import sqlite3
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ml_platform.management.commands import load_demo
from ml_platform.models import Connection, DataSource, ModelEndpoint
from ml_platform.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_demo(monkeypatch, settings, tmp_path):
    settings.PLATFORM_DATA_DIR = tmp_path
    monkeypatch.setattr(load_demo, "SIZES", {"customers": 300, "products": 50, "orders": 2000})
    monkeypatch.setattr(load_demo, "SALES_DAYS", 3)
    return tmp_path / "demo"


def test_load_demo_creates_the_project_connections_and_jobs_once(small_demo):
    admin = UserFactory(username="admin")
    call_command("load_demo")
    project = ModelEndpoint.objects.get(created_by=admin, name=load_demo.DEMO_PROJECT)
    assert set(Connection.objects.filter(model_endpoint=project).values_list("source_type", flat=True)) == {
        "sqlite", "local_files"}
    jobs = {j.name: j for j in DataSource.objects.filter(etl_config__model_endpoint=project)}
    assert set(jobs) == {"Retail orders", "Store exports"}
    orders = jobs["Retail orders"].tables.get(source_table_name="orders")
    assert orders.sync_mode == "merge" and orders.incremental_column == "updated_at" and orders.primary_key == ["id"]
    with sqlite3.connect(small_demo / "retail.sqlite") as con:
        assert con.execute("SELECT count(*) FROM orders").fetchone()[0] == 2000
    assert len(list((small_demo / "files" / "sales").glob("*.csv"))) == 3
    assert len(list((small_demo / "files" / "inventory").glob("*.parquet"))) == load_demo.INVENTORY_WEEKS
    call_command("load_demo", "--if-missing")
    assert ModelEndpoint.objects.filter(name=load_demo.DEMO_PROJECT).count() == 1
    with pytest.raises(CommandError):
        call_command("load_demo")


def test_demo_data_is_deterministic(tmp_path, monkeypatch):
    monkeypatch.setattr(load_demo, "SIZES", {"customers": 100, "products": 20, "orders": 500})
    first, second = Path(tmp_path / "a.sqlite"), Path(tmp_path / "b.sqlite")
    load_demo.build_sqlite(first)
    load_demo.build_sqlite(second)
    query = "SELECT group_concat(id || status || total_amount || updated_at) FROM orders"
    with sqlite3.connect(first) as a, sqlite3.connect(second) as b:
        assert a.execute(query).fetchone() == b.execute(query).fetchone()


def test_load_demo_without_admin_says_how_to_create_it(small_demo):
    with pytest.raises(CommandError, match="ensure_local_admin"):
        call_command("load_demo")
