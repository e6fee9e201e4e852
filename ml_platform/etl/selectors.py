"""Reads of ETL jobs and runs, always scoped to the requesting user (others' objects are a 404)."""
from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404

from ml_platform.models import DataSource, DataSourceTable, ETLRun, ProcessedFile
from ml_platform.selectors import projects_for_user

LOG_TAIL_BYTES = 16 * 1024


def jobs_for_user(user) -> QuerySet[DataSource]:
    """Every job of the user's projects."""
    return DataSource.objects.filter(etl_config__model_endpoint__in=projects_for_user(user))


def job_get_for_user(*, user, job_id: int) -> DataSource:
    """One of the user's jobs, or 404."""
    job = (jobs_for_user(user).filter(pk=job_id)
           .select_related("etl_config__model_endpoint", "connection").first())
    if job is None:
        raise Http404("Job not found")
    return job


def run_get_for_user(*, user, run_id: int) -> ETLRun:
    """One of the user's runs, or 404."""
    run = (ETLRun.objects.filter(pk=run_id, model_endpoint__in=projects_for_user(user))
           .select_related("data_source").first())
    if run is None:
        raise Http404("Run not found")
    return run


def job_name_taken(*, etl_config, name: str, exclude_id: int | None = None) -> bool:
    """True when another job of the project already has this name (case-insensitive)."""
    jobs = DataSource.objects.filter(etl_config=etl_config, name__iexact=name.strip())
    return jobs.exclude(pk=exclude_id).exists() if exclude_id else jobs.exists()


def table_as_dict(table: DataSourceTable) -> dict:
    """A job table as the API shows it."""
    return {
        "id": table.pk, "schema_name": table.schema_name, "source_table_name": table.source_table_name,
        "dest_dataset": table.dest_dataset, "dest_table_name": table.dest_table_name,
        "sync_mode": table.sync_mode, "incremental_column": table.incremental_column,
        "primary_key": table.primary_key, "selected_columns": table.selected_columns,
        "historical_start_date": table.historical_start_date, "lookback_seconds": table.lookback_seconds,
        "partition_column": table.partition_column, "partition_granularity": table.partition_granularity,
        "cluster_columns": table.cluster_columns, "is_file_based": table.is_file_based,
        "file_path_prefix": table.file_path_prefix, "file_pattern": table.file_pattern,
        "file_format": table.file_format, "file_format_options": table.file_format_options,
        "load_latest_only": table.load_latest_only, "on_changed_file": table.on_changed_file,
        "is_enabled": table.is_enabled, "cursor_value": table.cursor_value or None,
        "last_synced_at": table.last_synced_at, "last_row_count": table.last_row_count,
    }


def job_as_dict(job: DataSource) -> dict:
    """A job with its tables, schedule fields and last run; never any secret."""
    last_run = job.runs.order_by("-created_at", "-id").first()
    return {
        "id": job.pk, "name": job.name, "source_type": job.source_type,
        "connection_id": job.connection_id, "connection_name": job.connection.name if job.connection else None,
        "project_id": job.etl_config.model_endpoint_id, "is_paused": job.is_paused,
        "schema_drift": job.schema_drift, "schedule_type": job.schedule_type, "schedule_cron": job.schedule_cron,
        "schedule_timezone": job.schedule_timezone, "schedule_time": job.schedule_time,
        "schedule_minute": job.schedule_minute, "schedule_day_of_week": job.schedule_day_of_week,
        "schedule_day_of_month": job.schedule_day_of_month, "next_run_at": job.next_run_at,
        "tables": [table_as_dict(t) for t in job.tables.all()],
        "last_run": run_summary(last_run) if last_run else None,
        "created_at": job.created_at, "updated_at": job.updated_at,
    }


def run_summary(run: ETLRun) -> dict:
    """The short form of a run for lists."""
    return {
        "id": run.pk, "status": run.status, "phase": run.phase, "trigger": run.trigger,
        "created_at": run.created_at, "started_at": run.started_at, "finished_at": run.finished_at,
        "total_rows_extracted": run.total_rows_extracted, "total_rows_loaded": run.total_rows_loaded,
        "error_message": run.error_message,
    }


def run_as_dict(run: ETLRun) -> dict:
    """Everything about a run: status, phases, per-table stats, error, trigger, execution and log tail."""
    return {
        "id": run.pk, "run_id": run.pk, "status": run.status, "phase": run.phase,
        "data_source_id": run.data_source_id, "job_name": run.job_name, "project_id": run.model_endpoint_id,
        "trigger": run.trigger, "triggered_by": run.triggered_by.get_username() if run.triggered_by else None,
        "scheduled_for": run.scheduled_for, "options": run.options, "launcher": run.launcher,
        "execution_id": run.execution_id, "log_location": run.log_location,
        "created_at": run.created_at, "started_at": run.started_at, "finished_at": run.finished_at,
        "last_heartbeat_at": run.last_heartbeat_at, "duration_seconds": run.duration_seconds,
        "phase_timings": run.phase_timings, "tables": run.table_results,
        "total_rows_extracted": run.total_rows_extracted, "total_rows_loaded": run.total_rows_loaded,
        "total_bytes": run.total_bytes, "rows_total_estimate": run.rows_total_estimate,
        "error_type": run.error_type, "error_message": run.error_message,
        "log_tail": run_log_tail(run),
        "log_url": run.log_location if run.log_location.startswith("https://") else None,
    }


def run_log_tail(run: ETLRun, max_bytes: int = LOG_TAIL_BYTES) -> str:
    """The end of the local runner log (only files inside RUN_LOG_DIR); empty when there is none."""
    if not run.log_location or run.log_location.startswith("http"):
        return ""
    log_dir = Path(settings.RUN_LOG_DIR).resolve()
    path = Path(run.log_location).resolve()
    if log_dir not in path.parents or not path.is_file():
        return ""
    with path.open("rb") as handle:
        handle.seek(max(0, path.stat().st_size - max_bytes))
        return handle.read().decode("utf-8", errors="replace")


def processed_files_for_job(*, job: DataSource, table_id: int | None = None) -> list[dict]:
    """Django's mirror of a job's file ledger."""
    files = ProcessedFile.objects.filter(data_source_table__data_source=job).select_related("data_source_table")
    if table_id is not None:
        files = files.filter(data_source_table_id=table_id)
    return [{
        "table_id": f.data_source_table_id, "path": f.file_path, "size": f.file_size,
        "generation": f.generation, "etag": f.etag, "modified_at": f.file_modified_at,
        "rows": f.rows_loaded, "run_id": f.run_id,
    } for f in files]
