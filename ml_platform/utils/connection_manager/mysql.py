"""MySQL / MariaDB source: information_schema for tests and browsing; identifiers checked, then backquoted."""
from __future__ import annotations

import contextlib
from typing import Any

from ml_platform.utils.connection_manager.base import (
    CONNECT_TIMEOUT_SECONDS,
    READ_TIMEOUT_SECONDS,
    SAMPLE_ROWS,
    Adapter,
    SourceNotFound,
    TestResult,
    table_preview,
)

SYSTEM_SCHEMAS = ("information_schema", "mysql", "performance_schema", "sys")
TABLES_SQL = """
SELECT TABLE_NAME AS name, CASE WHEN TABLE_TYPE = 'VIEW' THEN 'view' ELSE 'table' END AS type,
       TABLE_ROWS AS estimated_rows
FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME
"""
COLUMNS_SQL = """
SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type, IS_NULLABLE = 'YES' AS nullable, COLUMN_KEY = 'PRI' AS pk
FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION
"""


def quote_identifier(name: str) -> str:
    """MySQL identifier quoting (backquotes doubled); only ever used on names found in the catalog."""
    return "`" + name.replace("`", "``") + "`"


class MySQLAdapter(Adapter):
    """PyMySQL with short timeouts; tests and listings read information_schema only."""

    kind = "mysql"

    @contextlib.contextmanager
    def connect(self):
        import pymysql
        import pymysql.cursors

        try:
            conn = pymysql.connect(**self._connect_kwargs(), cursorclass=pymysql.cursors.DictCursor)
        except pymysql.Error as exc:
            raise self.fail(_readable(exc, self.params)) from None
        try:
            yield conn
        except pymysql.Error as exc:
            raise self.fail(_readable(exc, self.params)) from None
        finally:
            conn.close()

    def _connect_kwargs(self) -> dict[str, Any]:
        p = self.params
        kwargs: dict[str, Any] = dict(
            host=p.get("host"), port=int(p.get("port") or 3306), user=p.get("username"),
            password=self.secrets.get("password") or "", database=p.get("database") or None,
            connect_timeout=CONNECT_TIMEOUT_SECONDS, read_timeout=READ_TIMEOUT_SECONDS,
            write_timeout=READ_TIMEOUT_SECONDS, charset="utf8mb4", autocommit=True,
        )
        mode = (p.get("sslmode") or "").lower()
        if mode in ("require", "verify-ca", "verify-full"):
            # PyMySQL's documented way to turn on TLS with the system trust store.
            kwargs.update(ssl={"fake_flag_to_enable_tls": True}, ssl_verify_cert=mode != "require",
                          ssl_verify_identity=mode == "verify-full")
        return kwargs

    def test(self) -> TestResult:
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute("SELECT VERSION() AS version, CURRENT_USER() AS who")
            row = cur.fetchone()
            schemas = self._schemas(cur)
        return TestResult(True, f"Connected to MySQL/MariaDB {row['version']} as {row['who']}.",
                          {"server_version": row["version"], "schemas": len(schemas)})

    def list_schemas(self) -> list[str]:
        with self.connect() as conn, conn.cursor() as cur:
            return self._schemas(cur)

    def list_tables(self, schema: str) -> list[dict[str, Any]]:
        with self.connect() as conn, conn.cursor() as cur:
            self._check_schema(cur, schema)
            cur.execute(TABLES_SQL, (schema,))
            return [dict(r, estimated_rows=_int(r["estimated_rows"])) for r in cur.fetchall()]

    def describe_table(self, schema: str, table: str) -> dict[str, Any]:
        with self.connect() as conn, conn.cursor() as cur:
            self._check_schema(cur, schema)
            cur.execute(TABLES_SQL, (schema,))
            tables = {r["name"]: r for r in cur.fetchall()}
            if table not in tables:
                raise SourceNotFound(f"Table '{table[:200]}' was not found in schema '{schema[:200]}'.")
            cur.execute(COLUMNS_SQL, (schema, table))
            raw = [(r["name"], r["type"], bool(r["nullable"]), bool(r["pk"])) for r in cur.fetchall()]
            query = f"SELECT * FROM {quote_identifier(schema)}.{quote_identifier(table)} LIMIT %s"  # noqa: S608
            cur.execute(query, (SAMPLE_ROWS,))  # names above were found in the catalog, then quoted
            rows = list(cur.fetchall())
        return table_preview(self.columns(raw), rows, estimated_rows=_int(tables[table]["estimated_rows"]))

    def _schemas(self, cur) -> list[str]:
        cur.execute("SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA ORDER BY SCHEMA_NAME")
        return [r["name"] for r in cur.fetchall() if r["name"].lower() not in SYSTEM_SCHEMAS]

    def _check_schema(self, cur, schema: str) -> None:
        if schema not in self._schemas(cur):
            raise SourceNotFound(f"Schema '{schema[:200]}' was not found.")


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _readable(exc: Exception, params: dict[str, Any]) -> str:
    """MySQL error text without the numeric code, with plain words for network failures."""
    args = getattr(exc, "args", ())
    text = str(args[1]) if len(args) > 1 else str(exc)
    where = f"{params.get('host')}:{params.get('port') or 3306}"
    lowered = text.lower()
    if "timed out" in lowered:
        return f"Host unreachable: no answer from {where} within {CONNECT_TIMEOUT_SECONDS} s."
    if "can't connect" in lowered or "connection refused" in lowered:
        return f"Host unreachable: cannot connect to {where}."
    if "name or service not known" in lowered or "nodename nor servname" in lowered:
        return f"Host unreachable: unknown host '{params.get('host')}'."
    return text
