"""S3 connections against moto in server mode (the s3_emulator session fixture)."""
import uuid

import pytest

from ml_platform.tests.connections.conftest import call, create_connection

pytestmark = pytest.mark.django_db


@pytest.fixture
def bucket(s3_emulator):
    name = f"raw-{uuid.uuid4().hex[:10]}"
    s3_emulator.create_bucket(name)
    client = s3_emulator.client()
    client.put_object(Bucket=name, Key="in/a.csv", Body=b"id,city\n1,Oslo\n2,Rome\n")
    client.put_object(Bucket=name, Key="in/b.jsonl", Body=b'{"id": 1}\n{"id": 2}\n')
    return name


def fields(s3, bucket_path, **extra):
    return {"name": "Raw", "source_type": "s3", "bucket_path": bucket_path, "endpoint_url": s3.endpoint_url,
            "aws_access_key_id": s3.access_key_id, "aws_secret_access_key": s3.secret_access_key, **extra}


def test_test_good_and_missing_bucket(owner_client, project, s3_emulator, bucket):
    ok = call(owner_client, "api_connection_test_wizard", project.id, body=fields(s3_emulator, f"s3://{bucket}"))
    assert ok.json()["status"] == "success", ok.json()
    missing = call(owner_client, "api_connection_test_wizard", project.id,
                   body=fields(s3_emulator, "s3://missing-bucket-xyz"))
    assert missing.json()["status"] == "failed"
    assert "not found" in missing.json()["message"].lower()


def test_list_and_detect(owner_client, project, s3_emulator, bucket):
    connection_id = create_connection(owner_client, project, **fields(s3_emulator, f"s3://{bucket}/in"))
    files = call(owner_client, "api_connection_list_files", connection_id).json()["files"]
    assert {f["path"] for f in files} == {"a.csv", "b.jsonl"}
    data = call(owner_client, "api_connection_detect_file_schema", connection_id, body={"path": "a.csv"}).json()
    assert [c["name"] for c in data["columns"]] == ["id", "city"]
    assert data["columns"][1]["sample_values"] == ["Oslo", "Rome"]


def test_only_one_key_is_a_400(owner_client, project, s3_emulator):
    body = fields(s3_emulator, "s3://b-b-b")
    body.pop("aws_secret_access_key")
    response = call(owner_client, "api_connection_create", project.id, body=body)
    assert response.status_code == 400
    assert "aws_secret_access_key" in response.json()["errors"]


def test_update_without_keys_keeps_them(owner_client, project, s3_emulator, bucket):
    connection_id = create_connection(owner_client, project, **fields(s3_emulator, f"s3://{bucket}"))
    response = call(owner_client, "api_connection_update", connection_id, body={"bucket_path": f"s3://{bucket}/in"})
    assert response.status_code == 200, response.json()
    assert response.json()["connection"]["has_aws_secret_access_key"] is True
    assert call(owner_client, "api_connection_test", connection_id).json()["status"] == "success"
