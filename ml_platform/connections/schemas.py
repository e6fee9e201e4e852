"""Request bodies of the connection APIs (flat fields, unknown keys refused) and the per-type field rules."""
from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from ml_platform.models import SourceType

MASK = "********"
SSL_MODES = ("", "disable", "allow", "prefer", "require", "verify-ca", "verify-full")
HOST_RE = re.compile(r"^[A-Za-z0-9._\-:\[\]]+$")
URL_RE = re.compile(r"^https?://[A-Za-z0-9._\-\[\]:]+(/[^\s]*)?$")
BUCKET_SCHEMES = {"gcs": ("gs",), "s3": ("s3", "s3a"), "azure_blob": ("az", "azure", "")}
BUCKET_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._\-]{1,221}[a-z0-9]$")

# Per source type: the non-secret fields it uses, the required ones, its secret fields, and defaults.
TYPE_SPEC: dict[str, dict[str, Any]] = {
    "postgresql": {"params": ("host", "port", "database", "schema", "username", "sslmode"),
                   "required": ("host", "database", "username"), "secrets": ("password",),
                   "defaults": {"port": 5432, "schema": "public", "sslmode": "prefer"}},
    "mysql": {"params": ("host", "port", "database", "username", "sslmode"),
              "required": ("host", "database", "username"), "secrets": ("password",), "defaults": {"port": 3306}},
    "sqlite": {"params": ("path",), "required": ("path",), "secrets": (), "defaults": {}},
    "local_files": {"params": ("path",), "required": ("path",), "secrets": (), "defaults": {}},
    "gcs": {"params": ("bucket_path", "project_id", "endpoint_url"), "required": ("bucket_path",),
            "secrets": ("service_account_json",), "defaults": {}},
    "s3": {"params": ("bucket_path", "aws_region", "endpoint_url"), "required": ("bucket_path",),
           "secrets": ("aws_access_key_id", "aws_secret_access_key"), "defaults": {"aws_region": "us-east-1"}},
    "azure_blob": {"params": ("azure_storage_account", "bucket_path", "endpoint_url"), "required": ("bucket_path",),
                   "secrets": ("azure_account_key", "azure_sas_token", "connection_string"), "defaults": {}},
    "bigquery": {"params": ("project_id", "dataset", "endpoint_url"), "required": ("project_id",),
                 "secrets": ("service_account_json",), "defaults": {}},
    "firestore": {"params": ("project_id", "endpoint_url"), "required": ("project_id",),
                  "secrets": ("service_account_json",), "defaults": {}},
}
PARAM_KEYS = ("host", "port", "database", "schema", "username", "sslmode", "path", "bucket_path", "aws_region",
              "endpoint_url", "azure_storage_account", "project_id", "dataset")
SECRET_KEYS = ("password", "service_account_json", "aws_access_key_id", "aws_secret_access_key",
               "azure_account_key", "azure_sas_token", "connection_string")


def _text(max_length: int = 255, **kwargs: Any):
    return Field("", max_length=max_length, **kwargs)


class ConnectionFields(BaseModel):
    """The flat connection fields shared by create, update and test-wizard (all optional here)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = _text(120)
    source_type: SourceType | None = None
    description: str = _text(2000)
    host: str = _text()
    port: int | None = Field(None, ge=1, le=65535)
    database: str = _text()
    db_schema: str = Field("", max_length=255, validation_alias="schema")
    username: str = _text()
    password: str = _text(1024)
    sslmode: Literal[SSL_MODES] = ""  # type: ignore[valid-type]
    path: str = _text(1024)
    bucket_path: str = _text(1024)
    service_account_json: str = _text(20_000)
    aws_access_key_id: str = _text(256)
    aws_secret_access_key: str = _text(1024)
    aws_region: str = Field("", max_length=64, pattern=r"^([a-z]{2}(-[a-z]+)+-\d)?$")
    endpoint_url: str = _text(512)
    azure_storage_account: str = Field("", max_length=24, pattern=r"^[a-z0-9]*$")
    azure_account_key: str = _text(512)
    azure_sas_token: str = _text(4096)
    connection_string: str = _text(4096)
    project_id: str = Field("", max_length=63, pattern=r"^([a-z][a-z0-9\-.:]{3,62})?$")
    dataset: str = Field("", max_length=1024, pattern=r"^[A-Za-z0-9_]*$")

    @field_validator("*", mode="before")
    @classmethod
    def _none_and_blank(cls, value: Any, info) -> Any:
        if info.field_name == "port" and value == "":
            return None
        if value is None and info.field_name not in ("port", "source_type"):
            return ""
        return value

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        if value and not HOST_RE.match(value):
            raise ValueError("Enter a host name or IP address (no scheme, path or spaces).")
        return value

    @field_validator("service_account_json")
    @classmethod
    def _service_account(cls, value: str) -> str:
        if value and value != MASK:
            check_service_account_json(value)
        return value

    def values(self) -> dict[str, Any]:
        """The fields that were sent, under their request names."""
        data = self.model_dump(exclude_unset=True)
        if "db_schema" in data:
            data["schema"] = data.pop("db_schema")
        return data


class ConnectionCreate(ConnectionFields):
    """Create and create-standalone: name and source type are required."""

    name: str = Field(min_length=1, max_length=120)
    source_type: SourceType


class ConnectionTestFields(ConnectionFields):
    """Test-wizard: unsaved fields, the source type required."""

    source_type: SourceType


def check_service_account_json(value: str) -> None:
    """A Google credentials JSON object (service account: with client_email and private_key)."""
    try:
        data = json.loads(value)
    except ValueError:
        raise ValueError("Not valid JSON: paste the whole key file.") from None
    if not isinstance(data, dict) or "type" not in data:
        raise ValueError("Expected a Google credentials JSON object with a \"type\".")
    if data["type"] == "service_account" and not all(data.get(k) for k in ("client_email", "private_key")):
        raise ValueError("A service-account key needs client_email and private_key.")


def type_errors(source_type: str, params: dict[str, Any], secrets_set: set[str]) -> dict[str, list[str]]:
    """Field errors for one source type: required fields, bucket paths, endpoints, credential pairs."""
    spec, errors = TYPE_SPEC[source_type], {}
    for key in spec["required"]:
        if params.get(key) in (None, ""):
            errors[key] = ["This field is required for this source type."]
    if params.get("bucket_path") and source_type in BUCKET_SCHEMES:
        message = bucket_path_error(source_type, params["bucket_path"])
        if message:
            errors["bucket_path"] = [message]
    if params.get("path") and not params["path"].startswith("/"):
        errors["path"] = ["Enter an absolute path on the server."]
    endpoint = params.get("endpoint_url") or ""
    if endpoint and not URL_RE.match(endpoint) and not (source_type == "firestore" and HOST_RE.match(endpoint)):
        errors["endpoint_url"] = ["Enter an http(s):// URL."]
    errors.update(_credential_errors(source_type, params, secrets_set))
    return errors


def _credential_errors(source_type: str, params: dict, secrets_set: set[str]) -> dict[str, list[str]]:
    if source_type == "s3" and len(secrets_set & {"aws_access_key_id", "aws_secret_access_key"}) == 1:
        missing = ({"aws_access_key_id", "aws_secret_access_key"} - secrets_set).pop()
        return {missing: ["Give both the access key id and the secret access key."]}
    if source_type == "azure_blob" and "connection_string" not in secrets_set:
        errors = {}
        if not secrets_set & {"azure_account_key", "azure_sas_token"}:
            errors["azure_account_key"] = ["Give an account key, a SAS token or a connection string."]
        if not params.get("azure_storage_account") and not params.get("endpoint_url"):
            errors["azure_storage_account"] = ["This field is required without a connection string."]
        return errors
    return {}


def bucket_path_error(source_type: str, value: str) -> str | None:
    """Why a bucket path is malformed for this type, or None."""
    schemes = BUCKET_SCHEMES[source_type]
    scheme, sep, rest = value.partition("://")
    if not sep:
        scheme, rest = "", value
    example = {"gcs": "gs://bucket/prefix", "s3": "s3://bucket/prefix", "azure_blob": "az://container/prefix"}
    if scheme not in schemes or not rest:
        return f"Expected a path like {example[source_type]}."
    bucket = rest.split("/", 1)[0]
    if not BUCKET_NAME_RE.match(bucket) or ".." in rest or "//" in rest:
        return f"'{bucket[:80]}' is not a valid bucket or container name."
    return None


def normalize_bucket_path(source_type: str, value: str) -> str:
    """Azure paths are stored as az://container/prefix."""
    if source_type == "azure_blob" and value and "://" not in value:
        return f"az://{value.strip('/')}"
    return value


def _relative_path(value: str) -> str:
    if "\x00" in value or value.startswith("/") or any(part == ".." for part in value.split("/")):
        raise ValueError("Use a path relative to the connection's folder or bucket, without '..'.")
    return value


class SchemaQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    schema_name: str = Field("", max_length=255, validation_alias=AliasChoices("schema", "schema_name"))


class TablePreviewQuery(SchemaQuery):
    table_name: str = Field(min_length=1, max_length=1024, validation_alias=AliasChoices("table", "table_name"))


class ListFilesQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prefix: str = Field("", max_length=1024)
    pattern: str = Field("", max_length=255)
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(50, ge=1, le=500)

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        return _relative_path(value)


class DetectSchemaQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(min_length=1, max_length=1024, validation_alias=AliasChoices("path", "file_path"))
    file_format: Literal["", "csv", "parquet", "json"] = Field(
        "", validation_alias=AliasChoices("file_format", "format"))
    delimiter: str = Field("", max_length=1)
    has_header: bool = True
    encoding: Literal["", "utf8", "utf-8", "latin1", "utf16"] = ""

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        return _relative_path(value)

    def options(self) -> dict[str, Any]:
        return {"delimiter": self.delimiter, "has_header": self.has_header,
                "encoding": self.encoding.replace("utf-8", "utf8")}
