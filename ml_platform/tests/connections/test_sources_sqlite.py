"""SQLite connections against a database file made by the test."""
import sqlite3

import pytest

from ml_platform.tests.connections.conftest import call, create_connection

pytestmark = pytest.mark.django_db


@pytest.fixture
def sqlite_file(tmp_path):
    path = tmp_path / "shop.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, created_at DATETIME, "
                 "price DECIMAL(8,2), payload BLOB)")
    conn.executemany("INSERT INTO events (kind, created_at, price) VALUES (?, datetime('now'), 1.5)",
                     [(f"k{i}",) for i in range(25)])
    conn.execute('CREATE TABLE "odd ""t""" (a)')
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()
    return path


def test_test_browse_and_preview(owner_client, project, sqlite_file):
    body = {"name": "Local", "source_type": "sqlite", "path": str(sqlite_file)}
    assert call(owner_client, "api_connection_test_wizard", project.id, body=body).json()["status"] == "success"
    connection_id = create_connection(owner_client, project, **body)
    assert call(owner_client, "api_connection_fetch_schemas", connection_id).json()["schemas"] == ["main"]
    tables = call(owner_client, "api_connection_fetch_tables_for_schema", connection_id).json()["tables"]
    assert {t["name"]: t["estimated_rows"] for t in tables}["events"] == 25
    preview = call(owner_client, "api_connection_fetch_table_preview", connection_id,
                   body={"table": "events"}).json()
    columns = {c["name"]: c for c in preview["columns"]}
    assert columns["id"]["primary_key"]
    assert columns["created_at"]["bigquery_type"] == "DATETIME"
    assert preview["recommended_cursor_column"] == "created_at"
    assert len(preview["sample_rows"]) == 20
    odd = call(owner_client, "api_connection_fetch_table_preview", connection_id, body={"table": 'odd "t"'})
    assert odd.status_code == 200


def test_missing_file_and_non_sqlite_file_fail_readably(owner_client, project, tmp_path):
    missing = {"source_type": "sqlite", "path": str(tmp_path / "nope.db")}
    data = call(owner_client, "api_connection_test_wizard", project.id, body=missing).json()
    assert data["status"] == "failed" and "File not found" in data["message"]
    junk = tmp_path / "junk.db"
    junk.write_text("hello, this is not a database")
    data = call(owner_client, "api_connection_test_wizard", project.id,
                body={"source_type": "sqlite", "path": str(junk)}).json()
    assert data["status"] == "failed" and "not a SQLite database" in data["message"]


def test_relative_path_is_a_400(owner_client, project):
    response = call(owner_client, "api_connection_create", project.id,
                    body={"name": "x", "source_type": "sqlite", "path": "shop.db"})
    assert response.status_code == 400
    assert "path" in response.json()["errors"]


def test_file_actions_are_refused_for_a_table_source(owner_client, project, sqlite_file):
    connection_id = create_connection(owner_client, project, name="L", source_type="sqlite", path=str(sqlite_file))
    response = call(owner_client, "api_connection_list_files", connection_id)
    assert response.status_code == 400
    assert response.json()["code"] == "wrong_source_kind"
