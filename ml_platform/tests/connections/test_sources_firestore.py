"""Firestore connections against Google's Firestore emulator (skipped where the machine lacks it)."""
import datetime as dt

import pytest

from ml_platform.tests.connections.conftest import call, create_connection

pytestmark = pytest.mark.django_db


@pytest.fixture
def collections(firestore_emulator):
    firestore_emulator.reset()
    client = firestore_emulator.client()
    for i in range(25):
        client.collection("customers").document(f"c{i}").set(
            {"name": f"n{i}", "score": i if i % 2 else i + 0.5, "joined": dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
             **({"vip": True} if i < 3 else {})})
    client.collection("orders").document("o1").set({"total": 3})
    return firestore_emulator


def fields(emulator):
    return {"name": "Docs", "source_type": "firestore", "project_id": emulator.project,
            "endpoint_url": emulator.host}


def test_test_lists_collections(owner_client, project, collections):
    data = call(owner_client, "api_connection_test_wizard", project.id, body=fields(collections)).json()
    assert data["status"] == "success", data
    assert data["details"]["collections"] == 2


def test_browse_and_inferred_preview(owner_client, project, collections):
    connection_id = create_connection(owner_client, project, **fields(collections))
    tables = call(owner_client, "api_connection_fetch_tables_for_schema", connection_id).json()["tables"]
    assert [t["name"] for t in tables] == ["customers", "orders"]
    preview = call(owner_client, "api_connection_fetch_table_preview", connection_id,
                   body={"table": "customers"}).json()
    columns = {c["name"]: c for c in preview["columns"]}
    assert columns["_id"]["primary_key"]
    assert columns["score"]["source_type"] == "double"
    assert columns["vip"]["nullable"] is True
    assert columns["joined"]["bigquery_type"] == "TIMESTAMP"
    assert preview["recommended_cursor_column"] == "joined"
    assert len(preview["sample_rows"]) == 20


def test_unreachable_emulator_fails_readably(owner_client, project):
    body = {"source_type": "firestore", "project_id": "test-proj", "endpoint_url": "127.0.0.1:1"}
    data = call(owner_client, "api_connection_test_wizard", project.id, body=body).json()
    assert data["status"] == "failed"
    assert data["message"].startswith("Host unreachable")
