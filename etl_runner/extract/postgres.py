"""PostgreSQL source: binary COPY into Arrow through the ADBC driver, streamed batch by batch."""
# ruff: noqa: S608 - every identifier goes through quote()/quote_ident() and every value is a parameter

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from urllib.parse import quote

import pyarrow as pa

from etl_runner.config import TableConfig
from etl_runner.extract import pg_parallel
from etl_runner.extract.base import SourceError
from etl_runner.extract.sqlbase import Column, CursorBounds, SQLSource, cursor_bounds, relabelled, select_columns

# Types ADBC maps to plain Arrow types; anything else (inet, timetz, money, enums, ranges, xml, ...)
# is read as its text form so no value is lost or turned into opaque bytes.
# Scalar NUMERIC is also read as text (`::text`): the server formats it far more cheaply than the
# driver converts binary NUMERIC (about 2 s of client CPU per 5M values); the field is tagged with
# NUMERIC_META so normalize.py casts it back to the exact decimal(p, s).
NUMERIC_META = "ETL:pg_numeric"
NATIVE_TYPES = {
    "smallint", "integer", "bigint", "real", "double precision", "boolean", "text", "bytea",
    "date", "time without time zone", "timestamp without time zone", "timestamp with time zone",
    "json", "jsonb", "uuid", "character varying", "character", "name", "numeric", "interval",
}
_CATALOG_SQL = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_attribute a
WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""


# A valid, non-partial unique index on plain columns, all of them key columns and NOT NULL (a primary
# key always is): then one snapshot of the table cannot hold two rows with the same key.
_UNIQUE_KEY_SQL = """
SELECT EXISTS (
  SELECT 1 FROM pg_index i
  WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indisvalid
    AND i.indpred IS NULL AND i.indexprs IS NULL
    AND NOT EXISTS (
      SELECT 1 FROM pg_attribute a
      WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
        AND (NOT a.attnotnull OR a.attname <> ALL (ARRAY(SELECT jsonb_array_elements_text($2::jsonb))))
    )
)
"""


def _base_type(type_name: str) -> str:
    """'numeric(10,2)' -> 'numeric', 'timestamp(3) with time zone' -> 'timestamp with time zone'."""
    return " ".join(re.sub(r"\(\d+(,\d+)?\)", "", type_name).split())


class PostgresSource(SQLSource):
    """Streams a table's selected columns past the cursor; never fetches the whole result."""

    def _uri(self) -> str:
        p = self.params
        user = quote(str(p.get("username") or "postgres"), safe="")
        password = self.secrets.get("password")
        auth = f"{user}:{quote(password, safe='')}" if password else user
        host = p.get("host") or "127.0.0.1"
        database = quote(str(p.get("database") or "postgres"), safe="")
        sslmode = quote(str(p.get("sslmode") or "prefer"), safe="")
        return f"postgresql://{auth}@{host}:{int(p.get('port') or 5432)}/{database}?sslmode={sslmode}"

    def _open_connection(self):
        return self._connect()

    def _connect(self):
        """A new autocommit ADBC connection (the parallel reader opens one per range)."""
        import adbc_driver_postgresql.dbapi as adbc

        try:
            return adbc.connect(self._uri(), autocommit=True)
        except Exception as exc:  # noqa: BLE001 - driver errors carry no password (URI not echoed)
            raise SourceError(f"cannot connect to PostgreSQL: {_first_line(exc)}") from None

    def columns(self, table: TableConfig) -> list[Column]:
        """The table's columns and their declared types, from the catalog."""
        with self.connection().cursor() as cur:
            cur.execute(_CATALOG_SQL, parameters=(self.qualified(table),))
            return [Column(name, type_name) for name, type_name in cur.fetchall()]

    def key_is_unique(self, table: TableConfig) -> bool:
        """True when the source enforces the primary key (so one read holds no duplicate keys)."""
        if not table.primary_key:
            return False
        with self.connection().cursor() as cur:
            cur.execute(_UNIQUE_KEY_SQL, parameters=(self.qualified(table), json.dumps(table.primary_key)))
            return bool(cur.fetchone()[0])

    def _select_list(self, columns: list[Column]) -> str:
        exprs = []
        for col in columns:
            base = _base_type(col.type_name)
            native = base in NATIVE_TYPES or (base.endswith("[]") and base[:-2] in NATIVE_TYPES)
            as_text = not native or base == "numeric"
            exprs.append(f"{self.q(col.name)}::text AS {self.q(col.name)}" if as_text else self.q(col.name))
        return ", ".join(exprs)

    def _where(self, table: TableConfig, columns: list[Column], bounds: CursorBounds | None) -> str:
        """A WHERE clause reading the bound from a session setting, so the value is a bound parameter."""
        if bounds is None:
            return ""
        col = next(c for c in columns if c.name == table.cursor_column)
        with self.connection().cursor() as cur:
            cur.execute("SELECT set_config('etl_runner.cursor', $1, false)", parameters=(bounds.value,))
            cur.fetchall()
        value = f"current_setting('etl_runner.cursor')::{col.type_name}"
        if bounds.lookback_seconds and ("time" in col.type_name or col.type_name == "date"):
            value = f"({value} - make_interval(secs => {int(bounds.lookback_seconds)}))"
        op = ">=" if bounds.inclusive else ">"
        return f" WHERE {self.q(col.name)} {op} {value}"

    def read_table(self, table: TableConfig, cursor: str | None) -> Iterator[pa.RecordBatch]:
        """Yield batches of the selected columns for rows past the cursor (binary COPY via ADBC).

        A full read (no cursor bound) of a big table is split over several connections sharing one
        snapshot (see pg_parallel.py); everything else is one stream.
        """
        columns = select_columns(table, self.columns(table))
        bounds = cursor_bounds(table, cursor)
        select = f"SELECT {self._select_list(columns)} FROM {self.qualified(table)}"
        ranges = pg_parallel.block_ranges(self.connection(), self.qualified(table)) if bounds is None else []
        if ranges:
            read = pg_parallel.ParallelRead(self.connection(), self._connect, select,
                                            lambda schema: _tag_numeric(schema, columns), self.batch_size)
            if (snapshot := read.export_snapshot()) is not None:
                yield from self._wrap_errors(table, read.batches(snapshot, ranges))
                return
        yield from self._read_one(table, select + self._where(table, columns, bounds), columns)

    def _read_one(self, table: TableConfig, query: str, columns: list[Column]) -> Iterator[pa.RecordBatch]:
        cur = self.connection().cursor()
        try:
            cur.execute(query)
            reader = cur.fetch_record_batch()
        except Exception as exc:  # noqa: BLE001 - any driver error is a source error
            cur.close()
            raise SourceError(f"reading {table.label} failed: {_first_line(exc)}") from None
        try:
            yield from relabelled(reader, _tag_numeric(reader.schema, columns), self.batch_size)
        finally:
            cur.close()

    @staticmethod
    def _wrap_errors(table: TableConfig, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        try:
            yield from batches
        except SourceError:
            raise
        except Exception as exc:  # noqa: BLE001 - any driver error is a source error
            raise SourceError(f"reading {table.label} failed: {_first_line(exc)}") from None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _tag_numeric(schema: pa.Schema, columns: list[Column]) -> pa.Schema:
    """Mark the NUMERIC columns read as text with their declared type (for normalize.py)."""
    declared = {c.name: c.type_name for c in columns if _base_type(c.type_name) == "numeric"}
    return pa.schema(
        f.with_metadata({**(f.metadata or {}), NUMERIC_META.encode(): declared[f.name].encode()})
        if f.name in declared else f
        for f in schema
    )


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
