"""SQLite source: the stdlib driver with a cursor fetched in batch_size chunks, typed via the declared types."""
# ruff: noqa: S608 - every identifier goes through quote()/quote_ident() and every value is a parameter

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pyarrow as pa

from etl_runner.config import RunOptions, SourceConfig, TableConfig
from etl_runner.extract.base import SourceError
from etl_runner.extract.sqlbase import Column, SQLSource, cursor_bounds, select_columns


def _arrow_type(declared: str) -> pa.DataType | None:
    """SQLite type affinity -> Arrow type (None = let pyarrow infer, e.g. untyped columns)."""
    d = declared.upper()
    if "INT" in d:
        return pa.int64()
    if any(k in d for k in ("CHAR", "CLOB", "TEXT")):
        return pa.string()
    if "BLOB" in d:
        return pa.binary()
    if any(k in d for k in ("REAL", "FLOA", "DOUB")):
        return pa.float64()
    return None


class SQLiteSource(SQLSource):
    """Streams a SQLite table; memory bounded by batch_size rows."""

    def __init__(self, source: SourceConfig, options: RunOptions):
        super().__init__(source, options)
        path = self.params.get("path") or self.params.get("database")
        if not path:
            raise SourceError("sqlite source needs params.path")
        try:
            self._conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        except sqlite3.Error as exc:
            raise SourceError(f"cannot open SQLite database {path}: {exc}") from None

    def columns(self, table: TableConfig) -> list[Column]:
        """Columns and declared types via PRAGMA table_info."""
        rows = self._conn.execute("SELECT name, type FROM pragma_table_info(?)", (table.source_table,)).fetchall()
        return [Column(name, type_name or "") for name, type_name in rows]

    def read_table(self, table: TableConfig, cursor: str | None) -> Iterator[pa.RecordBatch]:
        """Yield batches of the selected columns for rows past the cursor."""
        columns = select_columns(table, self.columns(table))
        schema = pa.schema([(c.name, _arrow_type(c.type_name) or pa.string()) for c in columns])
        sql = f"SELECT {', '.join(self.q(c.name) for c in columns)} FROM {self.q(table.source_table)}"
        params: tuple = ()
        bounds = cursor_bounds(table, cursor)
        if bounds is not None:
            sql += f" WHERE {self.q(table.cursor_column)} {'>=' if bounds.inclusive else '>'} ?"
            params = (int(bounds.value) if schema.field(table.cursor_column).type == pa.int64() else bounds.value,)
        try:
            cur = self._conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise SourceError(f"reading {table.label} failed: {exc}") from None
        yielded = False
        while rows := cur.fetchmany(self.batch_size):
            yielded = True
            yield self._to_batch(rows, columns, schema)
        if not yielded:
            yield pa.RecordBatch.from_pylist([], schema=schema)

    def _to_batch(self, rows: list[tuple], columns: list[Column], schema: pa.Schema) -> pa.RecordBatch:
        arrays = []
        for i, field in enumerate(schema):
            values = [r[i] for r in rows]
            try:
                arrays.append(pa.array(values, type=field.type))
            except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
                raise SourceError(f"column {field.name!r}: value does not fit {field.type}: {exc}") from None
        return pa.RecordBatch.from_arrays(arrays, schema=schema)

    def close(self) -> None:
        self._conn.close()
