"""The Django side of the warehouse: per-project datasets, table listing, preview, create and add-column.

DuckDB (default): one file, one schema per (project, dataset); connections are short and retry while a
runner holds the file's write lock. BigQuery: one dataset per (project, dataset), SDK imported lazily.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from ml_platform.utils.errors import ExternalServiceError, Invalid

IDENTIFIER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
LOCK_WAIT_SECONDS = 20  # writes (create table, add column) wait this long for a loading runner
READ_WAIT_SECONDS = 2  # page reads give up sooner and fall back to the platform's own catalog
# Logical (BigQuery-style) column types -> DuckDB types.
DUCKDB_TYPES = {
    "STRING": "VARCHAR", "INT64": "BIGINT", "INTEGER": "BIGINT", "FLOAT64": "DOUBLE", "FLOAT": "DOUBLE",
    "NUMERIC": "DECIMAL(38,9)", "BIGNUMERIC": "DECIMAL(38,9)", "BOOL": "BOOLEAN", "BOOLEAN": "BOOLEAN",
    "DATE": "DATE", "DATETIME": "TIMESTAMP", "TIMESTAMP": "TIMESTAMP WITH TIME ZONE", "TIME": "TIME",
    "BYTES": "BLOB", "JSON": "JSON",
}
WAREHOUSE_TYPES = frozenset(DUCKDB_TYPES)


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # a logical type name from WAREHOUSE_TYPES
    mode: str = "NULLABLE"  # NULLABLE | REQUIRED
    duckdb_type: str = ""  # the source's proposed DuckDB type, when known (matches what the runner loads)

    def duckdb(self) -> str:
        return self.duckdb_type or DUCKDB_TYPES.get(self.type, "VARCHAR")


def check_identifier(name: str, what: str = "name") -> str:
    """A legal warehouse identifier (letters, digits, underscore; not starting with a digit), or Invalid."""
    if not IDENTIFIER_RE.match(name or ""):
        raise Invalid(f"'{name}' is not a legal {what}.", errors={what: [
            "Use letters, digits and underscores, starting with a letter or underscore (max 128)."]})
    return name


def physical_dataset(project_id: int, dataset: str) -> str:
    """The namespaced dataset / schema of a project's logical dataset, e.g. p3_raw_data."""
    return f"p{int(project_id)}_{check_identifier(dataset, 'dest_dataset')}"


def quote(name: str) -> str:
    """Identifier quoting shared by DuckDB and the SQL we send to BigQuery (backticks there)."""
    return '"' + name.replace('"', '""') + '"'


class Warehouse(Protocol):
    def list_tables(self, dataset: str) -> list[dict]:
        """[{"name", "row_count"}] of a physical dataset (empty when it does not exist)."""

    def table_columns(self, dataset: str, table: str) -> list[dict] | None:
        """[{"name", "type"}] of a table, or None when it does not exist."""

    def preview(self, dataset: str, table: str, limit: int = 20) -> dict:
        """{"columns": [...], "rows": [[...]]} of the first rows."""

    def create_table(self, dataset: str, table: str, columns: list[Column], *, partition: dict | None = None,
                     cluster_by: list[str] | None = None) -> None:
        """Create the dataset if needed and the table if it does not exist."""

    def add_columns(self, dataset: str, table: str, columns: list[Column]) -> None:
        """ALTER TABLE ... ADD COLUMN for each column (never drops)."""


class DuckDBWarehouse:
    """The embedded warehouse file under PLATFORM_DATA_DIR."""

    def __init__(self, path: str | None = None):
        self.path = path or settings.WAREHOUSE_DUCKDB_PATH

    def _connect(self, *, read_only: bool):
        import duckdb

        deadline = time.monotonic() + (READ_WAIT_SECONDS if read_only else LOCK_WAIT_SECONDS)
        while True:
            try:
                return duckdb.connect(self.path, read_only=read_only)
            except duckdb.Error as exc:
                # Another process (a runner) holds the write lock, or another thread of this process has the
                # file open in the other mode: both pass quickly, so wait a little.
                text = str(exc).lower()
                busy = "lock" in text or "different configuration" in text
                if not busy or time.monotonic() > deadline:
                    raise ExternalServiceError("The warehouse is busy; try again in a moment.",
                                               code="warehouse_busy") from exc
                time.sleep(0.2)

    def _read(self, sql: str, params: list | None = None) -> list[tuple]:
        from pathlib import Path

        if not Path(self.path).exists():
            return []
        con = self._connect(read_only=True)
        try:
            return con.execute(sql, params or []).fetchall()
        finally:
            con.close()

    def list_tables(self, dataset: str) -> list[dict]:
        rows = self._read("SELECT table_name, estimated_size FROM duckdb_tables() WHERE schema_name = ? "
                          "AND NOT starts_with(table_name, '_etl') ORDER BY table_name", [dataset])
        return [{"name": name, "row_count": count} for name, count in rows]

    def table_columns(self, dataset: str, table: str) -> list[dict] | None:
        rows = self._read("SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = ? "
                          "AND table_name = ? ORDER BY ordinal_position", [dataset, table])
        return [{"name": name, "type": dtype} for name, dtype in rows] or None

    def preview(self, dataset: str, table: str, limit: int = 20) -> dict:
        columns = self.table_columns(dataset, table)
        if columns is None:
            return {"columns": [], "rows": []}
        sql = f"SELECT * FROM {quote(dataset)}.{quote(table)} LIMIT ?"  # noqa: S608 - quoted identifiers
        rows = self._read(sql, [int(limit)])
        return {"columns": [c["name"] for c in columns], "rows": [list(r) for r in rows]}

    def _write(self, statements: list[str]) -> None:
        con = self._connect(read_only=False)
        try:
            con.execute("BEGIN")
            for sql in statements:
                con.execute(sql)
            con.execute("COMMIT")
        finally:
            con.close()

    def create_table(self, dataset: str, table: str, columns: list[Column], *, partition: dict | None = None,
                     cluster_by: list[str] | None = None) -> None:
        body = ", ".join(_duckdb_column(c) for c in columns)
        self._write([f"CREATE SCHEMA IF NOT EXISTS {quote(dataset)}",
                     f"CREATE TABLE IF NOT EXISTS {quote(dataset)}.{quote(table)} ({body})"])

    def add_columns(self, dataset: str, table: str, columns: list[Column]) -> None:
        target = f"{quote(dataset)}.{quote(table)}"
        self._write([f"ALTER TABLE {target} ADD COLUMN IF NOT EXISTS {quote(c.name)} {c.duckdb()}"
                     for c in columns])


def _duckdb_column(column: Column) -> str:
    null = " NOT NULL" if column.mode == "REQUIRED" else ""
    return f"{quote(column.name)} {column.duckdb()}{null}"


class BigQueryWarehouse:
    """One BigQuery dataset per (project, dataset) in settings.GCP_PROJECT_ID."""

    def _client(self):
        from google.cloud import bigquery

        endpoint = settings.GCP_API_ENDPOINTS.get("bigquery") or ""
        if not endpoint:
            return bigquery.Client(project=settings.GCP_PROJECT_ID, location=settings.BIGQUERY_LOCATION)
        from google.auth.credentials import AnonymousCredentials

        return bigquery.Client(project=settings.GCP_PROJECT_ID, credentials=AnonymousCredentials(),
                               client_options={"api_endpoint": endpoint}, location=settings.BIGQUERY_LOCATION)

    def _table_ref(self, dataset: str, table: str) -> str:
        return f"{settings.GCP_PROJECT_ID}.{dataset}.{table}"

    def list_tables(self, dataset: str) -> list[dict]:
        from google.api_core.exceptions import NotFound

        client = self._client()
        try:
            items = list(client.list_tables(f"{settings.GCP_PROJECT_ID}.{dataset}"))
        except NotFound:
            return []
        tables = [client.get_table(item.reference) for item in items if not item.table_id.startswith("_etl")]
        return [{"name": t.table_id, "row_count": t.num_rows} for t in tables]

    def table_columns(self, dataset: str, table: str) -> list[dict] | None:
        from google.api_core.exceptions import NotFound

        try:
            bq_table = self._client().get_table(self._table_ref(dataset, table))
        except NotFound:
            return None
        return [{"name": f.name, "type": f.field_type, "mode": f.mode} for f in bq_table.schema]

    def preview(self, dataset: str, table: str, limit: int = 20) -> dict:
        from google.api_core.exceptions import NotFound

        client = self._client()
        try:
            bq_table = client.get_table(self._table_ref(dataset, table))
        except NotFound:
            return {"columns": [], "rows": []}
        rows = client.list_rows(bq_table, max_results=int(limit))
        return {"columns": [f.name for f in bq_table.schema], "rows": [list(r.values()) for r in rows]}

    def create_table(self, dataset: str, table: str, columns: list[Column], *, partition: dict | None = None,
                     cluster_by: list[str] | None = None) -> None:
        from google.cloud import bigquery

        client = self._client()
        client.create_dataset(bigquery.Dataset(f"{settings.GCP_PROJECT_ID}.{dataset}"), exists_ok=True)
        schema = [bigquery.SchemaField(c.name, _bq_type(c.type), mode=c.mode) for c in columns]
        bq_table = bigquery.Table(self._table_ref(dataset, table), schema=schema)
        if partition and partition.get("column"):
            bq_table.time_partitioning = bigquery.TimePartitioning(
                type_=partition.get("granularity") or "DAY", field=partition["column"])
        if cluster_by:
            bq_table.clustering_fields = cluster_by
        client.create_table(bq_table, exists_ok=True)

    def add_columns(self, dataset: str, table: str, columns: list[Column]) -> None:
        from google.cloud import bigquery

        client = self._client()
        bq_table = client.get_table(self._table_ref(dataset, table))
        known = {f.name for f in bq_table.schema}
        added = [bigquery.SchemaField(c.name, _bq_type(c.type), mode="NULLABLE") for c in columns
                 if c.name not in known]
        bq_table.schema = [*bq_table.schema, *added]
        client.update_table(bq_table, ["schema"])


def _bq_type(logical: str) -> str:
    return {"INTEGER": "INT64", "FLOAT": "FLOAT64", "BOOLEAN": "BOOL"}.get(logical, logical)


_BACKENDS = {"duckdb": DuckDBWarehouse, "bigquery": BigQueryWarehouse}


def get_warehouse() -> Warehouse:
    """The warehouse chosen by settings.WAREHOUSE_BACKEND."""
    backend = _BACKENDS.get(settings.WAREHOUSE_BACKEND)
    if backend is None:
        raise ImproperlyConfigured(f"WAREHOUSE_BACKEND must be one of {sorted(_BACKENDS)}")
    return backend()
