"""MySQL / MariaDB connections end to end against the real MariaDB on 127.0.0.1:3306."""
import uuid

import pymysql
import pytest

from ml_platform.tests.connections.conftest import call, create_connection

pytestmark = pytest.mark.django_db


def _admin(db):
    return pymysql.connect(host=db["host"], port=db["port"], user="root", password="", autocommit=True,
                           database=db["database"])


@pytest.fixture
def shop_db(mysql_database):
    with _admin(mysql_database) as conn, conn.cursor() as cur:
        cur.execute("""CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, customer VARCHAR(50) NOT NULL,
                       amount DECIMAL(10,2), is_paid TINYINT(1), modified_at DATETIME, raw JSON)""")
        cur.executemany("INSERT INTO orders (customer, amount, is_paid, modified_at, raw) "
                        "VALUES (%s, %s, 1, NOW(), '{}')", [(f"c{i}", i * 2.5) for i in range(30)])
        cur.execute("CREATE TABLE `we``ird` (x INT)")
        cur.execute("ANALYZE TABLE orders")
    return mysql_database


@pytest.fixture
def mysql_user(shop_db):
    """A real user with a password, so wrong credentials can be tested."""
    name, password = f"u{uuid.uuid4().hex[:10]}", f"pw-{uuid.uuid4().hex}"
    with _admin(shop_db) as conn, conn.cursor() as cur:
        for host in ("127.0.0.1", "localhost", "%"):
            cur.execute("CREATE USER %s@%s IDENTIFIED BY %s", (name, host, password))
            cur.execute(f"GRANT SELECT ON `{shop_db['database']}`.* TO %s@%s", (name, host))
    yield name, password
    with _admin(shop_db) as conn, conn.cursor() as cur:
        for host in ("127.0.0.1", "localhost", "%"):
            cur.execute("DROP USER IF EXISTS %s@%s", (name, host))


def fields(db, user, password, **extra):
    return {"name": "Shop", "source_type": "mysql", "host": db["host"], "port": db["port"],
            "database": db["database"], "username": user, "password": password, **extra}


def test_test_with_good_and_bad_password(owner_client, project, shop_db, mysql_user):
    user, password = mysql_user
    good = call(owner_client, "api_connection_test_wizard", project.id, body=fields(shop_db, user, password))
    assert good.json()["status"] == "success", good.json()
    bad = call(owner_client, "api_connection_test_wizard", project.id, body=fields(shop_db, user, "wrong"))
    assert bad.status_code == 200
    assert bad.json()["status"] == "failed"
    assert "Access denied" in bad.json()["message"]
    assert password not in bad.content.decode()


def test_browse_and_preview(owner_client, project, shop_db, mysql_user):
    connection_id = create_connection(owner_client, project, **fields(shop_db, *mysql_user))
    schemas = call(owner_client, "api_connection_fetch_schemas", connection_id).json()["schemas"]
    assert shop_db["database"] in schemas and "mysql" not in schemas
    tables = call(owner_client, "api_connection_fetch_tables_for_schema", connection_id).json()["tables"]
    by_name = {t["name"]: t for t in tables}
    assert by_name["orders"]["estimated_rows"] == 30
    preview = call(owner_client, "api_connection_fetch_table_preview", connection_id,
                   body={"table": "orders"}).json()
    columns = {c["name"]: c for c in preview["columns"]}
    assert columns["id"]["primary_key"]
    assert columns["is_paid"]["bigquery_type"] == "BOOL"
    assert columns["modified_at"]["bigquery_type"] == "DATETIME"
    assert preview["recommended_cursor_column"] == "modified_at"
    assert len(preview["sample_rows"]) == 20


def test_backquoted_table_name_is_quoted_not_pasted(owner_client, project, shop_db, mysql_user):
    connection_id = create_connection(owner_client, project, **fields(shop_db, *mysql_user))
    ok = call(owner_client, "api_connection_fetch_table_preview", connection_id, body={"table": "we`ird"})
    assert ok.status_code == 200, ok.json()
    evil = call(owner_client, "api_connection_fetch_table_preview", connection_id,
                body={"table": "orders` WHERE 1=1; --"})
    assert evil.status_code == 400


def test_saved_connection_update_keeps_password(owner_client, project, shop_db, mysql_user):
    connection_id = create_connection(owner_client, project, **fields(shop_db, *mysql_user))
    call(owner_client, "api_connection_update", connection_id, body={"name": "Renamed", "password": "********"})
    data = call(owner_client, "api_connection_test", connection_id).json()
    assert data["status"] == "success", data
    assert data["connection"]["name"] == "Renamed"
