"""Hostile identifiers and paths against real sources: SQL in schema/table names, traversal and glob tricks in
file prefixes and patterns. Nothing outside the connection's root is listed or read, no SQL is injected."""
from __future__ import annotations

import psycopg
import pytest
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.security import strategies as hs
from tests.security.conftest import logged_in
from tests.security.test_fuzz import FUZZ, Probe

OUTSIDE_MARKER = "outside-secret-marker"


def _create(client, project, fields: dict) -> int:
    response = client.post(reverse("api_connection_create", args=[project.pk]), data=fields,
                           content_type="application/json")
    assert response.status_code in (200, 201), response.content
    return response.json()["connection_id"]


@pytest.fixture
def file_tree(tmp_path):
    """root/ holds the connection's files; a sibling folder and file hold what must never be reachable."""
    root = tmp_path / "root"
    (root / "sales").mkdir(parents=True)
    (root / "sales" / "a.csv").write_text("id,amount\n1,2\n")
    (root / "top.csv").write_text("id\n1\n")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / f"{OUTSIDE_MARKER}.csv").write_text(f"secret\n{OUTSIDE_MARKER}\n")
    (tmp_path / f"{OUTSIDE_MARKER}.csv").write_text(f"secret\n{OUTSIDE_MARKER}\n")
    return root


def test_file_prefixes_and_patterns_never_escape_the_root(world, file_tree):
    client = logged_in(world.owner)
    conn_id = _create(client, world.project, {"name": "files", "source_type": "local_files", "path": str(file_tree)})
    probe = Probe(client)
    listing = reverse("api_connection_list_files", args=[conn_id])
    detect = reverse("api_connection_detect_file_schema", args=[conn_id])
    ok = probe.send("GET", listing, query={})
    assert ok.status_code == 200 and "a.csv" in ok.content.decode(), ok.content

    @settings(FUZZ, max_examples=40)
    @given(prefix=st.sampled_from(hs.PATH_TRICKS) | hs.nasty_text(),
           pattern=st.sampled_from(hs.PATH_TRICKS + ["../*.csv", "*/../../*", "../outside/*"]) | hs.nasty_text())
    def check(prefix, pattern):
        for method, query in (("GET", {"prefix": prefix, "pattern": pattern}), ("GET", {"path": prefix}),
                              ("GET", {"path": pattern, "file_format": "csv"})):
            url = listing if "prefix" in query else detect
            response = probe.send(method, url, query={k: v.replace("\x00", "") for k, v in query.items()})
            assert OUTSIDE_MARKER not in response.content.decode(errors="replace"), (query, response.content[:300])

    check()


@pytest.fixture
def pg_source(pg_database):
    with psycopg.connect(pg_database["dsn"], autocommit=True) as conn:
        conn.execute("CREATE TABLE canary (id int primary key)")
        conn.execute("INSERT INTO canary VALUES (1), (2), (3)")
        conn.execute("CREATE TABLE orders (id int primary key, updated_at timestamptz)")
    return pg_database


def _canary(dsn: str) -> list:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT id FROM canary ORDER BY id").fetchall()


def test_sql_in_identifiers_is_quoted_or_refused(world, pg_source):
    client = logged_in(world.owner)
    conn_id = _create(client, world.project, {
        "name": "pg", "source_type": "postgresql", "host": pg_source["host"], "port": pg_source["port"],
        "database": pg_source["database"], "username": pg_source["username"], "password": ""})
    probe = Probe(client)
    tables = reverse("api_connection_fetch_tables_for_schema", args=[conn_id])
    preview = reverse("api_connection_fetch_table_preview", args=[conn_id])
    create_job = reverse("api_etl_create_job", args=[world.project.pk])
    assert "orders" in probe.send("GET", tables, query={"schema": "public"}).content.decode()

    @settings(FUZZ, max_examples=25)
    @given(ident=st.sampled_from(hs.SQL_TRICKS) | hs.nasty_text())
    def check(ident):
        ident = ident.replace("\x00", "")
        probe.send("GET", tables, query={"schema": ident})
        probe.send("GET", preview, query={"schema": "public", "table": ident})
        probe.send("POST", preview, body=__import__("json").dumps({"schema": ident, "table": "orders"}).encode())
        body = {"name": "inj", "connection_id": conn_id, "schedule_config": {"schedule_type": "manual"},
                "tables": [{"schema_name": "public", "source_table_name": ident, "dest_table_name": "orders",
                            "sync_mode": "merge", "incremental_column": ident, "primary_key": [ident]}]}
        response = probe.send("POST", create_job, body=__import__("json").dumps(body).encode())
        assert response.status_code == 400, response.content[:300]  # the table does not exist at the source

    check()
    assert _canary(pg_source["dsn"]) == [(1,), (2,), (3,)]
