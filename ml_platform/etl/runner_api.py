"""The runner's API: job config, run updates and the file ledger. Bearer run token only, never a session."""
from __future__ import annotations

import functools

from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ml_platform.etl import runs, selectors, tokens
from ml_platform.etl.runner_config import build_job_config
from ml_platform.etl.schemas import ProcessedFileIn, ProcessedFilesQuery, RunUpdateIn
from ml_platform.models import ETLRun, RunStatus
from ml_platform.utils.errors import Conflict, Invalid, PermissionDenied, Unauthorized
from ml_platform.utils.json_api import json_api, parse_body, parse_query


def _bearer(request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("A run token is required.", code="missing_token")
    return token.strip()


def runner_token_required(*, url_names_run: bool):
    """Verify the bearer token and that it names the run (or the job) in the URL; pass the run on."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(request, **kwargs):
            run_id, job_id = tokens.run_token_verify(_bearer(request))
            run = ETLRun.objects.filter(pk=run_id).select_related("data_source").first()
            if run is None or run.data_source_id != job_id:
                raise Unauthorized("The run token is not valid.", code="invalid_token")
            url_id = kwargs.pop("run_id") if url_names_run else kwargs.pop("data_source_id")
            if url_id != (run.pk if url_names_run else run.data_source_id):
                raise PermissionDenied("This token does not open that run or job.", code="wrong_run")
            return view(request, run=run, **kwargs)

        return csrf_exempt(json_api(wrapper))

    return decorate


def _require_active(run: ETLRun) -> None:
    if not run.is_active:
        raise Conflict(f"Run {run.pk} is already {run.status}.", code="run_finished")


@require_GET
@runner_token_required(url_names_run=False)
def job_config(request, run):
    """The run's job config (v1); a job that cannot be built fails the run with the reason."""
    _require_active(run)
    try:
        config = build_job_config(run)
    except Invalid as exc:
        ETLRun.objects.filter(pk=run.pk, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).update(
            status=RunStatus.FAILED, error_type="ConfigError", error_message=exc.message,
            finished_at=timezone.now())
        raise
    return {"config": config}


@require_POST
@runner_token_required(url_names_run=True)
def run_update(request, run):
    """Phase, heartbeat, progress, per-table results, final status; 409 once the run has finished."""
    update = parse_body(request, RunUpdateIn)
    run = runs.run_apply_update(run_id=run.pk, update=update)
    return {"run_status": run.status}


@require_GET
@runner_token_required(url_names_run=False)
def get_processed_files(request, run):
    """Django's mirror of the job's file ledger."""
    query = parse_query(request, ProcessedFilesQuery)
    return {"files": selectors.processed_files_for_job(job=run.data_source, table_id=query.table_id)}


@require_http_methods(["POST"])
@runner_token_required(url_names_run=False)
def record_processed_file(request, run):
    """Mirror one loaded file version; only while the run is active."""
    _require_active(run)
    data = parse_body(request, ProcessedFileIn)
    record = runs.run_record_processed_file(run=run, data=data)
    return {"file_id": record.pk}
