"""Run lifecycle: start (commit, then launch), runner updates, cancel, file ledger mirror, stale-run reaper.

queued -> running (the launcher accepted the execution) -> completed | partial | failed | cancelled.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from ml_platform.etl import tokens
from ml_platform.etl.schemas import ProcessedFileIn, RunUpdateIn, TableResultIn
from ml_platform.models import (
    ACTIVE_RUN_STATUSES,
    DataSource,
    DataSourceTable,
    ETLRun,
    ProcessedFile,
    RunStatus,
    RunTrigger,
)
from ml_platform.utils import launcher as launchers
from ml_platform.utils.errors import Conflict, ExternalServiceError, Invalid

logger = logging.getLogger(__name__)
FINAL_UPDATE_STATUSES = ("completed", "partial", "failed")
RUNNER_LOST = "runner lost: no heartbeat"
EXITED_GRACE_SECONDS = 30


def run_start(*, job: DataSource, trigger: str = RunTrigger.MANUAL, user=None, tables: list[int] | None = None,
              full_refresh: bool = False, scheduled_for: datetime | None = None) -> ETLRun:
    """Create the run (committed), then launch the runner; Conflict while another run of the job is active."""
    if scheduled_for is not None:
        seen = ETLRun.objects.filter(data_source=job, scheduled_for=scheduled_for).first()
        if seen is not None:
            return seen
    table_ids = _checked_table_ids(job=job, tables=tables)
    run = _run_create(job=job, trigger=trigger, user=user, scheduled_for=scheduled_for,
                      options={"tables": table_ids, "full_refresh": bool(full_refresh)})
    _launch(run)
    run.refresh_from_db()
    return run


def _checked_table_ids(*, job: DataSource, tables: list[int] | None) -> list[int] | None:
    if not tables:
        return None
    known = set(job.tables.values_list("pk", flat=True))
    unknown = sorted(set(tables) - known)
    if unknown:
        raise Invalid("Some tables are not part of this job.",
                      errors={"tables": [f"Unknown table id {i}." for i in unknown]})
    return sorted(set(tables))


def _run_create(*, job: DataSource, trigger: str, user, scheduled_for, options: dict) -> ETLRun:
    """Insert the queued run; the one-active-run constraint turns a concurrent start into Conflict."""
    try:
        with transaction.atomic():
            return ETLRun.objects.create(
                etl_config=job.etl_config, model_endpoint_id=job.etl_config.model_endpoint_id, data_source=job,
                job_name=job.name, status=RunStatus.QUEUED, trigger=trigger, scheduled_for=scheduled_for,
                triggered_by=user if user is not None and user.is_authenticated else None, options=options,
            )
    except IntegrityError:
        if scheduled_for is not None:
            seen = ETLRun.objects.filter(data_source=job, scheduled_for=scheduled_for).first()
            if seen is not None:
                return seen
        active = ETLRun.objects.filter(data_source=job, status__in=ACTIVE_RUN_STATUSES).first()
        if active is None:
            raise
        raise Conflict(f"Job '{job.name}' already has an active run ({active.pk}).", code="run_active",
                       extra={"active_run_id": active.pk}) from None


def _launch(run: ETLRun) -> None:
    """Ask the launcher (through the seed's `ml_platform.etl.api.trigger_cloud_run_job`) to start the runner."""
    # Claim the launch: concurrent starts that returned the same run (a repeated scheduler delivery) must not
    # start a second runner. Only the caller whose conditional update changed the row launches.
    claimed = ETLRun.objects.filter(pk=run.pk, status=RunStatus.QUEUED, launcher="").update(
        launcher=settings.LAUNCHER_BACKEND)
    if not claimed:
        return
    from ml_platform.etl import api as etl_api  # looked up at call time so tests can patch it

    token = tokens.run_token_mint(run)
    try:
        result = etl_api.trigger_cloud_run_job(run_id=run.pk, data_source_id=run.data_source_id, token=token)
        if not result or not result.get("success"):
            raise RuntimeError((result or {}).get("error") or "the launcher refused the run")
    except Exception as exc:  # noqa: BLE001 - any launch failure is recorded on the run, never a 500
        logger.warning("launch of run %s failed: %s", run.pk, type(exc).__name__)
        ETLRun.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(
            status=RunStatus.FAILED, error_type="LaunchError", error_message=f"Could not start the runner: {exc}",
            finished_at=timezone.now())
        return
    ETLRun.objects.filter(pk=run.pk).update(
        execution_id=str(result.get("execution_id") or ""), log_location=str(result.get("log_location") or ""),
        launcher=str(result.get("launcher") or settings.LAUNCHER_BACKEND))
    ETLRun.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING, started_at=timezone.now(), last_heartbeat_at=timezone.now())


def runs_start_for_project(*, project, user) -> dict:
    """Start a run of every unpaused job of the project; jobs already running are reported, not restarted."""
    started, skipped = [], []
    jobs = DataSource.objects.filter(etl_config__model_endpoint=project, is_paused=False)
    for job in jobs.select_related("etl_config"):
        try:
            run = run_start(job=job, trigger=RunTrigger.MANUAL, user=user)
        except Conflict as exc:
            skipped.append({"job_id": job.pk, "active_run_id": exc.extra.get("active_run_id")})
            continue
        started.append({"job_id": job.pk, "run_id": run.pk, "status": run.status,
                        "execution_id": run.execution_id})
    return {"message": f"Started {len(started)} run(s).", "runs": started, "skipped": skipped}


def run_cancel(*, run: ETLRun) -> ETLRun:
    """Stop the runner and mark the run cancelled; the destination stays as it was (loads are atomic)."""
    if not run.is_active:
        raise Conflict(f"Run {run.pk} is already {run.status}.", code="run_finished")
    backend = launchers.launcher_for(run.launcher)
    if run.execution_id and backend is not None:
        try:
            backend.cancel(run.execution_id)
        except Exception as exc:  # noqa: BLE001 - the backend's refusal is reported, the run stays active
            raise ExternalServiceError(f"The runner could not be stopped: {type(exc).__name__}.") from exc
    ETLRun.objects.filter(pk=run.pk, status__in=ACTIVE_RUN_STATUSES).update(
        status=RunStatus.CANCELLED, finished_at=timezone.now(), error_type="Cancelled",
        error_message="Cancelled by the user.")
    run.refresh_from_db()
    return run


@transaction.atomic
def run_apply_update(*, run_id: int, update: RunUpdateIn) -> ETLRun:
    """Apply a runner update; a final status closes the run and applies cursors and table stats."""
    run = ETLRun.objects.select_for_update().get(pk=run_id)
    if not run.is_active:
        raise Conflict(f"Run {run.pk} is already {run.status}.", code="run_finished")
    now = timezone.now()
    run.last_heartbeat_at = now
    if run.status == RunStatus.QUEUED:
        run.status, run.started_at = RunStatus.RUNNING, run.started_at or now
    if update.phase and update.phase != run.phase:
        _close_phase(run, now)
        run.phase = update.phase
        run.phase_timings[update.phase] = {"started_at": now.isoformat()}
    if update.progress:
        run.total_rows_extracted = max(run.total_rows_extracted, update.progress.rows)
        run.total_bytes = max(run.total_bytes, update.progress.bytes)
        run.rows_total_estimate = update.progress.rows_total or run.rows_total_estimate
    if update.tables:
        run.table_results = _merge_results(run.table_results, update.tables)
    if update.error:
        run.error_type, run.error_message = update.error.type, _error_text(update.error)
    if update.status in FINAL_UPDATE_STATUSES:
        _finish(run, update, now)
    run.save()
    return run


def _close_phase(run: ETLRun, now) -> None:
    timing = run.phase_timings.get(run.phase) if run.phase else None
    if isinstance(timing, dict) and "started_at" in timing and "seconds" not in timing:
        started = datetime.fromisoformat(timing["started_at"])
        timing["seconds"] = round((now - started).total_seconds(), 3)


def _merge_results(current: list, updates: list[TableResultIn]) -> list[dict]:
    by_id = {item.get("table_id"): item for item in current if isinstance(item, dict)}
    for result in updates:
        by_id[result.table_id] = result.model_dump()
    return list(by_id.values())


def _error_text(error) -> str:
    if error.problems:
        return f"{error.message}\n" + "\n".join(error.problems)
    return error.message


def _finish(run: ETLRun, update: RunUpdateIn, now) -> None:
    """Close the run: totals from the table results, cursors and stats applied to the job's tables."""
    _close_phase(run, now)
    run.status, run.finished_at = update.status, now
    if run.table_results:
        run.total_rows_extracted = sum(int(t.get("rows_read") or 0) for t in run.table_results)
        run.total_rows_loaded = sum(int(t.get("rows_loaded") or 0) for t in run.table_results)
        run.total_bytes = sum(int(t.get("bytes") or 0) for t in run.table_results)
    if update.status != RunStatus.COMPLETED and not run.error_message:
        failed = [t for t in run.table_results if t.get("status") == "failed"]
        run.error_type = run.error_type or "TableError"
        run.error_message = "; ".join(str(t.get("error") or "failed") for t in failed) or "The run failed."
    tables = {t.pk: t for t in DataSourceTable.objects.filter(data_source_id=run.data_source_id)}
    for result in run.table_results:
        table = tables.get(result.get("table_id"))
        if table is not None and result.get("status") == "completed":
            _apply_table_result(run, table, result, now)


def _apply_table_result(run: ETLRun, table: DataSourceTable, result: dict, now) -> None:
    table.cursor_value = result.get("cursor_after") or ""
    table.last_synced_at = now
    table.last_row_count = int(result.get("rows_loaded") or 0)
    table.save(update_fields=["cursor_value", "last_synced_at", "last_row_count", "updated_at"])
    if run.options.get("full_refresh") or table.sync_mode == "replace":
        # The ledger restarted with this run: older mirror rows no longer describe the destination.
        ProcessedFile.objects.filter(data_source_table=table).exclude(run=run).delete()


def run_record_processed_file(*, run: ETLRun, data: ProcessedFileIn) -> ProcessedFile:
    """Mirror one loaded file version into the job's ledger (idempotent per path + generation)."""
    table = DataSourceTable.objects.filter(pk=data.table_id, data_source_id=run.data_source_id).first()
    if table is None:
        raise Invalid("Unknown table for this job.", errors={"table_id": ["Not a table of this job."]})
    record, _ = ProcessedFile.objects.update_or_create(
        data_source_table=table, file_path=data.path, generation=_file_version(data),
        defaults={"file_size": data.size, "etag": data.etag or "", "file_modified_at": data.modified_at,
                  "rows_loaded": data.rows, "run": run},
    )
    return record


def _file_version(data: ProcessedFileIn) -> str:
    """The version key of a file: its generation, else its etag, else size and modification time (local files)."""
    if data.generation:
        return data.generation
    if data.etag:
        return data.etag
    modified = data.modified_at.isoformat() if data.modified_at else ""
    return f"{data.size}@{modified}"[:128]


def run_reap_stale(*, now: datetime | None = None) -> int:
    """Fail active runs whose heartbeats stopped (or whose runner exited silently); returns how many."""
    now = now or timezone.now()
    timeout = timedelta(seconds=settings.RUN_HEARTBEAT_TIMEOUT_SECONDS)
    active = ETLRun.objects.filter(status__in=ACTIVE_RUN_STATUSES).annotate(
        beat=Coalesce("last_heartbeat_at", "started_at", "created_at"))
    reaped = 0
    for run in active:
        if run.beat < now - timeout or _exited_silently(run, now):
            reaped += _mark_lost(run, now)
    return reaped


def _exited_silently(run: ETLRun, now: datetime) -> bool:
    """The launcher says the execution ended, yet the run never reported a final status."""
    if not run.execution_id or run.beat > now - timedelta(seconds=EXITED_GRACE_SECONDS):
        return False
    backend = launchers.launcher_for(run.launcher)
    if backend is None:
        return False
    try:
        return backend.state(run.execution_id) == launchers.FINISHED
    except Exception:  # noqa: BLE001 - an unreachable backend is decided by the heartbeat timeout alone
        return False


def _mark_lost(run: ETLRun, now: datetime) -> int:
    """Conditional update, so two reapers at once fail a run only once."""
    still_stale = Q(last_heartbeat_at__isnull=True) | Q(last_heartbeat_at=run.last_heartbeat_at)
    return ETLRun.objects.filter(still_stale, pk=run.pk, status__in=ACTIVE_RUN_STATUSES).update(
        status=RunStatus.FAILED, finished_at=now, error_type="RunnerLost", error_message=RUNNER_LOST)
