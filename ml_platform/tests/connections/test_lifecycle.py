"""Every source type through the same life: create, test, update without secrets, delete with and without jobs."""
import json
import sqlite3
import uuid

import pytest

from ml_platform.models import Connection, EncryptedSecret
from ml_platform.tests.connections.conftest import call, create_connection
from ml_platform.tests.factories import DataSourceFactory

pytestmark = pytest.mark.django_db
BAD_SERVICE_ACCOUNT = json.dumps({"type": "service_account", "client_email": "x@y.iam.gserviceaccount.com",
                                  "private_key": "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n"})


def postgresql_body(request):
    db = request.getfixturevalue("pg_database")
    return {"source_type": "postgresql", "host": db["host"], "port": db["port"], "database": db["database"],
            "username": db["username"], "password": "unused-by-trust-auth"}


def mysql_body(request):
    db = request.getfixturevalue("mysql_database")
    return {"source_type": "mysql", "host": db["host"], "port": db["port"], "database": db["database"],
            "username": "root"}


def sqlite_body(request):
    path = request.getfixturevalue("tmp_path") / "life.db"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.close()
    return {"source_type": "sqlite", "path": str(path)}


def local_files_body(request):
    return {"source_type": "local_files", "path": str(request.getfixturevalue("tmp_path"))}


def gcs_body(request):
    gcs = request.getfixturevalue("gcs_emulator")
    name = f"life-{uuid.uuid4().hex[:8]}"
    gcs.create_bucket(name)
    return {"source_type": "gcs", "bucket_path": f"gs://{name}", "endpoint_url": gcs.endpoint}


def s3_body(request):
    s3 = request.getfixturevalue("s3_emulator")
    name = f"life-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(name)
    return {"source_type": "s3", "bucket_path": f"s3://{name}", "endpoint_url": s3.endpoint_url,
            "aws_access_key_id": s3.access_key_id, "aws_secret_access_key": s3.secret_access_key}


def azure_blob_body(request):
    azurite = request.getfixturevalue("azurite")
    name = f"life{uuid.uuid4().hex[:8]}"
    azurite.create_container(name)
    return {"source_type": "azure_blob", "bucket_path": f"az://{name}", "endpoint_url": azurite.endpoint,
            "azure_storage_account": azurite.account_name, "azure_account_key": azurite.account_key}


def bigquery_body(request):
    bq = request.getfixturevalue("bq_emulator")
    return {"source_type": "bigquery", "project_id": bq.project, "endpoint_url": bq.endpoint}


def firestore_body(request):
    fs = request.getfixturevalue("firestore_emulator")
    return {"source_type": "firestore", "project_id": fs.project, "endpoint_url": fs.host}


BODIES = {name.removesuffix("_body"): fn for name, fn in globals().copy().items() if name.endswith("_body")}


@pytest.mark.parametrize("kind", sorted(BODIES))
def test_create_test_update_and_delete(kind, request, owner_client, project):
    body = {"name": f"{kind} source", **BODIES[kind](request)}
    connection_id = create_connection(owner_client, project, **body)
    first = call(owner_client, "api_connection_test", connection_id).json()
    assert first["status"] == "success", first
    updated = call(owner_client, "api_connection_update", connection_id, body={"description": "edited"})
    assert updated.status_code == 200, updated.json()
    again = call(owner_client, "api_connection_test", connection_id).json()
    assert again["status"] == "success", again
    job = DataSourceFactory(etl_config=project.etl_config, connection_id=connection_id, source_type=kind)
    assert call(owner_client, "api_connection_delete", connection_id).status_code == 409
    job.delete()
    assert call(owner_client, "api_connection_delete", connection_id).status_code == 200
    assert not Connection.objects.filter(pk=connection_id).exists()
    assert not EncryptedSecret.objects.exists()


@pytest.mark.parametrize("kind", ["gcs", "bigquery", "firestore"])
def test_unusable_service_account_json_fails_readably(kind, request, owner_client, project):
    body = {**BODIES[kind](request), "service_account_json": BAD_SERVICE_ACCOUNT}
    data = call(owner_client, "api_connection_test_wizard", project.id, body=body).json()
    assert data["status"] == "failed"
    assert "service-account JSON is not usable" in data["message"]
