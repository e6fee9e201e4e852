"""MySQL/MariaDB source: ConnectorX Arrow stream (columnar, bounded by batch size), catalog via PyMySQL."""
# ruff: noqa: S608 - every identifier goes through quote()/quote_ident() and every value is a parameter

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from urllib.parse import quote

import pyarrow as pa

from etl_runner.config import TableConfig
from etl_runner.extract.base import SourceError
from etl_runner.extract.sqlbase import Column, CursorBounds, SQLSource, cursor_bounds, rechunk, select_columns

# Read as text and typed exactly by normalize.py (ConnectorX would round DECIMAL or reject TIME < 0).
AS_TEXT = {"decimal": "decimal", "numeric": "decimal", "time": "time"}
_CATALOG_SQL = (
    "SELECT column_name, column_type FROM information_schema.columns "
    "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position"
)
_JSON_CHECK_SQL = (
    "SELECT check_clause FROM information_schema.check_constraints "
    "WHERE constraint_schema = %s AND table_name = %s"
)
_JSON_VALID = re.compile(r"^json_valid\(`((?:[^`]|``)+)`\)$", re.IGNORECASE)
_DECIMAL_RE = re.compile(r"^decimal\((\d+),(\d+)\)")


def _data_type(column_type: str) -> str:
    return column_type.split("(")[0].split()[0].lower()


class MySQLSource(SQLSource):
    """Streams a table's selected columns past the cursor as Arrow batches of at most batch_size rows."""

    quote = "`"

    @property
    def database(self) -> str:
        return str(self.params.get("database") or "")

    def _open_connection(self):
        """A PyMySQL connection for the catalog and for escaping values."""
        import pymysql

        p = self.params
        try:
            return pymysql.connect(
                host=p.get("host") or "127.0.0.1", port=int(p.get("port") or 3306),
                user=p.get("username") or "root", password=self.secrets.get("password") or "",
                database=self.database or None, charset="utf8mb4", connect_timeout=10,
            )
        except Exception as exc:  # noqa: BLE001 - any driver error means "cannot connect"
            raise SourceError(f"cannot connect to MySQL: {exc.args[-1] if exc.args else exc}") from None

    def columns(self, table: TableConfig) -> list[Column]:
        """The table's columns and their declared types, from information_schema."""
        schema = table.source_schema or self.database
        with self.connection().cursor() as cur:
            cur.execute(_CATALOG_SQL, (schema, table.source_table))
            columns = [(name, str(ctype)) for name, ctype in cur.fetchall()]
            json_columns = self._mariadb_json_columns(cur, schema, table.source_table)
        return [Column(name, "json" if name in json_columns else ctype) for name, ctype in columns]

    @staticmethod
    def _mariadb_json_columns(cur, schema: str, table: str) -> set[str]:
        """MariaDB stores JSON as LONGTEXT with a json_valid() check: find those columns."""
        try:
            cur.execute(_JSON_CHECK_SQL, (schema, table))
        except Exception:  # noqa: BLE001 - MySQL without this view: JSON already shows as 'json'
            return set()
        return {m.group(1).replace("``", "`") for (clause,) in cur.fetchall() if (m := _JSON_VALID.match(clause))}

    def _select_list(self, columns: list[Column]) -> str:
        exprs = []
        for col in columns:
            q = self.q(col.name)
            exprs.append(f"CAST({q} AS CHAR) AS {q}" if _data_type(col.type_name) in AS_TEXT else q)
        return ", ".join(exprs)

    def _literal(self, col: Column, value: str) -> str:
        """The bound as a typed SQL expression; the value is escaped by PyMySQL, the type comes from the catalog."""
        kind = _data_type(col.type_name)
        escaped = self.connection().escape(value)
        if kind in ("datetime", "timestamp"):
            escaped = self.connection().escape(value.replace("T", " ")[:26])
            return f"CAST({escaped} AS DATETIME(6))"
        if kind == "date":
            return f"CAST({escaped} AS DATE)"
        if m := _DECIMAL_RE.match(col.type_name.lower()):
            return f"CAST({escaped} AS DECIMAL({m.group(1)},{m.group(2)}))"
        if kind in ("tinyint", "smallint", "mediumint", "int", "integer", "bigint"):
            return self.connection().escape(int(value))
        return escaped

    def _where(self, table: TableConfig, columns: list[Column], bounds: CursorBounds | None) -> str:
        if bounds is None:
            return ""
        col = next(c for c in columns if c.name == table.cursor_column)
        value = self._literal(col, bounds.value)
        if bounds.lookback_seconds and _data_type(col.type_name) in ("datetime", "timestamp", "date"):
            value = f"({value} - INTERVAL {int(bounds.lookback_seconds)} SECOND)"
        return f" WHERE {self.q(col.name)} {'>=' if bounds.inclusive else '>'} {value}"

    def _uri(self) -> str:
        p = self.params
        user = quote(str(p.get("username") or "root"), safe="")
        password = self.secrets.get("password")
        auth = f"{user}:{quote(password, safe='')}" if password else user
        return f"mysql://{auth}@{p.get('host') or '127.0.0.1'}:{int(p.get('port') or 3306)}/{quote(self.database)}"

    def read_table(self, table: TableConfig, cursor: str | None) -> Iterator[pa.RecordBatch]:
        """Yield batches of the selected columns for rows past the cursor (ConnectorX arrow_stream)."""
        import connectorx as cx

        columns = select_columns(table, self.columns(table))
        where = self._where(table, columns, cursor_bounds(table, cursor))
        query = f"SELECT {self._select_list(columns)} FROM {self.qualified(table)}{where}"
        os.environ.setdefault("RUST_BACKTRACE", "0")
        try:
            reader = cx.read_sql(
                self._uri(), query, return_type="arrow_stream", batch_size=self.batch_size,
                pre_execution_query=["SET time_zone = '+00:00'"],
            )
            yield from self._annotate(rechunk(reader, self.batch_size), columns)
        except BaseException as exc:  # ConnectorX raises pyo3 PanicException (a BaseException)
            if isinstance(exc, (GeneratorExit, KeyboardInterrupt, SystemExit, SourceError)):
                raise
            raise SourceError(f"reading {table.label} failed: {str(exc).splitlines()[0]}") from None

    def _annotate(self, batches: Iterator[pa.RecordBatch], columns: list[Column]) -> Iterator[pa.RecordBatch]:
        """Attach the declared MySQL type to each field so normalize.py can type text-read columns exactly."""
        types = {c.name: c.type_name.lower() for c in columns}
        schema = None
        for batch in batches:
            if schema is None:
                schema = pa.schema([f.with_metadata({"MYSQL:type": types.get(f.name, "")}) for f in batch.schema])
            yield pa.RecordBatch.from_arrays(batch.columns, schema=schema)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
