"""Fixtures for the ETL job/run tests: a warehouse in a temp folder, jobs with tables, a recorded launcher."""
import json

import psycopg
import pytest
from django.urls import reverse

from ml_platform.etl import tokens
from ml_platform.models import RunStatus
from ml_platform.tests.factories import ConnectionFactory, DataSourceFactory, DataSourceTableFactory, ETLRunFactory
from tests.fixtures.platform import isolate_platform


@pytest.fixture(autouse=True)
def isolated_platform(settings, tmp_path):
    """Each test gets its own warehouse file, run logs and local secret key."""
    isolate_platform(settings, tmp_path)
    return settings


@pytest.fixture
def connection(project):
    return ConnectionFactory(model_endpoint=project, name="warehouse db")


@pytest.fixture
def job(project, connection):
    job = DataSourceFactory(etl_config=project.etl_config, connection=connection, name="orders sync")
    DataSourceTableFactory(data_source=job, source_table_name="orders", dest_table_name="orders",
                           sync_mode="merge", incremental_column="updated_at", primary_key=["id"])
    return job


@pytest.fixture
def active_run(job):
    return ETLRunFactory(data_source=job, status=RunStatus.RUNNING)


@pytest.fixture
def run_token(active_run):
    return tokens.run_token_mint(active_run)


@pytest.fixture
def pg_orders(pg_database):
    """A PostgreSQL source with an `orders` table (4 columns, 3 rows)."""
    with psycopg.connect(pg_database["dsn"], autocommit=True) as conn:
        conn.execute("CREATE TABLE orders (id integer PRIMARY KEY, customer text, amount numeric(10,2), "
                     "updated_at timestamptz, note jsonb)")
        conn.execute("INSERT INTO orders VALUES (1, 'a', 1, now(), '{}'), (2, 'b', 2, now(), '{}'), "
                     "(3, 'c', 3, now(), '{}')")
    return pg_database


@pytest.fixture
def pg_connection(project, pg_orders):
    return ConnectionFactory(model_endpoint=project, name="orders pg", source_host=pg_orders["host"],
                             source_port=pg_orders["port"], source_database=pg_orders["database"],
                             source_username=pg_orders["username"])


def call(client, name: str, *args, body=None, method: str = "post", query=None, raw: str | None = None):
    """Call a route by name; POST bodies are JSON."""
    url = reverse(name, args=args)
    if method == "get":
        return client.get(url, query or {})
    data = raw if raw is not None else json.dumps(body if body is not None else {})
    return getattr(client, method)(url, data=data, content_type="application/json")
