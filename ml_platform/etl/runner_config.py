"""Job config v1 (docs/internal-contracts.md): what the runner receives for one run, secrets resolved."""
from __future__ import annotations

from django.conf import settings

from ml_platform.etl.validation import default_schema, with_key_columns
from ml_platform.models import DataSource, DataSourceTable, ETLRun
from ml_platform.utils.errors import Invalid
from ml_platform.utils.warehouse import physical_dataset

CONFIG_VERSION = 1
BATCH_SIZE = 100_000
HEARTBEAT_SECONDS = 15


def build_job_config(run: ETLRun) -> dict:
    """The config dict for a run; Invalid when the job cannot be run (no connection, no tables)."""
    job = run.data_source
    if job is None or job.connection is None:
        raise Invalid("The job has no connection to read from.", code="job_not_runnable")
    tables = _run_tables(job, run)
    if not tables:
        raise Invalid("The job has no enabled tables to load.", code="job_not_runnable")
    from ml_platform.utils.connection_manager.local_files import local_path_error
    from ml_platform.utils.secrets import connection_params, connection_secrets

    params = connection_params(job.connection)
    if job.connection.source_type in ("sqlite", "local_files"):
        refused = local_path_error(params.get("path") or "")
        if refused:  # checked again at run time: settings may have changed since the connection was saved
            raise Invalid(refused, code="forbidden_path")

    project_id = job.etl_config.model_endpoint_id
    full_refresh = bool(run.options.get("full_refresh"))
    return {
        "version": CONFIG_VERSION,
        "run_id": run.pk,
        "job": {"id": job.pk, "name": job.name, "project_id": project_id},
        "source": {"kind": job.connection.source_type, "params": params,
                   "secrets": connection_secrets(job.connection)},
        "destination": _destination(physical_dataset(project_id, tables[0].dest_dataset)),
        "tables": [_table(job, t, project_id, full_refresh) for t in tables],
        "options": {"batch_size": BATCH_SIZE, "heartbeat_seconds": HEARTBEAT_SECONDS},
    }


def _run_tables(job: DataSource, run: ETLRun) -> list[DataSourceTable]:
    tables = job.tables.filter(is_enabled=True)
    chosen = run.options.get("tables")
    return list(tables.filter(pk__in=chosen) if chosen else tables)


def _destination(dataset: str) -> dict:
    if settings.WAREHOUSE_BACKEND == "bigquery":
        return {"backend": "bigquery", "dataset": dataset, "bigquery_project": settings.GCP_PROJECT_ID,
                "bigquery_location": settings.BIGQUERY_LOCATION,
                "bigquery_endpoint": settings.GCP_API_ENDPOINTS.get("bigquery") or None,
                "staging_url": settings.STAGING_URL}
    return {"backend": "duckdb", "dataset": dataset, "duckdb_path": str(settings.WAREHOUSE_DUCKDB_PATH),
            "staging_url": settings.STAGING_URL}


def _table(job: DataSource, table: DataSourceTable, project_id: int, full_refresh: bool) -> dict:
    cursor = table.incremental_column or None
    return {
        "table_id": table.pk,
        "source_schema": (table.schema_name or default_schema(job.connection) or None)
        if not table.is_file_based else None,
        "source_table": table.source_table_name,
        "dest_dataset": physical_dataset(project_id, table.dest_dataset),
        "dest_table": table.dest_table_name,
        "load_mode": table.sync_mode,
        "columns": with_key_columns(table.selected_columns, table.incremental_column, table.primary_key),
        "cursor_column": cursor,
        "primary_key": table.primary_key,
        "cursor_value": None if full_refresh else (table.cursor_value or None),
        "lookback_seconds": table.lookback_seconds,
        "historical_start": table.historical_start_date.isoformat() if table.historical_start_date else None,
        "full_refresh": full_refresh,
        "schema_drift": job.schema_drift,
        "partition": {"column": table.partition_column, "granularity": table.partition_granularity or "DAY"}
        if table.partition_column else None,
        "cluster_by": table.cluster_columns,
        "file": _file(table) if table.is_file_based else None,
    }


def _file(table: DataSourceTable) -> dict:
    options = {"delimiter": ",", "encoding": "utf-8", "has_header": True, "compression": "infer"}
    options.update({k: v for k, v in (table.file_format_options or {}).items() if k in options})
    return {"prefix": table.file_path_prefix, "pattern": table.file_pattern or "*",
            "format": table.file_format or "csv", "options": options,
            "load_latest_only": table.load_latest_only, "on_changed_file": table.on_changed_file}
