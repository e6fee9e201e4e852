"""ETL JSON API for the browser: thin views over etl.services / etl.selectors.

`trigger_cloud_run_job` is imported here on purpose: the run service launches through
`ml_platform.etl.api.trigger_cloud_run_job`, the seed's name (its tests patch it here).
"""
from django.views.decorators.http import require_GET, require_POST

from ml_platform import selectors as project_selectors
from ml_platform.etl import catalog, selectors, services, validation
from ml_platform.etl import schemas as s
from ml_platform.etl.runner_api import get_processed_files, job_config, record_processed_file, run_update  # noqa: F401
from ml_platform.etl.scheduling import schedule_describe
from ml_platform.models import RunTrigger
from ml_platform.services import project_etl_config
from ml_platform.utils.auth import api_login_required
from ml_platform.utils.errors import Invalid
from ml_platform.utils.json_api import json_api, parse_body, read_json
from ml_platform.utils.launcher import trigger_cloud_run_job  # noqa: F401 - the seed's launch hook
from ml_platform.utils.warehouse import physical_dataset


def _project(request, model_id):
    return project_selectors.project_get_for_user(user=request.user, project_id=model_id)


def _job(request, source_id):
    return selectors.job_get_for_user(user=request.user, job_id=source_id)


# === Jobs ===

@api_login_required
@require_POST
@json_api
def create_job(request, model_id):
    """The wizard's endpoint: validate against the source and warehouse, then create everything at once."""
    project = _project(request, model_id)
    data = parse_body(request, s.JobIn)
    return services.job_create(project=project, user=request.user, data=data)


@api_login_required
@require_POST
@json_api
def add_source(request, model_id):
    """The seed's short job shape: structure and ownership are checked, the source is not contacted."""
    project = _project(request, model_id)
    data = parse_body(request, s.JobIn)
    created = services.job_create(project=project, user=request.user, data=data, check_source=False)
    return {"source_id": created["job_id"], "job_id": created["job_id"], "job_name": created["job_name"]}


save_draft_source = add_source  # the legacy wizard's "save" goes through the same service


@api_login_required
@require_POST
@json_api
def check_job_name(request, model_id):
    """Is this job name free in the project?"""
    project = _project(request, model_id)
    data = parse_body(request, s.CheckNameIn)
    name = data.name.strip()
    taken = bool(name) and selectors.job_name_taken(etl_config=project_etl_config(project=project), name=name,
                                                    exclude_id=data.exclude_id)
    message = "Enter a name." if not name else ("This name is already used." if taken else "The name is free.")
    return {"available": bool(name) and not taken, "exists": taken, "message": message}


@api_login_required
@require_GET
@json_api
def get_source(request, source_id):
    """A job with its tables and schedule; never any secret."""
    job = _job(request, source_id)
    return {"source": {**selectors.job_as_dict(job), "schedule": schedule_describe(job=job)}}


@api_login_required
@require_POST
@json_api
def edit_source(request, source_id):
    """Edit name, schedule, columns, tables; added columns are added to the destination."""
    job = _job(request, source_id)
    data = parse_body(request, s.JobEditIn)
    job = services.job_edit(job=job, data=data)
    return {"source": selectors.job_as_dict(job), "schedule": schedule_describe(job=job)}


update_source = edit_source  # legacy twin


@api_login_required
@require_POST
@json_api
def delete_source(request, source_id):
    """Delete the job and its schedule; destination tables (and run history unless asked) stay."""
    job = _job(request, source_id)
    data = parse_body(request, s.DeleteIn)
    services.job_delete(job=job, delete_runs=data.delete_runs)
    return {"message": "The job was deleted."}


@api_login_required
@require_POST
@json_api
def toggle_pause(request, source_id):
    """Pause or resume one job's schedule."""
    job = _job(request, source_id)
    data = parse_body(request, s.TogglePauseIn)
    job = services.job_toggle_pause(job=job, paused=data.paused)
    return {"is_paused": job.is_paused, "schedule": schedule_describe(job=job)}


@api_login_required
@require_POST
@json_api
def toggle_enabled(request, model_id):
    """Enable or disable all of the project's schedules."""
    project = _project(request, model_id)
    data = parse_body(request, s.ToggleEnabledIn)
    etl_config = services.project_toggle_enabled(project=project, enabled=data.enabled)
    return {"is_enabled": etl_config.is_enabled}


@api_login_required
@require_GET
@json_api
def get_connections(request, model_id):
    """The project's connections (no secrets), for the wizard."""
    from ml_platform.connections.selectors import connection_list, connection_payload

    project = _project(request, model_id)
    return {"connections": [connection_payload(c) for c in connection_list(project=project)]}


@api_login_required
@require_GET
@json_api
def available_columns(request, source_id):
    """Source columns of a job table (with proposed types), marked selected or not, and the destination's."""
    job = _job(request, source_id)
    table = services.job_table_for(job=job, table_id=_int_param(request, "table_id"))
    if job.connection is None or table.is_file_based:
        raise Invalid("Columns can only be listed for database tables with a connection.", code="not_a_table")
    from ml_platform.utils.connection_manager import SourceError

    try:
        source = validation.describe_source_table(job.connection, table.schema_name, table.source_table_name)
    except SourceError as exc:
        raise Invalid(f"The source could not be read: {exc.message}", code="source_error") from exc
    selected = set(table.selected_columns)
    dest, _ = catalog.catalog_table_columns(project_id=job.etl_config.model_endpoint_id,
                                            dataset=table.dest_dataset, table=table.dest_table_name)
    return {"table_id": table.pk,
            "columns": [{**c, "selected": not selected or c["name"] in selected} for c in source.columns],
            "destination_columns": dest or []}


def _int_param(request, name: str) -> int | None:
    value = request.GET.get(name, "")
    if not value:
        return None
    if not value.isdigit():
        raise Invalid("Invalid parameter.", errors={name: ["Must be a number."]})
    return int(value)


# === Runs ===

def _run_answer(run) -> dict:
    return {"run_id": run.pk, "execution_id": run.execution_id, "run_status": run.status,
            "error_message": run.error_message}


@api_login_required
@require_POST
@json_api
def run_source(request, source_id):
    """Start a run of one job (options: tables, full_refresh); 409 while one is active."""
    return _start_job_run(request, source_id)


def _options_body(request, schema):
    """JSON options, or none: a bare form POST (the seed's "Run" button) carries no options."""
    if request.content_type == "application/json" or not request.body.strip():
        return parse_body(request, schema)
    return schema.model_validate(request.POST.dict())


def _start_job_run(request, source_id) -> dict:
    job = _job(request, source_id)
    data = _options_body(request, s.RunStartIn)
    run = services.run_start(job=job, trigger=RunTrigger.MANUAL, user=request.user, tables=data.tables,
                             full_refresh=data.full_refresh)
    return _run_answer(run)


@api_login_required
@require_POST
@json_api
def trigger_now(request, data_source_id):
    """Same as run_source (the seed's second name for it)."""
    return _start_job_run(request, data_source_id)


@api_login_required
@require_POST
@json_api
def run_now(request, model_id):
    """Start every unpaused job of the project."""
    project = _project(request, model_id)
    return services.runs_start_for_project(project=project, user=request.user)


@api_login_required
@require_GET
@json_api
def run_status(request, run_id):
    """Everything about a run; `status` and `total_rows_extracted` at the top level."""
    run = selectors.run_get_for_user(user=request.user, run_id=run_id)
    detail = selectors.run_as_dict(run)
    return {**detail, "run": detail}


@api_login_required
@require_POST
@json_api
def run_cancel(request, run_id):
    """Stop the runner and mark the run cancelled."""
    run = selectors.run_get_for_user(user=request.user, run_id=run_id)
    run = services.run_cancel(run=run)
    return {"run_id": run.pk, "run_status": run.status}


# === Warehouse ===

@api_login_required
@require_GET
@json_api
def list_bq_tables(request, dataset_id):
    """Tables of one of the project's own datasets (`?model_id=`)."""
    model_id = _int_param(request, "model_id")
    if model_id is None:
        raise Invalid("model_id is required.", errors={"model_id": ["This field is required."]})
    project = _project(request, model_id)
    physical_dataset(project.pk, dataset_id)  # validates the dataset name
    tables, from_catalog = catalog.catalog_list_tables(project_id=project.pk, dataset=dataset_id)
    return {"dataset": dataset_id, "tables": tables, "from_catalog": from_catalog}


@api_login_required
@require_POST
@json_api
def validate_schema_compatibility(request):
    """Compare source columns with an existing destination: columns to add, missing, mismatches, blockers."""
    data = parse_body(request, s.SchemaCompatibilityIn)
    project = _project(request, data.model_id)
    dest, from_catalog = catalog.catalog_table_columns(project_id=project.pk, dataset=data.dest_dataset,
                                                       table=data.dest_table_name)
    columns = [c.model_dump() for c in data.columns]
    if dest is None:
        return {"table_exists": False, "columns_to_add": columns, "missing_columns": [], "type_mismatches": [],
                "blocking_errors": [], "compatible": True, "from_catalog": from_catalog}
    return {"table_exists": True, **validation.compare_schemas(columns, dest), "from_catalog": from_catalog}


# === Connection tests (legacy routes, same services as the connections sub-app) ===

@api_login_required
@require_POST
@json_api
def test_connection(request, source_id):
    """Test the job's connection and record the result."""
    from ml_platform.connections.services import connection_test

    job = _job(request, source_id)
    if job.connection is None:
        raise Invalid("The job has no connection.", code="no_connection")
    return connection_test(connection=job.connection)


@api_login_required
@require_POST
@json_api
def test_connection_wizard(request):
    """Test unsaved connection fields; the body names the project with `model_id`."""
    from ml_platform.connections.schemas import ConnectionTestFields
    from ml_platform.connections.services import connection_test_unsaved

    body = read_json(request)
    if not isinstance(body, dict):
        raise Invalid("The request body must be a JSON object.", code="malformed_json")
    model_id = body.pop("model_id", None)
    if not isinstance(model_id, int) or isinstance(model_id, bool):
        raise Invalid("model_id is required.", errors={"model_id": ["This field is required."]})
    project = _project(request, model_id)
    return connection_test_unsaved(project=project, data=ConnectionTestFields.model_validate(body))
