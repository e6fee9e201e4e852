"""SQLite source: the stdlib driver with a cursor fetched in batch_size chunks, typed via the declared types."""
# ruff: noqa: S608 - every identifier goes through quote()/quote_ident() and every value is a parameter

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc

from etl_runner.config import RunOptions, SourceConfig, TableConfig
from etl_runner.extract.base import SourceError
from etl_runner.extract.sqlbase import Column, SQLSource, cursor_bounds, select_columns


def _arrow_type(declared: str) -> pa.DataType:
    """SQLite declared type -> Arrow type, in step with the platform's schema mapper (same rules, same order)."""
    d = declared.lower()
    decimal = re.match(r"(decimal|numeric)\s*\(\s*(\d+)\s*(?:,\s*(\d+))?\s*\)", d)
    if decimal:
        precision, scale = int(decimal.group(2)), int(decimal.group(3) or 0)
        return pa.decimal128(precision, scale) if precision <= 38 else pa.decimal256(precision, scale)
    if d.startswith(("datetime", "timestamp")):
        return pa.timestamp("us")
    if d.startswith("date"):
        return pa.date32()
    if d.startswith("bool"):
        return pa.bool_()
    if "int" in d:
        return pa.int64()
    if any(k in d for k in ("char", "clob", "text")):
        return pa.string()
    if "blob" in d:
        return pa.binary()
    if any(k in d for k in ("real", "floa", "doub")) or d in ("numeric", "decimal"):
        return pa.float64()
    return pa.string()


def _cursor_predicate(column_sql: str, arrow_type: pa.DataType, op: str) -> str:
    """Compare a cursor column with a parameter in SQLite's own time format, so 'T' vs ' ' spellings agree.

    SQLite keeps dates and times as text at millisecond precision; strftime() normalises both sides.
    """
    if pa.types.is_timestamp(arrow_type):
        fmt = "'%Y-%m-%d %H:%M:%f'"
        return f"strftime({fmt}, {column_sql}) {op} strftime({fmt}, ?)"
    if pa.types.is_date(arrow_type):
        return f"date({column_sql}) {op} date(?)"
    return f"{column_sql} {op} ?"


def _array(values: list, arrow_type: pa.DataType) -> pa.Array:
    """Build one column from SQLite's dynamically typed values (text dates, 0/1 booleans, mixed text)."""
    if pa.types.is_string(arrow_type):
        return pa.array([v if v is None or isinstance(v, str) else str(v) for v in values], type=arrow_type)
    if pa.types.is_timestamp(arrow_type) or pa.types.is_date(arrow_type) or pa.types.is_decimal(arrow_type):
        text = pa.array([v if v is None or isinstance(v, str) else str(v) for v in values], type=pa.string())
        if pa.types.is_timestamp(arrow_type):
            text = pc.replace_substring(text, "T", " ")
        return text.cast(arrow_type)
    if pa.types.is_boolean(arrow_type):
        return pa.array(values, type=pa.int64()).cast(arrow_type)
    return pa.array(values, type=arrow_type)


class SQLiteSource(SQLSource):
    """Streams a SQLite table; memory bounded by batch_size rows."""

    def __init__(self, source: SourceConfig, options: RunOptions):
        super().__init__(source, options)
        path = self.params.get("path") or self.params.get("database")
        if not path:
            raise SourceError("sqlite source needs params.path")
        try:
            # The pipeline reads ahead on one worker thread; the connection is only ever used by one thread
            # at a time, so the same-thread check can be lifted.
            self._conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        except sqlite3.Error as exc:
            raise SourceError(f"cannot open SQLite database {path}: {exc}") from None

    def reconnect_later(self) -> None:
        """A local file: nothing can cut the connection while the run waits."""

    def columns(self, table: TableConfig) -> list[Column]:
        """Columns and declared types via PRAGMA table_info."""
        rows = self._conn.execute("SELECT name, type FROM pragma_table_info(?)", (table.source_table,)).fetchall()
        return [Column(name, type_name or "") for name, type_name in rows]

    def read_table(self, table: TableConfig, cursor: str | None) -> Iterator[pa.RecordBatch]:
        """Yield batches of the selected columns for rows past the cursor."""
        columns = select_columns(table, self.columns(table))
        schema = pa.schema([(c.name, _arrow_type(c.type_name)) for c in columns])
        sql = f"SELECT {', '.join(self.q(c.name) for c in columns)} FROM {self.q(table.source_table)}"
        params: tuple = ()
        bounds = cursor_bounds(table, cursor)
        if bounds is not None:
            cursor_type = schema.field(table.cursor_column).type
            op = ">=" if bounds.inclusive else ">"
            sql += f" WHERE {_cursor_predicate(self.q(table.cursor_column), cursor_type, op)}"
            params = (int(bounds.value) if cursor_type == pa.int64() else bounds.value,)
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
                arrays.append(_array(values, field.type))
            except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, ValueError) as exc:
                raise SourceError(f"column {field.name!r}: value does not fit {field.type}: {exc}") from None
        return pa.RecordBatch.from_arrays(arrays, schema=schema)

    def close(self) -> None:
        self._conn.close()
