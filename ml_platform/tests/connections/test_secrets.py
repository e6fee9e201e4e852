"""The secret store backends: local Fernet rows and Secret Manager (official client against a REST fake)."""
import stat

import pytest
from cryptography.fernet import Fernet

from ml_platform.models import Connection, EncryptedSecret
from ml_platform.tests.connections.conftest import call, create_connection
from ml_platform.utils.errors import ExternalServiceError
from ml_platform.utils.secrets import (
    LocalSecretStore,
    SecretManagerStore,
    connection_params,
    connection_secrets,
    get_secret_store,
    secret_name,
)
from tests.fakes.secret_manager import DISABLED, ENABLED, FakeSecretManager

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake_sm():
    fake = FakeSecretManager()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def sm_settings(settings, fake_sm):
    settings.SECRETS_BACKEND = "secretmanager"
    settings.GCP_PROJECT_ID = "proj-1"
    settings.GCP_API_ENDPOINTS = {**settings.GCP_API_ENDPOINTS, "secretmanager": fake_sm.url}
    return settings


def test_local_store_round_trip_keeps_only_ciphertext():
    store = LocalSecretStore()
    store.put("s1", {"password": "pa55-word"})
    row = EncryptedSecret.objects.get(name="s1")
    assert "pa55-word" not in row.ciphertext
    assert store.get("s1") == {"password": "pa55-word"}
    store.put("s1", {"password": "next"})
    assert EncryptedSecret.objects.get(name="s1").version == 2
    store.delete("s1")
    assert store.get("s1") == {}


def test_key_file_is_created_once_with_mode_0600(settings, tmp_path):
    settings.SECRETS_KEY = ""
    LocalSecretStore().put("s", {"password": "x"})
    key_file = settings.PLATFORM_DATA_DIR / "secrets.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    first = key_file.read_bytes()
    assert LocalSecretStore().get("s") == {"password": "x"}
    assert key_file.read_bytes() == first


def test_passphrase_key_works_and_a_changed_key_is_a_readable_error(settings):
    settings.SECRETS_KEY = "any long passphrase"
    LocalSecretStore().put("s", {"password": "x"})
    assert LocalSecretStore().get("s") == {"password": "x"}
    settings.SECRETS_KEY = Fernet.generate_key().decode()
    with pytest.raises(ExternalServiceError) as info:
        LocalSecretStore().get("s")
    assert "cannot be decrypted" in info.value.message


def test_secret_manager_requests_are_exactly_the_documented_ones(fake_sm):
    store = SecretManagerStore(project="proj-1", endpoint=fake_sm.url)
    store.put("model-1-connection-2-credentials", {"password": "one"})
    store.put("model-1-connection-2-credentials", {"password": "two"})
    assert store.get("model-1-connection-2-credentials") == {"password": "two"}
    store.delete("model-1-connection-2-credentials")
    base = "/v1/projects/proj-1/secrets"
    name = f"{base}/model-1-connection-2-credentials"
    assert [(r.method, r.path) for r in fake_sm.requests] == [
        ("POST", base), ("POST", f"{name}:addVersion"),
        ("POST", base), ("POST", f"{name}:addVersion"), ("POST", f"{name}/versions/1:disable"),
        ("GET", f"{name}/versions/latest:access"),
        ("DELETE", name),
    ]
    create = fake_sm.requests[0]
    assert create.query["secretId"] == ["model-1-connection-2-credentials"]
    assert create.body == {"replication": {"automatic": {}}}
    assert all("enum-encoding=int" in r.query.get("$alt", [""])[0] for r in fake_sm.requests)
    assert set(fake_sm.requests[1].body["payload"]) == {"data", "dataCrc32c"}
    assert fake_sm.secrets == {}


def test_secret_manager_keeps_one_enabled_version(fake_sm):
    store = SecretManagerStore(project="proj-1", endpoint=fake_sm.url)
    for value in ("a", "b", "c"):
        store.put("s", {"password": value})
    versions = fake_sm.secrets["projects/proj-1/secrets/s"].versions
    assert [v["state"] for v in versions] == [DISABLED, DISABLED, ENABLED]
    assert store.get("missing") == {}


def test_secret_manager_failure_is_an_external_error_without_details(fake_sm):
    store = SecretManagerStore(project="proj-1", endpoint=fake_sm.url)
    fake_sm.route("POST", r"/v1/projects/proj-1/secrets/boom:addVersion",
                  lambda request: (500, {"error": {"code": 500, "message": "boom", "status": "INTERNAL"}}))
    fake_sm.routes.insert(0, fake_sm.routes.pop())
    with pytest.raises(ExternalServiceError) as info:
        store.put("boom", {"password": "do-not-echo"})
    assert "do-not-echo" not in info.value.message


def test_factory_picks_the_backend_from_settings(settings, sm_settings):
    assert isinstance(get_secret_store(), SecretManagerStore)
    settings.SECRETS_BACKEND = "local"
    assert isinstance(get_secret_store(), LocalSecretStore)


def test_connection_lifecycle_with_secret_manager(owner_client, project, sm_settings, fake_sm):
    body = {"name": "pg", "source_type": "postgresql", "host": "db.internal", "database": "shop",
            "username": "etl", "password": "first-pw"}
    connection_id = create_connection(owner_client, project, **body)
    name = f"projects/proj-1/secrets/{secret_name(model_id=project.id, connection_id=connection_id)}"
    assert name in fake_sm.secrets
    call(owner_client, "api_connection_update", connection_id, body={"password": "second-pw"})
    assert [v["state"] for v in fake_sm.secrets[name].versions] == [DISABLED, ENABLED]
    assert connection_secrets(Connection.objects.get(pk=connection_id)) == {"password": "second-pw"}
    assert call(owner_client, "api_connection_delete", connection_id).status_code == 200
    assert name not in fake_sm.secrets


def test_runner_params_and_secrets_use_the_contract_names(owner_client, project):
    connection_id = create_connection(owner_client, project, name="s3", source_type="s3",
                                      bucket_path="s3://my-bucket/in", aws_access_key_id="AKIAEXAMPLE",
                                      aws_secret_access_key="shh-secret", endpoint_url="http://127.0.0.1:9000")
    connection = Connection.objects.get(pk=connection_id)
    assert connection_params(connection) == {"bucket_path": "s3://my-bucket/in", "aws_region": "us-east-1",
                                             "endpoint_url": "http://127.0.0.1:9000"}
    assert connection_secrets(connection) == {"aws_access_key_id": "AKIAEXAMPLE",
                                              "aws_secret_access_key": "shh-secret"}
