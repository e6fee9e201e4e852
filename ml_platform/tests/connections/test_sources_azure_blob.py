"""Azure Blob connections against Azurite (the azurite session fixture)."""
import uuid

import pytest

from ml_platform.tests.connections.conftest import call, create_connection

pytestmark = pytest.mark.django_db


@pytest.fixture
def container(azurite):
    name = f"c{uuid.uuid4().hex[:12]}"
    client = azurite.create_container(name)
    client.upload_blob("drop/one.csv", b"id,v\n1,a\n")
    client.upload_blob("drop/two.csv", b"id,v\n2,b\n")
    return name


def key_fields(azurite, container, **extra):
    return {"name": "Blob", "source_type": "azure_blob", "bucket_path": f"az://{container}/drop",
            "azure_storage_account": azurite.account_name, "azure_account_key": azurite.account_key,
            "endpoint_url": azurite.endpoint, **extra}


def test_test_with_key_and_connection_string(owner_client, project, azurite, container):
    ok = call(owner_client, "api_connection_test_wizard", project.id, body=key_fields(azurite, container))
    assert ok.json()["status"] == "success", ok.json()
    by_string = {"source_type": "azure_blob", "bucket_path": container, "connection_string": azurite.connection_string}
    assert call(owner_client, "api_connection_test_wizard", project.id, body=by_string).json()["status"] == "success"


def test_wrong_key_and_missing_container_fail_readably(owner_client, project, azurite, container):
    wrong = key_fields(azurite, container, azure_account_key="d3Jvbmcta2V5LXdyb25nLWtleQ==")
    data = call(owner_client, "api_connection_test_wizard", project.id, body=wrong).json()
    assert data["status"] == "failed"
    assert "rejected the credentials" in data["message"]
    missing = key_fields(azurite, "nocontainer")
    data = call(owner_client, "api_connection_test_wizard", project.id, body=missing).json()
    assert data["status"] == "failed" and "not found" in data["message"]


def test_list_and_detect(owner_client, project, azurite, container):
    connection_id = create_connection(owner_client, project, **key_fields(azurite, container))
    files = call(owner_client, "api_connection_list_files", connection_id).json()["files"]
    assert {f["path"] for f in files} == {"one.csv", "two.csv"}
    data = call(owner_client, "api_connection_detect_file_schema", connection_id, body={"path": "two.csv"}).json()
    assert data["sample_rows"] == [{"id": 2, "v": "b"}]


def test_no_credentials_is_a_400(owner_client, project):
    response = call(owner_client, "api_connection_create", project.id,
                    body={"name": "x", "source_type": "azure_blob", "bucket_path": "az://cont"})
    assert response.status_code == 400
    assert {"azure_account_key", "azure_storage_account"} <= set(response.json()["errors"])
