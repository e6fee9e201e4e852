"""ETL jobs: create, edit, pause, enable, delete. Run services live in `runs.py` and are re-exported here."""
from __future__ import annotations

import logging

from django.db import IntegrityError, transaction

from ml_platform.etl import scheduling
from ml_platform.etl import validation as checks
from ml_platform.etl.runs import (  # noqa: F401 - the run services everyone calls through this module
    run_apply_update,
    run_cancel,
    run_reap_stale,
    run_record_processed_file,
    run_start,
    runs_start_for_project,
)
from ml_platform.etl.schemas import JobEditIn, JobIn, TableIn
from ml_platform.etl.selectors import job_name_taken
from ml_platform.models import (
    ACTIVE_RUN_STATUSES,
    Connection,
    DataSource,
    DataSourceTable,
    ETLConfiguration,
    ModelEndpoint,
    RunTrigger,
)
from ml_platform.services import project_etl_config
from ml_platform.utils.errors import Conflict, Invalid, NotFound
from ml_platform.utils.warehouse import Column, get_warehouse, physical_dataset

logger = logging.getLogger(__name__)


def connection_for_project(*, project: ModelEndpoint, connection_id: int) -> Connection:
    """A connection of this project, or a field error (another project's connection is not found)."""
    connection = Connection.objects.filter(pk=connection_id, model_endpoint=project).first()
    if connection is None:
        raise Invalid("The connection was not found in this project.",
                      errors={"connection_id": ["No such connection in this project."]})
    return connection


def job_create(*, project: ModelEndpoint, user, data: JobIn, check_source: bool = True) -> dict:
    """Validate everything first, then create the job, its tables, destinations and schedule together."""
    etl_config = project_etl_config(project=project)
    connection = connection_for_project(project=project, connection_id=data.connection_id)
    problems = checks.Problems()
    if job_name_taken(etl_config=etl_config, name=data.name):
        problems.add("name", "A job with this name already exists in this project.")
    schedule_fields = _schedule_fields(data.schedule_config, problems)
    checks.check_connection_kind(connection, data.tables, problems)
    checks.check_unique_destinations(data.tables, problems)
    problems.raise_if_any()
    destinations = _planned_destinations(project, connection, data.tables, problems) if check_source else {}
    problems.raise_if_any()
    job = _job_insert(etl_config=etl_config, connection=connection, user=user, data=data,
                      schedule_fields=schedule_fields, destinations=destinations)
    scheduling.schedule_sync(job=job)
    answer = {"job_id": job.pk, "job_name": job.name, "source_id": job.pk,
              "tables": [{"id": t.pk, "dest_table_name": t.dest_table_name} for t in job.tables.all()],
              "schedule": scheduling.schedule_describe(job=job)}
    if data.run_now:
        run = run_start(job=job, trigger=RunTrigger.AFTER_CREATE, user=user)
        answer.update(run_id=run.pk, run_status=run.status, execution_id=run.execution_id)
    return answer


def _schedule_fields(config: dict | None, problems: checks.Problems) -> dict:
    if config is None:
        return {}
    try:
        return scheduling.schedule_fields_from_config(config)
    except Invalid as exc:
        for key, messages in (exc.errors or {"schedule_config": [exc.message]}).items():
            for message in messages:
                problems.add(key, message)
        return {}


def _planned_destinations(project, connection, tables: list[TableIn], problems) -> dict[int, list[Column]]:
    """Check tables against the source and the warehouse; the columns of each destination to create."""
    sources = checks.check_against_source(connection, tables, problems)
    planned: dict[int, list[Column]] = {}
    for i, table in enumerate(tables):
        if table.is_file_based and not (table.destination and table.destination.columns):
            continue
        existing = checks.check_destination(project.pk, i, table, sources.get(i), problems)
        if existing is None:
            planned[i] = _new_table_columns(table, sources.get(i))
    return planned


def _new_table_columns(table: TableIn, source: checks.SourceTable | None) -> list[Column]:
    """Explicit destination columns, else the loaded source columns with their proposed types."""
    if table.destination and table.destination.columns:
        return [Column(c.name, c.type, c.mode) for c in table.destination.columns]
    return [Column(c["name"], c.get("bigquery_type") or "STRING", duckdb_type=c.get("duckdb_type") or "")
            for c in checks.loaded_columns(table, source)]


@transaction.atomic
def _job_insert(*, etl_config: ETLConfiguration, connection: Connection, user, data: JobIn,
                schedule_fields: dict, destinations: dict[int, list[Column]]) -> DataSource:
    try:
        job = DataSource.objects.create(
            etl_config=etl_config, name=data.name, source_type=connection.source_type, connection=connection,
            schema_drift=data.schema_drift, created_by=user, **schedule_fields)
    except IntegrityError:
        raise Invalid("A job with this name already exists in this project.",
                      errors={"name": ["A job with this name already exists in this project."]}) from None
    for i, table in enumerate(data.tables):
        _table_insert(job=job, table=table, planned=destinations.get(i))
        if destinations.get(i):
            _create_destination(etl_config.model_endpoint_id, table, destinations[i])
    return job


def _table_insert(*, job: DataSource, table: TableIn, planned: list[Column] | None = None) -> DataSourceTable:
    """The job table; its planned destination columns are kept as the platform's catalog of the table."""
    dest = table.destination
    dest_schema = [{"name": c.name, "type": c.type, "mode": c.mode} for c in planned] if planned else \
        ([c.model_dump() for c in dest.columns] if dest else [])
    return DataSourceTable.objects.create(
        data_source=job, schema_name=table.schema_name, source_table_name=table.source_table_name,
        dest_dataset=table.dest_dataset, dest_table_name=table.dest_table_name, sync_mode=table.sync_mode,
        incremental_column=table.incremental_column, primary_key=table.primary_key,
        selected_columns=checks.with_key_columns(table.selected_columns, table.incremental_column,
                                                 table.primary_key),
        historical_start_date=table.historical_start_date, lookback_seconds=table.lookback_seconds,
        dest_schema=dest_schema,
        partition_column=dest.partition_column if dest else "",
        partition_granularity=(dest.partition_granularity or "DAY") if dest and dest.partition_column else "",
        cluster_columns=dest.cluster_columns if dest else [], is_file_based=table.is_file_based,
        file_path_prefix=table.file_path_prefix, file_pattern=table.file_pattern, file_format=table.file_format,
        file_format_options=table.file_format_options.model_dump(), load_latest_only=table.load_latest_only,
        on_changed_file=table.on_changed_file,
    )


def _create_destination(project_id: int, table: TableIn, columns: list[Column]) -> None:
    dest = table.destination
    partition = {"column": dest.partition_column, "granularity": dest.partition_granularity or "DAY"} \
        if dest and dest.partition_column else None
    get_warehouse().create_table(physical_dataset(project_id, table.dest_dataset), table.dest_table_name,
                                 columns, partition=partition, cluster_by=dest.cluster_columns if dest else None)


def job_edit(*, job: DataSource, data: JobEditIn) -> DataSource:
    """Rename, reschedule, change columns, add or remove tables; new columns are added to the destination."""
    problems = checks.Problems()
    if data.name and job_name_taken(etl_config=job.etl_config, name=data.name, exclude_id=job.pk):
        problems.add("name", "A job with this name already exists in this project.")
    schedule_fields = _schedule_fields(data.schedule_config, problems)
    current = {t.pk: t for t in job.tables.all()}
    edits = data.tables or []
    unknown = [t.id for t in edits if t.id is not None and t.id not in current]
    unknown += [i for i in data.remove_table_ids if i not in current]
    for table_id in unknown:
        problems.add("tables", f"Table {table_id} is not part of this job.")
    problems.raise_if_any()
    additions = _column_additions(job, current, edits, problems)
    problems.raise_if_any()
    with transaction.atomic():
        _job_apply_edit(job, data, schedule_fields, current)
    for table, columns in additions:
        get_warehouse().add_columns(physical_dataset(job.etl_config.model_endpoint_id, table.dest_dataset),
                                    table.dest_table_name, columns)
    scheduling.schedule_sync(job=job)
    return job


def _column_additions(job, current, edits, problems) -> list[tuple[DataSourceTable, list[Column]]]:
    """For each edited table, the newly loaded source columns its existing destination lacks."""
    if job.connection is None or not edits:
        return []
    checks.check_connection_kind(job.connection, edits, problems)
    sources = checks.check_against_source(job.connection, edits, problems)
    additions = []
    for i, edit in enumerate(edits):
        table = current.get(edit.id)
        if table is None or i not in sources:
            continue
        dataset = physical_dataset(job.etl_config.model_endpoint_id, table.dest_dataset)
        existing = get_warehouse().table_columns(dataset, table.dest_table_name)
        if existing is None:
            continue
        report = checks.compare_schemas(checks.loaded_columns(edit, sources[i]), existing)
        for message in report["blocking_errors"]:
            problems.add(f"tables.{i}.selected_columns", message)
        by_name = sources[i].by_name()
        columns = [Column(c["name"], c["type"], duckdb_type=by_name[c["name"]].get("duckdb_type") or "")
                   for c in report["columns_to_add"]]
        if columns:
            additions.append((table, columns))
    return additions


def _job_apply_edit(job: DataSource, data: JobEditIn, schedule_fields: dict, current: dict) -> None:
    if data.name:
        job.name = data.name
    if data.schema_drift:
        job.schema_drift = data.schema_drift
    for key, value in schedule_fields.items():
        setattr(job, key, value)
    job.save()
    DataSourceTable.objects.filter(data_source=job, pk__in=data.remove_table_ids).delete()
    for edit in data.tables or []:
        if edit.id is None:
            _table_insert(job=job, table=edit)
            continue
        table = current[edit.id]
        table.sync_mode, table.incremental_column = edit.sync_mode, edit.incremental_column
        table.primary_key, table.is_enabled = edit.primary_key, edit.is_enabled
        table.selected_columns = checks.with_key_columns(edit.selected_columns, edit.incremental_column,
                                                         edit.primary_key)
        table.historical_start_date, table.lookback_seconds = edit.historical_start_date, edit.lookback_seconds
        table.save()


def job_toggle_pause(*, job: DataSource, paused: bool | None = None) -> DataSource:
    """Pause or resume the job's schedule (toggle when `paused` is None)."""
    job.is_paused = (not job.is_paused) if paused is None else paused
    job.save(update_fields=["is_paused", "updated_at"])
    scheduling.schedule_sync(job=job)
    return job


def project_toggle_enabled(*, project: ModelEndpoint, enabled: bool) -> ETLConfiguration:
    """Enable or disable every scheduled job of the project."""
    etl_config = project_etl_config(project=project)
    etl_config.is_enabled = enabled
    etl_config.save(update_fields=["is_enabled", "updated_at"])
    for job in etl_config.data_sources.all():
        scheduling.schedule_sync(job=job)
    return etl_config


def job_delete(*, job: DataSource, delete_runs: bool = False) -> None:
    """Remove the schedule and the job; the destination tables stay, and so does run history unless asked."""
    if job.runs.filter(status__in=ACTIVE_RUN_STATUSES).exists():
        raise Conflict("The job has an active run; cancel it first.", code="run_active")
    scheduling.schedule_delete(job=job)
    with transaction.atomic():
        if delete_runs:
            job.runs.all().delete()
        job.delete()


def job_table_for(*, job: DataSource, table_id: int | None) -> DataSourceTable:
    """One table of the job (the first when none is named)."""
    tables = job.tables.all()
    table = tables.filter(pk=table_id).first() if table_id else tables.first()
    if table is None:
        raise NotFound("The job has no such table.")
    return table
