"""Shared pieces of the SQL sources: identifier quoting, column selection, cursor bounds."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import pyarrow as pa

from etl_runner.config import TableConfig
from etl_runner.extract.base import SourceBase, SourceError


def quote_ident(name: str, quote: str = '"') -> str:
    """Quote one identifier for SQL (`quote` doubled inside); rejects NUL and empty names."""
    if not name or "\x00" in name:
        raise SourceError(f"invalid identifier {name!r}")
    return quote + name.replace(quote, quote * 2) + quote


@dataclass(frozen=True)
class Column:
    """A source column as the catalog describes it."""

    name: str
    type_name: str  # the server's own spelling, e.g. 'timestamp with time zone', 'decimal(10,2)'


def select_columns(table: TableConfig, available: list[Column]) -> list[Column]:
    """The configured columns (all if none), in config order; SourceError listing any missing."""
    if not available:
        raise SourceError(f"source table {table.label} does not exist or has no columns")
    by_name = {c.name: c for c in available}
    wanted = table.columns or [c.name for c in available]
    needed = [*wanted, *(c for c in [table.cursor_column, *table.primary_key] if c and c not in wanted)]
    missing = [c for c in needed if c not in by_name]
    if missing:
        raise SourceError(f"columns {missing} not found in source table {table.label}")
    return [by_name[c] for c in needed]


@dataclass(frozen=True)
class CursorBounds:
    """Lower bound on the cursor column: rows `> value` (exclusive) or `>= value` (inclusive)."""

    value: str
    inclusive: bool
    lookback_seconds: int = 0


def cursor_bounds(table: TableConfig, cursor: str | None) -> CursorBounds | None:
    """Where reading starts: strictly past the committed cursor (minus lookback), else historical_start."""
    if not table.cursor_column or table.load_mode not in ("incremental", "merge"):
        return None
    if cursor is not None and not table.full_refresh:
        return CursorBounds(cursor, inclusive=False, lookback_seconds=table.lookback_seconds)
    if table.historical_start is not None:
        return CursorBounds(table.historical_start.isoformat(), inclusive=True)
    return None


def rechunk(batches: Iterable[pa.RecordBatch], max_rows: int) -> Iterator[pa.RecordBatch]:
    """Yield the same rows in batches of at most `max_rows` (zero-copy slices)."""
    for batch in batches:
        if batch.num_rows <= max_rows:
            yield batch
            continue
        for offset in range(0, batch.num_rows, max_rows):
            yield batch.slice(offset, max_rows)


def relabelled(batches: Iterable[pa.RecordBatch], schema: pa.Schema, max_rows: int) -> Iterator[pa.RecordBatch]:
    """`rechunk`, each batch carrying `schema` (same types, with field metadata); one empty batch if no rows."""
    empty = True
    for batch in rechunk(batches, max_rows):
        empty = False
        yield pa.RecordBatch.from_arrays(batch.columns, schema=schema)
    if empty:
        yield pa.RecordBatch.from_pylist([], schema=schema)


class SQLSource(SourceBase):
    """Base of the SQL sources: `columns()` from the catalog, `read_table` streams a SELECT."""

    quote = '"'
    _conn = None
    _connect_error: SourceError | None = None

    def connect(self) -> None:
        """Open the connection ahead of the first read (the pipeline does it while the warehouse opens).

        A failure is kept and raised again by `connection()` at the first read, where it fails the
        table with its message, instead of being retried (an unreachable host would wait twice).
        """
        try:
            self.connection()
        except SourceError as exc:
            self._connect_error = exc

    def reconnect_later(self) -> None:
        """Drop a connection opened before a long wait (it may have been cut while idle); the next read reconnects."""
        self.close()
        self._connect_error = None  # and a source that was down may be back

    def connection(self):
        """The source's connection, opened on first use by `_open_connection`."""
        if self._conn is None:
            if self._connect_error is not None:
                raise self._connect_error
            self._conn = self._open_connection()
        return self._conn

    def _open_connection(self):
        raise NotImplementedError

    def q(self, name: str) -> str:
        return quote_ident(name, self.quote)

    def qualified(self, table: TableConfig) -> str:
        parts = [table.source_schema, table.source_table] if table.source_schema else [table.source_table]
        return ".".join(self.q(p) for p in parts)
