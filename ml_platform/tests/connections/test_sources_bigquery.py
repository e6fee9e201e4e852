"""BigQuery connections against bqemulator (the bq_emulator session fixture)."""
import uuid

import pytest

from ml_platform.tests.connections.conftest import call, create_connection

pytestmark = pytest.mark.django_db


@pytest.fixture
def dataset(bq_emulator):
    from google.cloud import bigquery

    client = bq_emulator.client()
    name = f"ds_{uuid.uuid4().hex[:10]}"
    client.create_dataset(name)
    table = bigquery.Table(f"{bq_emulator.project}.{name}.visits", schema=[
        bigquery.SchemaField("id", "INT64", mode="REQUIRED"),
        bigquery.SchemaField("page", "STRING"),
        bigquery.SchemaField("seen_at", "TIMESTAMP"),
        bigquery.SchemaField("tags", "STRING", mode="REPEATED"),
    ])
    client.create_table(table)
    rows = [{"id": i, "page": f"/p{i}", "seen_at": "2024-01-01T00:00:00Z", "tags": ["a"]} for i in range(30)]
    assert client.insert_rows_json(f"{bq_emulator.project}.{name}.visits", rows) == []
    yield name
    client.delete_dataset(name, delete_contents=True, not_found_ok=True)


def fields(bq, **extra):
    return {"name": "Warehouse", "source_type": "bigquery", "project_id": bq.project,
            "endpoint_url": bq.endpoint, **extra}


def test_test_good_and_missing_dataset(owner_client, project, bq_emulator, dataset):
    ok = call(owner_client, "api_connection_test_wizard", project.id, body=fields(bq_emulator, dataset=dataset))
    assert ok.json()["status"] == "success", ok.json()
    missing = call(owner_client, "api_connection_test_wizard", project.id,
                   body=fields(bq_emulator, dataset="no_such_dataset"))
    assert missing.json()["status"] == "failed"
    assert "no_such_dataset" in missing.json()["message"]


def test_browse_and_preview(owner_client, project, bq_emulator, dataset):
    connection_id = create_connection(owner_client, project, **fields(bq_emulator, dataset=dataset))
    assert dataset in call(owner_client, "api_connection_fetch_schemas", connection_id).json()["schemas"]
    tables = call(owner_client, "api_connection_fetch_tables_for_schema", connection_id).json()["tables"]
    assert [t["name"] for t in tables] == ["visits"]
    assert tables[0]["estimated_rows"] == 30
    preview = call(owner_client, "api_connection_fetch_table_preview", connection_id, body={"table": "visits"}).json()
    columns = {c["name"]: c for c in preview["columns"]}
    assert columns["id"]["nullable"] is False
    assert columns["seen_at"]["duckdb_type"] == "TIMESTAMPTZ"
    assert columns["tags"]["source_type"] == "ARRAY<STRING>"
    assert preview["recommended_cursor_column"] == "seen_at"
    assert len(preview["sample_rows"]) == 20
    unknown = call(owner_client, "api_connection_fetch_table_preview", connection_id, body={"table": "nope"})
    assert unknown.status_code == 400
