"""Connection JSON APIs: thin views that parse, call a selector or service, and return a dict."""
from __future__ import annotations

from django.http import HttpRequest
from django.views.decorators.http import require_http_methods

from ml_platform.connections import selectors, services
from ml_platform.connections.schemas import (
    ConnectionCreate,
    ConnectionFields,
    ConnectionTestFields,
    DetectSchemaQuery,
    ListFilesQuery,
    SchemaQuery,
    TablePreviewQuery,
)
from ml_platform.selectors import project_get_for_user
from ml_platform.utils.auth import api_login_required
from ml_platform.utils.json_api import json_api, parse_body, parse_query

READ = ["GET"]
WRITE = ["POST"]
BROWSE = ["GET", "POST"]


def _params(request: HttpRequest, schema):
    """Browse parameters from the query string (GET) or the JSON body (POST)."""
    return parse_body(request, schema) if request.method == "POST" else parse_query(request, schema)


def _connection(request: HttpRequest, connection_id: int):
    return selectors.connection_get_for_user(user=request.user, connection_id=connection_id)


@api_login_required
@require_http_methods(WRITE)
@json_api
def test_wizard(request: HttpRequest, model_id: int) -> dict:
    """Test unsaved connection fields (200 with status "failed" when the source said no)."""
    project = project_get_for_user(user=request.user, project_id=model_id)
    data = parse_body(request, ConnectionTestFields)
    return services.connection_test_unsaved(project=project, data=data)


@api_login_required
@require_http_methods(WRITE)
@json_api
def create(request: HttpRequest, model_id: int) -> dict:
    """Create a connection in the project."""
    project = project_get_for_user(user=request.user, project_id=model_id)
    data = parse_body(request, ConnectionCreate)
    connection = services.connection_create(project=project, user=request.user, data=data)
    return {"connection_id": connection.pk, "connection_name": connection.name,
            "connection": selectors.connection_payload(connection)}


@api_login_required
@require_http_methods(READ)
@json_api
def list_connections(request: HttpRequest, model_id: int) -> dict:
    """The project's connections, secrets masked."""
    project = project_get_for_user(user=request.user, project_id=model_id)
    return {"connections": [selectors.connection_payload(c) for c in selectors.connection_list(project=project)]}


@api_login_required
@require_http_methods(READ)
@json_api
def get(request: HttpRequest, connection_id: int) -> dict:
    """One connection, secrets masked, with how many jobs use it."""
    connection = _connection(request, connection_id)
    jobs = selectors.connection_jobs(connection=connection).count()
    return {"connection": selectors.connection_payload(connection, jobs_count=jobs)}


@api_login_required
@require_http_methods(READ)
@json_api
def get_credentials(request: HttpRequest, connection_id: int) -> dict:
    """The non-secret fields and which secrets are set (never their values)."""
    connection = _connection(request, connection_id)
    return {"credentials": {"source_type": connection.source_type,
                            **selectors.connection_params_view(connection),
                            **selectors.connection_secret_flags(connection)}}


@api_login_required
@require_http_methods(WRITE)
@json_api
def test(request: HttpRequest, connection_id: int) -> dict:
    """Test a saved connection and record the result (edited fields in the body are tested, not saved)."""
    connection = _connection(request, connection_id)
    values = parse_body(request, ConnectionFields).values()
    payload = services.connection_test(connection=connection, values=values)
    return {**payload, "connection": selectors.connection_payload(connection)}


@api_login_required
@require_http_methods(WRITE)
@json_api
def test_and_fetch_tables(request: HttpRequest, connection_id: int) -> dict:
    """Test a saved connection, then list its schemas and tables (or its first files)."""
    return services.connection_test_and_fetch(connection=_connection(request, connection_id))


@api_login_required
@require_http_methods(["POST", "PUT", "PATCH"])
@json_api
def update(request: HttpRequest, connection_id: int) -> dict:
    """Update a connection; secret fields left out keep their stored values."""
    connection = _connection(request, connection_id)
    data = parse_body(request, ConnectionFields)
    connection = services.connection_update(connection=connection, data=data)
    return {"connection_id": connection.pk, "connection_name": connection.name,
            "connection": selectors.connection_payload(connection)}


@api_login_required
@require_http_methods(READ)
@json_api
def get_usage(request: HttpRequest, connection_id: int) -> dict:
    """The ETL jobs that use this connection."""
    jobs = selectors.connection_usage(connection=_connection(request, connection_id))
    return {"jobs": jobs, "count": len(jobs), "in_use": bool(jobs)}


@api_login_required
@require_http_methods(["POST", "DELETE"])
@json_api
def delete(request: HttpRequest, connection_id: int) -> dict:
    """Delete a connection and its secret (409 listing the jobs while any uses it)."""
    connection = _connection(request, connection_id)
    services.connection_delete(connection=connection)
    return {"message": "Connection deleted."}


@api_login_required
@require_http_methods(BROWSE)
@json_api
def fetch_schemas(request: HttpRequest, connection_id: int) -> dict:
    """Schemas (datasets, databases) of a table-like source."""
    return services.connection_browse(connection=_connection(request, connection_id), action="list_schemas")


@api_login_required
@require_http_methods(BROWSE)
@json_api
def fetch_tables_for_schema(request: HttpRequest, connection_id: int) -> dict:
    """Tables of one schema with estimated row counts from the catalog."""
    connection = _connection(request, connection_id)
    schema = _params(request, SchemaQuery).schema_name or services.default_schema(connection)
    result = services.connection_browse(connection=connection, action="list_tables", schema=schema)
    return {"schema": schema, **result}


@api_login_required
@require_http_methods(BROWSE)
@json_api
def fetch_table_preview(request: HttpRequest, connection_id: int) -> dict:
    """Columns with proposed warehouse types, keys, cursor suggestion and up to 20 sample rows."""
    connection = _connection(request, connection_id)
    query = _params(request, TablePreviewQuery)
    schema = query.schema_name or services.default_schema(connection)
    result = services.connection_browse(connection=connection, action="describe_table", schema=schema,
                                        table=query.table_name)
    return {"schema": schema, "table": query.table_name, **result}


@api_login_required
@require_http_methods(BROWSE)
@json_api
def list_files(request: HttpRequest, connection_id: int) -> dict:
    """One page of files (newest first) under a prefix, filtered by a glob pattern."""
    connection = _connection(request, connection_id)
    query = _params(request, ListFilesQuery)
    return services.connection_browse(connection=connection, action="list_files", **query.model_dump())


@api_login_required
@require_http_methods(BROWSE)
@json_api
def detect_file_schema(request: HttpRequest, connection_id: int) -> dict:
    """Columns, types, sample values and a fingerprint from a bounded sample of one file."""
    connection = _connection(request, connection_id)
    query = _params(request, DetectSchemaQuery)
    return services.connection_browse(connection=connection, action="detect_file_schema", path=query.path,
                                      file_format=query.file_format, options=query.options())


@api_login_required
@require_http_methods(WRITE)
@json_api
def test_in_wizard(request: HttpRequest, connection_id: int) -> dict:
    """The ETL wizard's check of a saved connection: test, then what to pick from next."""
    return services.connection_test_and_fetch(connection=_connection(request, connection_id))
