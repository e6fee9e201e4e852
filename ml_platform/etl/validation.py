"""Job validation against the live source and the warehouse: every problem collected as a field error."""
from __future__ import annotations

from dataclasses import dataclass, field

from ml_platform.etl.schemas import TableIn
from ml_platform.models import Connection
from ml_platform.utils import schema_mapper
from ml_platform.utils.errors import Invalid
from ml_platform.utils.warehouse import get_warehouse, physical_dataset

ORDERABLE_TYPES = frozenset({"TIMESTAMP", "DATETIME", "DATE", "INT64", "NUMERIC", "BIGNUMERIC", "FLOAT64"})
# DuckDB column types -> logical (BigQuery-style) names, for comparing with the source's proposed types.
_DUCKDB_LOGICAL = {
    "VARCHAR": "STRING", "BIGINT": "INT64", "INTEGER": "INT64", "SMALLINT": "INT64", "TINYINT": "INT64",
    "HUGEINT": "NUMERIC", "DOUBLE": "FLOAT64", "FLOAT": "FLOAT64", "BOOLEAN": "BOOL", "DATE": "DATE",
    "TIMESTAMP": "DATETIME", "TIMESTAMP WITH TIME ZONE": "TIMESTAMP", "TIMESTAMPTZ": "TIMESTAMP",
    "TIME": "TIME", "BLOB": "BYTES", "JSON": "JSON", "INTERVAL": "INTERVAL",
}


@dataclass
class SourceTable:
    """What the source says about one table: columns with their proposed warehouse types."""

    columns: list[dict] = field(default_factory=list)

    def by_name(self) -> dict[str, dict]:
        return {c["name"]: c for c in self.columns}


class Problems:
    """Collects field errors; `raise_if_any` answers them all at once."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, key: str, message: str) -> None:
        self.errors.setdefault(key, []).append(message)

    def raise_if_any(self, message: str = "The job is not valid.") -> None:
        if self.errors:
            raise Invalid(message, errors=self.errors)


def default_schema(connection: Connection) -> str:
    """The schema a table lives in when the job names none (the connections sub-app's rule)."""
    from ml_platform.connections.services import default_schema as connection_default_schema

    return connection_default_schema(connection)


def describe_source_table(connection: Connection, schema: str, table: str) -> SourceTable:
    """Columns of a source table (raises the adapter's SourceError / SourceNotFound)."""
    from ml_platform.connections.services import adapter_for

    info = adapter_for(connection).describe_table(schema or default_schema(connection), table)
    return SourceTable(columns=list(info.get("columns") or []))


def check_connection_kind(connection: Connection, tables: list[TableIn], problems: Problems) -> None:
    """File tables need a file connection and table-like ones a database connection."""
    for i, table in enumerate(tables):
        if table.is_file_based != connection.is_file_based:
            kind = "a file" if connection.is_file_based else "a database"
            problems.add(f"tables.{i}", f"This connection is {kind} source; the table does not match it.")


def check_unique_destinations(tables: list[TableIn], problems: Problems, taken: set | None = None) -> None:
    """Two tables of one job may not load the same destination table."""
    seen = set(taken or ())
    for i, table in enumerate(tables):
        key = (table.dest_dataset, table.dest_table_name)
        if key in seen:
            problems.add(f"tables.{i}.dest_table_name", "Another table of this job already loads this destination.")
        seen.add(key)


def check_against_source(connection: Connection, tables: list[TableIn], problems: Problems) -> dict[int, SourceTable]:
    """Tables and columns exist at the source; the cursor is orderable; the primary key exists."""
    from ml_platform.utils.connection_manager import SourceError, SourceNotFound

    found: dict[int, SourceTable] = {}
    for i, table in enumerate(tables):
        if table.is_file_based:
            continue
        try:
            described = describe_source_table(connection, table.schema_name, table.source_table_name)
        except SourceNotFound as exc:
            problems.add(f"tables.{i}.source_table_name", exc.message)
            continue
        except SourceError as exc:
            problems.add("connection_id", f"The source could not be read: {exc.message}")
            return found
        found[i] = described
        _check_columns(i, table, described.by_name(), problems)
    return found


def _check_columns(i: int, table: TableIn, columns: dict[str, dict], problems: Problems) -> None:
    for name in table.selected_columns:
        if name not in columns:
            problems.add(f"tables.{i}.selected_columns", f"Column '{name}' does not exist at the source.")
    for name in table.primary_key:
        if name not in columns:
            problems.add(f"tables.{i}.primary_key", f"Column '{name}' does not exist at the source.")
    cursor = table.incremental_column
    if cursor and cursor not in columns:
        problems.add(f"tables.{i}.incremental_column", f"Column '{cursor}' does not exist at the source.")
    elif cursor and (columns[cursor].get("bigquery_type") or "") not in ORDERABLE_TYPES:
        problems.add(f"tables.{i}.incremental_column",
                     f"Column '{cursor}' cannot be used as a cursor: use a timestamp, date or number column.")


def loaded_columns(table: TableIn, source: SourceTable | None) -> list[dict]:
    """The source columns the job will load (selected ones plus cursor and key, or all)."""
    if source is None:
        return []
    wanted = set(with_key_columns(table.selected_columns, table.incremental_column, table.primary_key))
    return [c for c in source.columns if not wanted or c["name"] in wanted]


def with_key_columns(selected: list[str], cursor: str, primary_key: list[str]) -> list[str]:
    """A non-empty column selection always includes the cursor and the primary key."""
    if not selected:
        return []
    extra = [c for c in [cursor, *primary_key] if c and c not in selected]
    return [*selected, *dict.fromkeys(extra)]


def check_destination(project_id: int, i: int, table: TableIn, source: SourceTable | None,
                      problems: Problems) -> list[dict] | None:
    """The destination exists (mode existing) or not (mode new) and its types can take the source's."""
    mode = table.destination.mode if table.destination else "new"
    existing = get_warehouse().table_columns(physical_dataset(project_id, table.dest_dataset), table.dest_table_name)
    if mode == "existing" and existing is None:
        problems.add(f"tables.{i}.dest_table_name", "The destination table does not exist.")
    elif mode == "new" and existing is not None and table.sync_mode != "replace":
        problems.add(f"tables.{i}.dest_table_name",
                     "A table with this name already exists; choose it as an existing destination.")
    elif existing is not None and source is not None:
        report = compare_schemas(loaded_columns(table, source), existing)
        for message in report["blocking_errors"]:
            problems.add(f"tables.{i}.destination", message)
    return existing


def logical_type(warehouse_type: str) -> str:
    """A warehouse column type (DuckDB or BigQuery) as a BigQuery-style logical type."""
    upper = (warehouse_type or "").upper()
    if upper.startswith("DECIMAL"):
        return "NUMERIC"
    return _DUCKDB_LOGICAL.get(upper, upper)


def compare_schemas(source_columns: list[dict], dest_columns: list[dict]) -> dict:
    """Columns to add, destination columns the source lacks, type changes (safe widening or blocking)."""
    dest = {c["name"]: logical_type(c.get("type", "")) for c in dest_columns}
    to_add, mismatches, blocking = [], [], []
    for column in source_columns:
        source_type = column.get("bigquery_type") or logical_type(column.get("type", ""))
        if column["name"] not in dest:
            to_add.append({"name": column["name"], "type": source_type})
            continue
        dest_type = dest[column["name"]]
        if schema_mapper.is_safe_widening(source_type, dest_type):
            continue
        safe = schema_mapper.is_safe_widening(dest_type, source_type)
        mismatches.append({"name": column["name"], "source_type": source_type, "dest_type": dest_type,
                           "action": "widen" if safe else "blocked"})
        if not safe:
            blocking.append(f"Column '{column['name']}' is {dest_type} in the destination and {source_type} "
                            "at the source; it cannot be converted safely.")
    names = {c["name"] for c in source_columns}
    missing = [name for name in dest if name not in names]
    return {"columns_to_add": to_add, "missing_columns": missing, "type_mismatches": mismatches,
            "blocking_errors": blocking, "compatible": not blocking}
