"""PostgreSQL source: catalog-only tests and browsing, previews through psycopg's identifier quoting."""
from __future__ import annotations

import contextlib
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from ml_platform.utils.connection_manager.base import (
    CONNECT_TIMEOUT_SECONDS,
    READ_TIMEOUT_SECONDS,
    SAMPLE_ROWS,
    Adapter,
    SourceNotFound,
    TestResult,
    table_preview,
)

SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")
TABLES_SQL = """
SELECT c.relname AS name, CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized_view'
       WHEN 'f' THEN 'foreign_table' ELSE 'table' END AS type,
       CASE WHEN c.reltuples < 0 THEN NULL ELSE c.reltuples::bigint END AS estimated_rows
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition
ORDER BY c.relname
"""
COLUMNS_SQL = """
SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, NOT a.attnotnull AS nullable,
       COALESCE(a.attnum = ANY(i.indkey), false) AS primary_key
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""


class PostgresAdapter(Adapter):
    """Reads only pg_catalog for tests and listings; previews select at most 20 rows."""

    kind = "postgresql"

    @contextlib.contextmanager
    def connect(self):
        p = self.params
        try:
            conn = psycopg.connect(
                host=p.get("host"), port=p.get("port") or 5432, dbname=p.get("database"),
                user=p.get("username"), password=self.secrets.get("password") or None,
                sslmode=p.get("sslmode") or "prefer", connect_timeout=CONNECT_TIMEOUT_SECONDS,
                options=f"-c statement_timeout={READ_TIMEOUT_SECONDS * 1000} -c default_transaction_read_only=on",
                application_name="ml-platform-browse", autocommit=True, row_factory=dict_row,
            )
        except psycopg.OperationalError as exc:
            raise self.fail(_readable(exc, p)) from None
        try:
            yield conn
        except psycopg.Error as exc:
            raise self.fail(_readable(exc, p)) from None
        finally:
            conn.close()

    def test(self) -> TestResult:
        with self.connect() as conn:
            row = conn.execute("SELECT current_setting('server_version') AS version, current_user AS who").fetchone()
            schemas = self._schemas(conn)
        return TestResult(True, f"Connected to PostgreSQL {row['version']} as {row['who']}.",
                          {"server_version": row["version"], "schemas": len(schemas)})

    def list_schemas(self) -> list[str]:
        with self.connect() as conn:
            return self._schemas(conn)

    def list_tables(self, schema: str) -> list[dict[str, Any]]:
        with self.connect() as conn:
            self._check_schema(conn, schema)
            return list(conn.execute(TABLES_SQL, (schema,)).fetchall())

    def describe_table(self, schema: str, table: str) -> dict[str, Any]:
        with self.connect() as conn:
            self._check_schema(conn, schema)
            tables = {t["name"]: t for t in conn.execute(TABLES_SQL, (schema,)).fetchall()}
            if table not in tables:
                raise SourceNotFound(f"Table '{table[:200]}' was not found in schema '{schema[:200]}'.")
            raw = [(r["name"], r["type"], r["nullable"], r["primary_key"])
                   for r in conn.execute(COLUMNS_SQL, (schema, table)).fetchall()]
            query = sql.SQL("SELECT * FROM {}.{} LIMIT {}").format(
                sql.Identifier(schema), sql.Identifier(table), sql.Literal(SAMPLE_ROWS))
            rows = conn.execute(query).fetchall()
        return table_preview(self.columns(raw), rows, estimated_rows=tables[table]["estimated_rows"])

    def _schemas(self, conn) -> list[str]:
        rows = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname <> ALL(%s) AND nspname NOT LIKE 'pg\\_%%' "
            "ORDER BY nspname", (list(SYSTEM_SCHEMAS),)).fetchall()
        return [r["nspname"] for r in rows]

    def _check_schema(self, conn, schema: str) -> None:
        if schema not in self._schemas(conn):
            raise SourceNotFound(f"Schema '{schema[:200]}' was not found.")


def _readable(exc: Exception, params: dict[str, Any]) -> str:
    """The server's own first line (already readable), or a plain sentence for network failures."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    lowered = text.lower()
    where = f"{params.get('host')}:{params.get('port') or 5432}"
    if "timeout expired" in lowered or "timed out" in lowered:
        return f"Host unreachable: no answer from {where} within {CONNECT_TIMEOUT_SECONDS} s."
    if "connection refused" in lowered:
        return f"Host unreachable: connection refused by {where}."
    if "could not translate host name" in lowered or "name or service not known" in lowered:
        return f"Host unreachable: unknown host '{params.get('host')}'."
    return text.removeprefix("connection failed: ").split(": FATAL:  ")[-1]
