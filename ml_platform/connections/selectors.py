"""Reads of connections, always scoped to the requesting user's projects; the masked response shape."""
from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from ml_platform.connections.schemas import MASK, PARAM_KEYS, TYPE_SPEC
from ml_platform.models import Connection, DataSource, ModelEndpoint
from ml_platform.selectors import projects_for_user
from ml_platform.utils.secrets import PARAM_FIELDS


def connection_list(*, project: ModelEndpoint) -> QuerySet[Connection]:
    """The project's connections by name."""
    return Connection.objects.filter(model_endpoint=project).order_by("name")


def connection_get_for_user(*, user, connection_id: int) -> Connection:
    """A connection of one of the user's projects, or 404."""
    connection = (Connection.objects.filter(pk=connection_id, model_endpoint__in=projects_for_user(user))
                  .select_related("model_endpoint").first())
    if connection is None:
        raise Http404("Connection not found")
    return connection


def connection_jobs(*, connection: Connection) -> QuerySet[DataSource]:
    """The ETL jobs that read from this connection."""
    return DataSource.objects.filter(connection=connection).order_by("name")


def connection_usage(*, connection: Connection) -> list[dict[str, Any]]:
    """The jobs using the connection, as small dicts."""
    return [{"id": job.id, "name": job.name, "is_paused": job.is_paused}
            for job in connection_jobs(connection=connection)]


def connection_params_view(connection: Connection) -> dict[str, Any]:
    """The non-secret fields under their request names (every key present, empty when unused)."""
    values = {key: getattr(connection, PARAM_FIELDS[key]) for key in PARAM_KEYS}
    values["port"] = connection.source_port
    return values


def connection_secret_flags(connection: Connection) -> dict[str, Any]:
    """For each secret field of the type: the mask when set, plus has_<field>. Never the value."""
    stored = set(connection.secret_fields or [])
    flags: dict[str, Any] = {}
    for key in TYPE_SPEC.get(connection.source_type, {}).get("secrets", ()):
        flags[key] = MASK if key in stored else ""
        flags[f"has_{key}"] = key in stored
    return flags


def connection_payload(connection: Connection, *, jobs_count: int | None = None) -> dict[str, Any]:
    """A connection as the APIs show it: fields, masked secrets, last test."""
    payload = {
        "id": connection.id, "name": connection.name, "description": connection.description,
        "source_type": connection.source_type, "source_type_display": connection.get_source_type_display(),
        "model_id": connection.model_endpoint_id, "is_file_based": connection.is_file_based,
        **connection_params_view(connection), **connection_secret_flags(connection),
        "last_test_at": connection.last_test_at.isoformat() if connection.last_test_at else None,
        "last_test_status": connection.last_test_status, "last_test_message": connection.last_test_message,
        "created_at": connection.created_at.isoformat(), "updated_at": connection.updated_at.isoformat(),
    }
    if jobs_count is not None:
        payload["jobs_count"] = jobs_count
    return payload


def connection_find_duplicate(*, project: ModelEndpoint, source_type: str, params: dict[str, Any],
                              exclude_id: int | None = None) -> Connection | None:
    """An existing connection of the project pointing at the same place with the same user."""
    lookup = {"source_type": source_type}
    keys = {"postgresql": ("host", "port", "database", "username"), "mysql": ("host", "port", "database", "username"),
            "sqlite": ("path",), "local_files": ("path",), "gcs": ("bucket_path",), "s3": ("bucket_path",),
            "azure_blob": ("bucket_path", "azure_storage_account"), "bigquery": ("project_id", "dataset"),
            "firestore": ("project_id",)}[source_type]
    for key in keys:
        value = params.get(key)
        lookup[PARAM_FIELDS[key]] = value if value not in (None, "") or key == "port" else ""
    found = Connection.objects.filter(model_endpoint=project, **lookup)
    if exclude_id:
        found = found.exclude(pk=exclude_id)
    return found.first()
