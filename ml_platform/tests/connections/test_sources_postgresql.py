"""PostgreSQL connections end to end against the real server on 127.0.0.1:5432."""
import psycopg
import pytest

from ml_platform.tests.connections.conftest import call, create_connection, pg_fields
from ml_platform.tests.factories import DataSourceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop_db(pg_database):
    with psycopg.connect(pg_database["dsn"], autocommit=True) as conn:
        conn.execute("CREATE SCHEMA shop")
        conn.execute("""CREATE TABLE shop.orders (id bigint PRIMARY KEY, customer text NOT NULL,
                        amount numeric(12,2), placed_at timestamptz, updated_at timestamp, tags text[])""")
        conn.execute("""INSERT INTO shop.orders SELECT g, 'c' || g, g * 1.5, now(), now(), ARRAY['a']
                        FROM generate_series(1, 50) g""")
        conn.execute('CREATE TABLE shop."Odd ""name"" table" (x int)')
        conn.execute("CREATE VIEW shop.big_orders AS SELECT * FROM shop.orders WHERE amount > 10")
        conn.execute("ANALYZE shop.orders")
    return pg_database


def test_wizard_test_succeeds_with_server_version(owner_client, project, shop_db):
    body = pg_fields(shop_db, schema="shop")
    response = call(owner_client, "api_connection_test_wizard", project.id, body=body)
    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "success"
    assert "PostgreSQL" in data["message"]


def test_wizard_test_with_unknown_user_fails_readably(owner_client, project, shop_db):
    body = pg_fields(shop_db, username="nobody_here", password="wrong")
    data = call(owner_client, "api_connection_test_wizard", project.id, body=body).json()
    assert data["status"] == "failed"
    assert 'role "nobody_here" does not exist' in data["message"]


def test_wizard_test_with_closed_port_says_host_unreachable(owner_client, project, shop_db):
    body = pg_fields(shop_db, port=1)
    data = call(owner_client, "api_connection_test_wizard", project.id, body=body).json()
    assert data["status"] == "failed"
    assert data["message"].startswith("Host unreachable")


def test_saved_connection_test_records_result(owner_client, project, shop_db):
    connection_id = create_connection(owner_client, project, **pg_fields(shop_db))
    data = call(owner_client, "api_connection_test", connection_id).json()
    assert data["status"] == "success"
    assert data["connection"]["last_test_status"] == "success"
    assert data["connection"]["last_test_at"]


def test_browse_schemas_tables_with_estimates(owner_client, project, shop_db):
    connection_id = create_connection(owner_client, project, **pg_fields(shop_db, schema="shop"))
    schemas = call(owner_client, "api_connection_fetch_schemas", connection_id).json()["schemas"]
    assert "shop" in schemas and "public" in schemas and "pg_catalog" not in schemas
    data = call(owner_client, "api_connection_fetch_tables_for_schema", connection_id, body={"schema": "shop"}).json()
    tables = {t["name"]: t for t in data["tables"]}
    assert tables["orders"]["estimated_rows"] == 50
    assert tables["big_orders"]["type"] == "view"
    assert 'Odd "name" table' in tables


def test_table_preview_has_types_keys_cursor_and_20_rows(owner_client, project, shop_db):
    connection_id = create_connection(owner_client, project, **pg_fields(shop_db, schema="shop"))
    response = call(owner_client, "api_connection_fetch_table_preview", connection_id,
                    body={"schema": "shop", "table": "orders"})
    data = response.json()
    assert response.status_code == 200, data
    columns = {c["name"]: c for c in data["columns"]}
    assert columns["id"]["primary_key"] and not columns["id"]["nullable"]
    assert columns["amount"]["source_type"] == "numeric(12,2)"
    assert columns["amount"]["bigquery_type"] == "NUMERIC"
    assert columns["placed_at"]["duckdb_type"] == "TIMESTAMPTZ"
    assert data["recommended_cursor_column"] == "updated_at"
    assert len(data["sample_rows"]) == 20
    assert data["sample_rows"][0]["amount"] == "1.50"


def test_preview_of_quoted_identifier_table_works(owner_client, project, shop_db):
    connection_id = create_connection(owner_client, project, **pg_fields(shop_db))
    response = call(owner_client, "api_connection_fetch_table_preview", connection_id,
                    body={"schema": "shop", "table": 'Odd "name" table'})
    assert response.status_code == 200
    assert response.json()["columns"][0]["name"] == "x"


def test_injection_attempt_in_table_name_is_rejected_by_catalog(owner_client, project, shop_db):
    connection_id = create_connection(owner_client, project, **pg_fields(shop_db))
    response = call(owner_client, "api_connection_fetch_table_preview", connection_id,
                    body={"schema": "shop", "table": "orders; DROP TABLE shop.orders"})
    assert response.status_code == 400
    assert response.json()["code"] == "source_not_found"
    with psycopg.connect(shop_db["dsn"]) as conn:
        assert conn.execute("SELECT count(*) FROM shop.orders").fetchone()[0] == 50


def test_unknown_schema_is_a_readable_400(owner_client, project, shop_db):
    connection_id = create_connection(owner_client, project, **pg_fields(shop_db))
    response = call(owner_client, "api_connection_fetch_tables_for_schema", connection_id,
                    method="get", query={"schema": "nope"})
    assert response.status_code == 400
    assert "nope" in response.json()["message"]


def test_test_and_fetch_tables_lists_default_schema(owner_client, project, shop_db):
    connection_id = create_connection(owner_client, project, **pg_fields(shop_db, schema="shop"))
    data = call(owner_client, "api_connection_test_and_fetch_tables", connection_id).json()
    assert data["status"] == "success"
    assert data["schema"] == "shop"
    assert {t["name"] for t in data["tables"]} >= {"orders", "big_orders"}


def test_update_keeps_password_and_delete_respects_jobs(owner_client, project, shop_db):
    connection_id = create_connection(owner_client, project, **pg_fields(shop_db, password="s3cret-pw"))
    response = call(owner_client, "api_connection_update", connection_id, body={"description": "new"})
    assert response.json()["connection"]["has_password"] is True
    from ml_platform.models import Connection
    from ml_platform.utils.secrets import connection_secrets

    connection = Connection.objects.get(pk=connection_id)
    assert connection_secrets(connection) == {"password": "s3cret-pw"}
    DataSourceFactory(etl_config=project.etl_config, connection=connection, name="Nightly orders")
    blocked = call(owner_client, "api_connection_delete", connection_id)
    assert blocked.status_code == 409
    assert blocked.json()["jobs"][0]["name"] == "Nightly orders"


def test_testing_edited_fields_uses_the_stored_password_and_saves_nothing(owner_client, project, shop_db):
    connection_id = create_connection(owner_client, project, **pg_fields(shop_db, password="kept"))
    edited = call(owner_client, "api_connection_test", connection_id, body={"port": 1}).json()
    assert edited["status"] == "failed" and edited["unsaved"] is True
    assert edited["connection"]["port"] == shop_db["port"]
    assert edited["connection"]["last_test_status"] == "untested"
    same = call(owner_client, "api_connection_test", connection_id, body={"host": shop_db["host"]}).json()
    assert same["status"] == "success" and "unsaved" not in same
    assert same["connection"]["last_test_status"] == "success"
