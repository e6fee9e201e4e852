"""GCS connections against fake-gcs-server (the gcs_emulator session fixture)."""
import uuid

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ml_platform.tests.connections.conftest import call, create_connection

pytestmark = pytest.mark.django_db


@pytest.fixture
def bucket(gcs_emulator, tmp_path):
    name = f"landing-{uuid.uuid4().hex[:10]}"
    gcs_bucket = gcs_emulator.create_bucket(name)
    gcs_bucket.blob("exports/orders/2024-01.csv").upload_from_string("id,total\n1,9.5\n2,3.25\n")
    gcs_bucket.blob("exports/orders/2024-02.csv").upload_from_string("id,total\n3,1.0\n")
    gcs_bucket.blob("other/ignored.csv").upload_from_string("x\n1\n")
    pq.write_table(pa.table({"k": [1, 2, 3]}), tmp_path / "k.parquet")
    gcs_bucket.blob("exports/k.parquet").upload_from_filename(str(tmp_path / "k.parquet"))
    return name


def fields(gcs_emulator, bucket_path):
    return {"name": "Lake", "source_type": "gcs", "bucket_path": bucket_path, "endpoint_url": gcs_emulator.endpoint}


def test_test_good_and_missing_bucket(owner_client, project, gcs_emulator, bucket):
    ok = call(owner_client, "api_connection_test_wizard", project.id,
              body=fields(gcs_emulator, f"gs://{bucket}/exports"))
    assert ok.json()["status"] == "success", ok.json()
    missing = call(owner_client, "api_connection_test_wizard", project.id,
                   body=fields(gcs_emulator, "gs://no-such-bucket-here"))
    assert missing.json()["status"] == "failed"
    assert "not found" in missing.json()["message"].lower()


def test_list_files_under_the_connection_prefix(owner_client, project, gcs_emulator, bucket):
    connection_id = create_connection(owner_client, project, **fields(gcs_emulator, f"gs://{bucket}/exports"))
    data = call(owner_client, "api_connection_list_files", connection_id,
                body={"prefix": "orders/", "pattern": "*.csv"}).json()
    assert {f["path"] for f in data["files"]} == {"orders/2024-01.csv", "orders/2024-02.csv"}
    assert data["files"][0]["uri"].startswith(f"gs://{bucket}/exports/orders/")
    everything = call(owner_client, "api_connection_list_files", connection_id).json()
    assert "other/ignored.csv" not in {f["path"] for f in everything["files"]}


def test_detect_csv_and_parquet(owner_client, project, gcs_emulator, bucket):
    connection_id = create_connection(owner_client, project, **fields(gcs_emulator, f"gs://{bucket}/exports"))
    csv = call(owner_client, "api_connection_detect_file_schema", connection_id,
               body={"path": "orders/2024-01.csv"}).json()
    assert {c["name"]: c["bigquery_type"] for c in csv["columns"]} == {"id": "INT64", "total": "FLOAT64"}
    parquet = call(owner_client, "api_connection_detect_file_schema", connection_id,
                   body={"path": "k.parquet"}).json()
    assert parquet["total_rows"] == 3
    missing = call(owner_client, "api_connection_detect_file_schema", connection_id, body={"path": "nope.csv"})
    assert missing.status_code == 400


def test_malformed_bucket_path_and_service_account_json_are_400(owner_client, project):
    response = call(owner_client, "api_connection_create", project.id,
                    body={"name": "x", "source_type": "gcs", "bucket_path": "s3://wrong",
                          "service_account_json": "{not json"})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"service_account_json"}
    response = call(owner_client, "api_connection_create", project.id,
                    body={"name": "x", "source_type": "gcs", "bucket_path": "s3://wrong"})
    assert response.status_code == 400
    assert "bucket_path" in response.json()["errors"]
