"""Warehouse reads for pages and APIs that never fail while a runner holds the embedded warehouse.

Answers come live from the warehouse. DuckDB has a single writer, though: while a loading runner holds the file,
the answer comes from the platform's own record of each job table instead (its planned columns, its last
committed load), flagged `from_catalog` so the caller can say so.
"""
from __future__ import annotations

from ml_platform.models import DataSourceTable
from ml_platform.utils.errors import ApplicationError
from ml_platform.utils.warehouse import get_warehouse, physical_dataset

BUSY = "warehouse_busy"


def _job_tables(project_id: int, dataset: str):
    return DataSourceTable.objects.filter(data_source__etl_config__model_endpoint_id=project_id,
                                          dest_dataset=dataset).select_related("data_source")


def catalog_list_tables(*, project_id: int, dataset: str) -> tuple[list[dict], bool]:
    """([{"name", "row_count"}], from_catalog) for a project's logical dataset."""
    try:
        return get_warehouse().list_tables(physical_dataset(project_id, dataset)), False
    except ApplicationError as exc:
        if exc.code != BUSY:
            raise
    loaded = _job_tables(project_id, dataset).filter(last_synced_at__isnull=False).order_by("dest_table_name")
    names = dict.fromkeys(t.dest_table_name for t in loaded)
    counts = {t.dest_table_name: t.last_row_count for t in loaded}
    return [{"name": name, "row_count": counts[name]} for name in names], True


def catalog_table_columns(*, project_id: int, dataset: str, table: str) -> tuple[list[dict] | None, bool]:
    """([{"name", "type"}] or None when the table does not exist, from_catalog) of one destination table."""
    try:
        return get_warehouse().table_columns(physical_dataset(project_id, dataset), table), False
    except ApplicationError as exc:
        if exc.code != BUSY:
            raise
    known = _job_tables(project_id, dataset).filter(dest_table_name=table).exclude(dest_schema=[]).first()
    if known is None:
        return None, True
    return [{"name": c["name"], "type": c.get("type", "STRING")} for c in known.dest_schema], True
