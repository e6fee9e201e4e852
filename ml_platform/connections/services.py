"""Writes and source calls for connections: create, update, delete, test, browse. Services raise; views render."""
from __future__ import annotations

import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from ml_platform.connections import selectors
from ml_platform.connections.schemas import (
    MASK,
    TYPE_SPEC,
    ConnectionCreate,
    ConnectionFields,
    ConnectionTestFields,
    normalize_bucket_path,
    type_errors,
)
from ml_platform.models import Connection, ModelEndpoint, TestStatus
from ml_platform.utils import connection_manager as cm
from ml_platform.utils.connection_manager.local_files import local_path_error
from ml_platform.utils.errors import Conflict, ExternalServiceError, Invalid
from ml_platform.utils.secrets import (
    PARAM_FIELDS,
    connection_params,
    connection_secrets,
    get_secret_store,
    secret_name,
)

logger = logging.getLogger(__name__)
MESSAGE_LIMIT = 1000


def split_fields(source_type: str, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The type's params (with defaults) and the secrets that were actually given (not blank, not the mask)."""
    spec = TYPE_SPEC[source_type]
    params = {key: values.get(key) for key in spec["params"] if values.get(key) not in (None, "")}
    for key, default in spec["defaults"].items():
        params.setdefault(key, default)
    if params.get("bucket_path"):
        params["bucket_path"] = normalize_bucket_path(source_type, params["bucket_path"])
    secrets = {key: values[key] for key in spec["secrets"] if values.get(key) and values[key] != MASK}
    return params, secrets


def _check(source_type: str, params: dict, secret_names: set[str]) -> None:
    errors = type_errors(source_type, params, secret_names)
    if source_type in ("sqlite", "local_files") and params.get("path") and "path" not in errors:
        message = local_path_error(params["path"])
        if message:
            errors["path"] = [message]
    if errors:
        raise Invalid("Some fields are invalid.", errors=errors)


def _check_name(*, project: ModelEndpoint, name: str, exclude_id: int | None = None) -> None:
    same = Connection.objects.filter(model_endpoint=project, name=name)
    if exclude_id:
        same = same.exclude(pk=exclude_id)
    if same.exists():
        raise Invalid("A connection with this name already exists in this project.", code="duplicate_name",
                      errors={"name": ["A connection with this name already exists in this project."]})


def _model_values(params: dict[str, Any]) -> dict[str, Any]:
    """Model field values for every param key (unused ones blank)."""
    values = {field: params.get(key) or "" for key, field in PARAM_FIELDS.items()}
    values["source_port"] = params.get("port") or None
    return values


def _store_secrets(connection: Connection, secrets: dict[str, str]) -> None:
    """Write the connection's secrets (the whole set) and remember which fields are set."""
    name = secret_name(model_id=connection.model_endpoint_id, connection_id=connection.pk)
    get_secret_store().put(name, secrets)
    Connection.objects.filter(pk=connection.pk).update(secret_ref=name, secret_fields=sorted(secrets))
    connection.secret_ref, connection.secret_fields = name, sorted(secrets)


def connection_create(*, project: ModelEndpoint, user, data: ConnectionCreate) -> Connection:
    """Create a connection; its secrets go to the secret store only."""
    source_type = str(data.source_type)
    params, secrets = split_fields(source_type, data.values())
    _check(source_type, params, set(secrets))
    _check_name(project=project, name=data.name)
    try:
        with transaction.atomic():
            connection = Connection.objects.create(
                model_endpoint=project, name=data.name, description=data.description, source_type=source_type,
                created_by=user if user and user.is_authenticated else None, **_model_values(params))
    except IntegrityError:
        raise Invalid("A connection with this name already exists in this project.", code="duplicate_name",
                      errors={"name": ["A connection with this name already exists in this project."]}) from None
    if secrets:
        try:
            _store_secrets(connection, secrets)
        except Exception:
            connection.delete()
            raise
    logger.info("Connection %s created in project %s (%s)", connection.pk, project.pk, source_type)
    return connection


def merge_fields(connection: Connection, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Stored params overlaid with the sent ones (validated), and the secrets that were sent."""
    merged = {**connection_params(connection), **{k: v for k, v in values.items() if k in PARAM_FIELDS}}
    params, new_secrets = split_fields(connection.source_type, {**merged, **values})
    _check(connection.source_type, params, set(connection.secret_fields or []) | set(new_secrets))
    return params, new_secrets


def connection_update(*, connection: Connection, data: ConnectionFields) -> Connection:
    """Update fields; a secret field left out (or blank, or the mask) keeps the stored value."""
    values = data.values()
    source_type = connection.source_type
    if values.get("source_type") not in (None, source_type):
        raise Invalid("The source type of a connection cannot change.",
                      errors={"source_type": ["Create a new connection for another source type."]})
    params, new_secrets = merge_fields(connection, values)
    if "name" in values and not values["name"]:
        raise Invalid("Some fields are invalid.", errors={"name": ["The name cannot be empty."]})
    name = values.get("name") or connection.name
    _check_name(project=connection.model_endpoint, name=name, exclude_id=connection.pk)
    if new_secrets:  # first: a secret store that refuses leaves the whole connection as it was
        _store_secrets(connection, {**connection_secrets(connection), **new_secrets})
    for field, value in _model_values(params).items():
        setattr(connection, field, value)
    connection.name = name
    connection.description = values.get("description", connection.description)
    try:
        with transaction.atomic():
            connection.save()
    except IntegrityError:
        raise Invalid("A connection with this name already exists in this project.", code="duplicate_name",
                      errors={"name": ["A connection with this name already exists in this project."]}) from None
    logger.info("Connection %s updated (secrets changed: %s)", connection.pk, bool(new_secrets))
    return connection


def connection_delete(*, connection: Connection) -> None:
    """Delete the connection and its secret; refused while ETL jobs use it."""
    jobs = selectors.connection_usage(connection=connection)
    if jobs:
        names = ", ".join(job["name"] for job in jobs)
        raise Conflict(f"This connection is used by {len(jobs)} ETL job(s): {names}. Delete or change them first.",
                       code="connection_in_use", extra={"jobs": jobs})
    if connection.secret_ref:
        get_secret_store().delete(connection.secret_ref)
    connection_id = connection.pk
    connection.delete()
    logger.info("Connection %s deleted", connection_id)


def adapter_for(connection: Connection):
    """The source adapter of a saved connection, with its secrets resolved."""
    return cm.get_adapter(connection.source_type, connection_params(connection), connection_secrets(connection))


def test_payload(result: cm.TestResult) -> dict[str, Any]:
    return {"status": "success" if result.ok else "failed", "message": result.message, "details": result.details}


def connection_test(*, connection: Connection, values: dict[str, Any] | None = None) -> dict[str, Any]:
    """Test a saved connection and record when, how and why; with edited `values`, test those unsaved."""
    stored = connection_params(connection)
    if values:
        params, new_secrets = merge_fields(connection, values)
        edited = [key for key in values if key in PARAM_FIELDS and (values[key] or "") != (stored.get(key) or "")]
        if edited or new_secrets:
            secrets = {**connection_secrets(connection), **new_secrets}
            return {**test_payload(cm.test_connection(connection.source_type, params, secrets)), "unsaved": True}
    result = cm.test_connection(connection.source_type, stored, connection_secrets(connection))
    connection.last_test_at = timezone.now()
    connection.last_test_status = TestStatus.SUCCESS if result.ok else TestStatus.FAILED
    connection.last_test_message = result.message[:MESSAGE_LIMIT]
    connection.save(update_fields=["last_test_at", "last_test_status", "last_test_message", "updated_at"])
    logger.info("Connection %s tested: %s", connection.pk, connection.last_test_status)
    return test_payload(result)


def connection_test_unsaved(*, project: ModelEndpoint, data: ConnectionTestFields) -> dict[str, Any]:
    """Test fields before saving; say so when the project already has a connection to the same place."""
    source_type = str(data.source_type)
    params, secrets = split_fields(source_type, data.values())
    _check(source_type, params, set(secrets))
    payload = test_payload(cm.test_connection(source_type, params, secrets))
    duplicate = selectors.connection_find_duplicate(project=project, source_type=source_type, params=params)
    if duplicate is not None:
        payload["duplicate"] = {"connection_id": duplicate.pk, "connection_name": duplicate.name}
        payload["message"] += f" Note: connection '{duplicate.name}' already points at this source."
    return payload


def connection_test_and_fetch(*, connection: Connection) -> dict[str, Any]:
    """Test, then list what the wizard needs next: schemas and tables, or the first page of files."""
    payload = connection_test(connection=connection)
    if payload["status"] != "success":
        return payload
    if connection.is_file_based:
        return {**payload, **connection_browse(connection=connection, action="list_files")}
    schemas = connection_browse(connection=connection, action="list_schemas")["schemas"]
    schema = default_schema(connection) or (schemas[0] if schemas else "")
    tables = connection_browse(connection=connection, action="list_tables", schema=schema)["tables"] \
        if schema in schemas else []
    return {**payload, "schemas": schemas, "schema": schema, "tables": tables}


def default_schema(connection: Connection) -> str:
    """The schema to browse when the request names none."""
    return {"postgresql": connection.source_schema or "public", "mysql": connection.source_database,
            "sqlite": "main", "bigquery": connection.bigquery_dataset, "firestore": "(default)"}.get(
        connection.source_type, "")


BROWSE_ACTIONS = {"list_schemas": cm.TABLE_KINDS, "list_tables": cm.TABLE_KINDS,
                  "describe_table": cm.TABLE_KINDS, "list_files": cm.FILE_KINDS,
                  "detect_file_schema": cm.FILE_KINDS}


def connection_browse(*, connection: Connection, action: str, **kwargs: Any) -> dict[str, Any]:
    """Run one browse action on the source; bad names are 400s, source failures 502s, both readable."""
    if connection.source_type not in BROWSE_ACTIONS[action]:
        kind = "files" if connection.is_file_based else "tables"
        raise Invalid(f"This connection holds {kind}; this action does not apply to it.", code="wrong_source_kind")
    try:
        result = getattr(adapter_for(connection), action)(**kwargs)
    except cm.SourceNotFound as exc:
        raise Invalid(exc.message, code="source_not_found") from None
    except cm.SourceError as exc:
        if exc.code in ("invalid", "unreadable", "forbidden_path"):
            raise Invalid(exc.message, code=exc.code) from None
        code = exc.code if exc.code.startswith("source") else f"source_{exc.code}"
        raise ExternalServiceError(exc.message, code=code) from None
    if action in ("list_schemas", "list_tables"):
        return {action.removeprefix("list_"): result}
    return result
