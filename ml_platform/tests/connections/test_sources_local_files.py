"""Local-folder connections: listing, paging, patterns and bounded schema detection on files made here."""
import gzip
import json
import os
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ml_platform.tests.connections.conftest import call, create_connection

pytestmark = pytest.mark.django_db


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "landing"
    (root / "sales").mkdir(parents=True)
    (root / "sales" / "2024-01.csv").write_text(
        "id,amount,sold_at\n1,2.5,2024-01-01T10:00:00\n2,3.0,2024-01-02T10:00:00\n")
    (root / "sales" / "2024-02.csv").write_text("id,amount,sold_at\n3,4.5,2024-02-01T10:00:00\n")
    os.utime(root / "sales" / "2024-01.csv", (time.time() - 3600, time.time() - 3600))
    (root / "events.jsonl").write_text("\n".join(json.dumps({"id": i, "kind": f"k{i}"}) for i in range(5)))
    pq.write_table(pa.table({"id": list(range(1000)), "name": [f"n{i}" for i in range(1000)]}),
                   root / "users.parquet", row_group_size=100)
    with gzip.open(root / "sales" / "big.csv.gz", "wt") as handle:
        handle.write("a,b\n" + "".join(f"{i},{i * 2}\n" for i in range(200_000)))
    (tmp_path / "outside.csv").write_text("secret,data\n1,2\n")
    return root


def make(client, project, folder):
    return create_connection(client, project, name="Landing", source_type="local_files", path=str(folder))


def test_test_succeeds_and_missing_folder_fails(owner_client, project, folder, tmp_path):
    body = {"source_type": "local_files", "path": str(folder)}
    assert call(owner_client, "api_connection_test_wizard", project.id, body=body).json()["status"] == "success"
    body["path"] = str(tmp_path / "missing")
    data = call(owner_client, "api_connection_test_wizard", project.id, body=body).json()
    assert data["status"] == "failed" and "Folder not found" in data["message"]


def test_list_files_newest_first_with_prefix_pattern_and_pages(owner_client, project, folder):
    connection_id = make(owner_client, project, folder)
    data = call(owner_client, "api_connection_list_files", connection_id,
                body={"prefix": "sales/", "pattern": "*.csv"}).json()
    assert [f["path"] for f in data["files"]] == ["sales/2024-02.csv", "sales/2024-01.csv"]
    assert data["files"][0]["size"] > 0 and data["files"][0]["modified"]
    page = call(owner_client, "api_connection_list_files", connection_id, method="get",
                query={"page": 2, "page_size": 2}).json()
    assert page["total"] == 5 and page["page"] == 2 and len(page["files"]) == 2 and page["has_more"]


def test_detect_csv_schema(owner_client, project, folder):
    connection_id = make(owner_client, project, folder)
    data = call(owner_client, "api_connection_detect_file_schema", connection_id,
                body={"path": "sales/2024-01.csv"}).json()
    columns = {c["name"]: c for c in data["columns"]}
    assert columns["id"]["bigquery_type"] == "INT64"
    assert columns["amount"]["sample_values"] == ["2.5", "3.0"]
    assert columns["sold_at"]["bigquery_type"] == "DATETIME"
    assert data["recommended_cursor_column"] == "sold_at"
    same = call(owner_client, "api_connection_detect_file_schema", connection_id,
                body={"path": "sales/2024-02.csv"}).json()
    assert same["fingerprint"] == data["fingerprint"]


def test_detect_parquet_and_jsonl(owner_client, project, folder):
    connection_id = make(owner_client, project, folder)
    parquet = call(owner_client, "api_connection_detect_file_schema", connection_id,
                   body={"path": "users.parquet"}).json()
    assert parquet["total_rows"] == 1000 and len(parquet["sample_rows"]) == 20
    assert [c["name"] for c in parquet["columns"]] == ["id", "name"]
    jsonl = call(owner_client, "api_connection_detect_file_schema", connection_id,
                 body={"path": "events.jsonl"}).json()
    assert {c["name"]: c["bigquery_type"] for c in jsonl["columns"]} == {"id": "INT64", "kind": "STRING"}


def test_detect_reads_a_bounded_sample_of_a_big_file(owner_client, project, folder):
    connection_id = make(owner_client, project, folder)
    data = call(owner_client, "api_connection_detect_file_schema", connection_id,
                body={"path": "sales/big.csv.gz"}).json()
    assert data["bytes_read"] <= 1024 * 1024 + 1
    assert [c["name"] for c in data["columns"]] == ["a", "b"]


def test_paths_cannot_leave_the_folder(owner_client, project, folder):
    connection_id = make(owner_client, project, folder)
    for path in ("../outside.csv", "/etc/passwd", "sales/../../outside.csv"):
        response = call(owner_client, "api_connection_detect_file_schema", connection_id, body={"path": path})
        assert response.status_code == 400, path
    (folder / "link.csv").symlink_to(folder.parent / "outside.csv")
    response = call(owner_client, "api_connection_detect_file_schema", connection_id, body={"path": "link.csv"})
    assert response.status_code == 400
    listed = call(owner_client, "api_connection_list_files", connection_id).json()["files"]
    assert "link.csv" not in [f["path"] for f in listed]


def test_unreadable_file_is_a_readable_400(owner_client, project, folder):
    (folder / "broken.parquet").write_bytes(b"not parquet at all")
    connection_id = make(owner_client, project, folder)
    response = call(owner_client, "api_connection_detect_file_schema", connection_id, body={"path": "broken.parquet"})
    assert response.status_code == 400
    assert "Parquet" in response.json()["message"]


def test_local_source_roots_setting_limits_readable_folders(owner_client, project, folder, settings, tmp_path):
    settings.LOCAL_SOURCE_ROOTS = [str(tmp_path / "allowed")]
    response = call(owner_client, "api_connection_test_wizard", project.id,
                    body={"source_type": "local_files", "path": str(folder)})
    assert response.status_code == 400
    assert "outside the folders" in response.json()["errors"]["path"][0]
    settings.LOCAL_SOURCE_ROOTS = [str(tmp_path)]
    data = call(owner_client, "api_connection_test_wizard", project.id,
                body={"source_type": "local_files", "path": str(folder)}).json()
    assert data["status"] == "success"
