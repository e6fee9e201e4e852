"""SQLite source: a database file opened read-only; sqlite_master and pragma functions for the catalog."""
from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import Any

from ml_platform.utils.connection_manager.base import (
    SAMPLE_ROWS,
    Adapter,
    SourceNotFound,
    TestResult,
    table_preview,
)
from ml_platform.utils.connection_manager.local_files import check_allowed

SQLITE_HEADER = b"SQLite format 3\x00"


def quote_identifier(name: str) -> str:
    """SQLite identifier quoting (double quotes doubled); only used on names found in the catalog."""
    return '"' + name.replace('"', '""') + '"'


class SQLiteAdapter(Adapter):
    """One schema, `main`; row estimates from sqlite_stat1 when ANALYZE has run, never COUNT(*)."""

    kind = "sqlite"

    @contextlib.contextmanager
    def connect(self):
        path = Path(self.params.get("path") or "")
        check_allowed(path.resolve())
        if not path.is_file():
            raise self.fail(f"File not found: {path}.")
        try:
            with open(path, "rb") as handle:
                header = handle.read(16)
        except OSError as exc:
            raise self.fail(f"Cannot read {path}: {exc.strerror}.") from None
        if header and header != SQLITE_HEADER:
            raise self.fail(f"{path} is not a SQLite database.")
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=10)
        conn.row_factory = sqlite3.Row
        try:
            yield conn
        except sqlite3.Error as exc:
            raise self.fail(f"SQLite error: {exc}.") from None
        finally:
            conn.close()

    def test(self) -> TestResult:
        with self.connect() as conn:
            tables = self._tables(conn)
        return TestResult(True, f"Opened SQLite database ({len(tables)} tables).",
                          {"server_version": sqlite3.sqlite_version, "tables": len(tables)})

    def list_schemas(self) -> list[str]:
        return ["main"]

    def list_tables(self, schema: str) -> list[dict[str, Any]]:
        self._check_schema(schema)
        with self.connect() as conn:
            return list(self._tables(conn).values())

    def describe_table(self, schema: str, table: str) -> dict[str, Any]:
        self._check_schema(schema)
        with self.connect() as conn:
            tables = self._tables(conn)
            if table not in tables:
                raise SourceNotFound(f"Table '{table[:200]}' was not found.")
            info = conn.execute("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?)", (table,)).fetchall()
            raw = [(r["name"], r["type"] or "", not r["notnull"] and not r["pk"], bool(r["pk"])) for r in info]
            query = f"SELECT * FROM {quote_identifier(table)} LIMIT ?"  # noqa: S608 - name found in the catalog
            rows = conn.execute(query, (SAMPLE_ROWS,)).fetchall()
        return table_preview(self.columns(raw), [dict(r) for r in rows],
                             estimated_rows=tables[table]["estimated_rows"])

    def _tables(self, conn) -> dict[str, dict[str, Any]]:
        rows = conn.execute(
            "SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' "
            "ESCAPE '\\' ORDER BY name").fetchall()
        stats = self._row_stats(conn)
        return {r["name"]: {"name": r["name"], "type": r["type"], "estimated_rows": stats.get(r["name"])}
                for r in rows}

    def _row_stats(self, conn) -> dict[str, int]:
        has_stats = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone()
        if not has_stats:
            return {}
        stats: dict[str, int] = {}
        for row in conn.execute("SELECT tbl, stat FROM sqlite_stat1").fetchall():
            with contextlib.suppress(ValueError, IndexError):
                stats.setdefault(row["tbl"], int(str(row["stat"]).split()[0]))
        return stats

    def _check_schema(self, schema: str) -> None:
        if schema not in ("main", ""):
            raise SourceNotFound(f"Schema '{schema[:200]}' was not found (SQLite has only 'main').")
