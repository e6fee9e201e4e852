"""The secret store: where connection credentials live (never in model fields, responses or logs).

`LocalSecretStore` keeps Fernet ciphertext in `EncryptedSecret` rows (key from settings.SECRETS_KEY or a 0600
key file under PLATFORM_DATA_DIR created on first use). `SecretManagerStore` keeps one Secret Manager secret per
connection, a new version per update with the older one disabled. `get_secret_store()` picks by
settings.SECRETS_BACKEND. `connection_params` / `connection_secrets` build the runner config's `source` block.
"""
from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings

from ml_platform.utils.errors import ExternalServiceError

logger = logging.getLogger(__name__)
KEY_FILE_NAME = "secrets.key"
SECRET_FIELDS = ("password", "service_account_json", "aws_access_key_id", "aws_secret_access_key",
                 "azure_account_key", "azure_sas_token", "connection_string")
# Contract key name -> Connection model field (docs/internal-contracts.md, "source.params").
PARAM_FIELDS = {
    "host": "source_host", "port": "source_port", "database": "source_database", "schema": "source_schema",
    "username": "source_username", "sslmode": "ssl_mode", "path": "file_path", "bucket_path": "bucket_path",
    "aws_region": "aws_region", "endpoint_url": "endpoint_url", "azure_storage_account": "azure_storage_account",
    "project_id": "gcp_project_id", "dataset": "bigquery_dataset",
}


class SecretStore(Protocol):
    """Stores a small dict of secret strings under one name."""

    def put(self, name: str, values: dict[str, str]) -> None: ...

    def get(self, name: str) -> dict[str, str]: ...

    def delete(self, name: str) -> None: ...


def secret_name(*, model_id: int, connection_id: int) -> str:
    """The one secret of a connection: model-<model_id>-connection-<connection_id>-credentials."""
    return f"model-{model_id}-connection-{connection_id}-credentials"


class LocalSecretStore:
    """Fernet-encrypted JSON in the app database."""

    def __init__(self, key: str | None = None, data_dir: Path | None = None):
        from cryptography.fernet import Fernet

        self._fernet = Fernet(_fernet_key(key if key is not None else settings.SECRETS_KEY,
                                          Path(data_dir or settings.PLATFORM_DATA_DIR)))

    def put(self, name: str, values: dict[str, str]) -> None:
        from ml_platform.models import EncryptedSecret

        token = self._fernet.encrypt(json.dumps(values).encode()).decode()
        row, created = EncryptedSecret.objects.get_or_create(name=name, defaults={"ciphertext": token})
        if not created:
            row.ciphertext, row.version = token, row.version + 1
            row.save(update_fields=["ciphertext", "version", "updated_at"])

    def get(self, name: str) -> dict[str, str]:
        from cryptography.fernet import InvalidToken

        from ml_platform.models import EncryptedSecret

        row = EncryptedSecret.objects.filter(name=name).first()
        if row is None:
            return {}
        try:
            return json.loads(self._fernet.decrypt(row.ciphertext.encode()))
        except InvalidToken:
            logger.error("Secret %s cannot be decrypted with the configured key", name)
            raise ExternalServiceError("A stored secret cannot be decrypted (was the secrets key changed?).",
                                       code="secret_unreadable") from None

    def delete(self, name: str) -> None:
        from ml_platform.models import EncryptedSecret

        EncryptedSecret.objects.filter(name=name).delete()


def _fernet_key(configured: str, data_dir: Path) -> bytes:
    """A Fernet key from the setting (a Fernet key, or any passphrase hashed to one) or the key file."""
    if configured:
        raw = configured.encode()
        try:
            if len(base64.urlsafe_b64decode(raw)) == 32:
                return raw
        except ValueError:
            pass
        return base64.urlsafe_b64encode(hashlib.sha256(raw).digest())
    return _key_file(data_dir / KEY_FILE_NAME)


def _key_file(path: Path) -> bytes:
    """Read the key file, creating it (mode 0600, exclusively) on first use."""
    from cryptography.fernet import Fernet

    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    key = Fernet.generate_key()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key


class SecretManagerStore:
    """Google Secret Manager over REST: one secret per connection, one enabled version at a time."""

    def __init__(self, project: str | None = None, endpoint: str | None = None, credentials: Any = None):
        from google.cloud import secretmanager

        self.project = project or settings.GCP_PROJECT_ID
        endpoint = endpoint if endpoint is not None else settings.GCP_API_ENDPOINTS.get("secretmanager", "")
        if endpoint and credentials is None:
            from google.auth.credentials import AnonymousCredentials

            credentials = AnonymousCredentials()
        self.client = secretmanager.SecretManagerServiceClient(
            transport="rest", credentials=credentials,
            client_options={"api_endpoint": endpoint} if endpoint else None)

    def _path(self, name: str) -> str:
        return f"projects/{self.project}/secrets/{name}"

    def put(self, name: str, values: dict[str, str]) -> None:
        from google.api_core import exceptions as gexc

        data = json.dumps(values).encode()
        with _google_errors("store"):
            try:
                self.client.create_secret(parent=f"projects/{self.project}", secret_id=name,
                                          secret={"replication": {"automatic": {}}})
            except (gexc.Conflict, gexc.AlreadyExists):
                pass
            version = self.client.add_secret_version(
                parent=self._path(name), payload={"data": data, "data_crc32c": _crc32c(data)})
            self._disable_previous(version.name)

    def _disable_previous(self, version_name: str) -> None:
        from google.api_core import exceptions as gexc

        base, _, number = version_name.rpartition("/")
        if number.isdigit() and int(number) > 1:
            try:
                self.client.disable_secret_version(name=f"{base}/{int(number) - 1}")
            except (gexc.NotFound, gexc.FailedPrecondition):
                pass  # already destroyed or disabled

    def get(self, name: str) -> dict[str, str]:
        from google.api_core import exceptions as gexc

        with _google_errors("read"):
            try:
                answer = self.client.access_secret_version(name=f"{self._path(name)}/versions/latest")
            except gexc.NotFound:
                return {}
        data = answer.payload.data
        if answer.payload.data_crc32c and answer.payload.data_crc32c != _crc32c(data):
            raise ExternalServiceError("The secret store returned corrupted data.", code="secret_unreadable")
        return json.loads(data)

    def delete(self, name: str) -> None:
        from google.api_core import exceptions as gexc

        with _google_errors("delete"):
            try:
                self.client.delete_secret(name=self._path(name))
            except gexc.NotFound:
                pass


@contextlib.contextmanager
def _google_errors(action: str):
    """Turn Google API failures into an ExternalServiceError without echoing request details."""
    from google.api_core import exceptions as gexc
    from google.auth import exceptions as auth_exc

    try:
        yield
    except (gexc.GoogleAPIError, auth_exc.GoogleAuthError) as exc:
        logger.error("Secret Manager %s failed: %s", action, type(exc).__name__)
        raise ExternalServiceError(f"The secret store could not {action} the credentials.",
                                   code="secret_store_error") from None


def _crc32c(data: bytes) -> int:
    import google_crc32c

    return int(google_crc32c.value(data))


def get_secret_store() -> SecretStore:
    """The configured backend: "local" (default) or "secretmanager"."""
    backend = (settings.SECRETS_BACKEND or "local").lower()
    if backend in ("secretmanager", "secret_manager", "gcp"):
        return SecretManagerStore()
    if backend == "local":
        return LocalSecretStore()
    raise ExternalServiceError(f"Unknown SECRETS_BACKEND '{backend}'.", code="misconfigured")


def connection_secrets(connection) -> dict[str, str]:
    """The connection's resolved secret values (for the runner config and adapters only; never for responses)."""
    if not connection.secret_ref:
        return {}
    values = get_secret_store().get(connection.secret_ref)
    return {key: value for key, value in values.items() if key in SECRET_FIELDS and value}


def connection_params(connection) -> dict[str, Any]:
    """The connection's non-secret params under the contract's key names (empty values left out)."""
    params = {key: getattr(connection, field) for key, field in PARAM_FIELDS.items()}
    return {key: value for key, value in params.items() if value not in ("", None)}
