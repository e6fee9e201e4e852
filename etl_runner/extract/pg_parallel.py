"""PostgreSQL parallel full read: several connections, one exported snapshot, disjoint ctid block ranges.

A single binary COPY stream is bounded by one server backend and one client decoder working in
turn; two streams over halves of the table overlap them. Every reader imports the snapshot the
coordinator exported (`pg_export_snapshot` / `SET TRANSACTION SNAPSHOT`, as parallel pg_dump does),
so together they see exactly one consistent state of the table: a row updated meanwhile can
neither appear twice nor be missed. Only full reads (no cursor bound) of plain tables bigger than
`RUNNER_PG_PARALLEL_MIN_BLOCKS` pages are split.
"""
# ruff: noqa: S608 - the query is built by the source from quoted identifiers; block numbers are ints

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Iterator

import pyarrow as pa

from etl_runner.extract.sqlbase import relabelled
from etl_runner.prefetch import interleave

# TID range scans (PostgreSQL 14+) read only a range's pages; older servers would scan the whole table per range.
_SIZE_SQL = (
    "SELECT c.relkind::text, pg_relation_size(c.oid) / current_setting('block_size')::int, "
    "current_setting('server_version_num')::int >= 140000 "
    "FROM pg_class c WHERE c.oid = to_regclass($1)"
)
_SNAPSHOT_ID = re.compile(r"^[0-9A-Fa-f]+-[0-9A-Fa-f]+(-[0-9]+)?$")


def readers() -> int:
    """How many connections a big full read uses (RUNNER_PG_READERS, default 2; 1 disables)."""
    return max(1, int(os.environ.get("RUNNER_PG_READERS", "2")))


def min_blocks() -> int:
    """Tables smaller than this many pages (default 8192 = 64 MB) are read by one connection."""
    return max(1, int(os.environ.get("RUNNER_PG_PARALLEL_MIN_BLOCKS", "8192")))


def execute(conn, sql: str) -> None:
    """Run a statement that returns no rows (BEGIN, SET TRANSACTION SNAPSHOT, COMMIT)."""
    with conn.cursor() as cur:
        cur.adbc_statement.set_sql_query(sql)
        cur.adbc_statement.execute_update()


def block_ranges(conn, qualified: str) -> list[tuple[int | None, int | None]]:
    """Disjoint [from, to) page ranges covering the table (open-ended first and last); [] = do not split."""
    n = readers()
    if n < 2:
        return []
    with conn.cursor() as cur:
        cur.execute(_SIZE_SQL, parameters=(qualified,))
        row = cur.fetchone()
    if row is None or row[0] != "r" or row[1] < min_blocks() or not row[2]:
        return []
    step = math.ceil(row[1] / n)
    cuts = [step * i for i in range(1, n)]
    return [(cuts[i - 1] if i else None, cuts[i] if i < n - 1 else None) for i in range(n)]


def ctid_where(low: int | None, high: int | None) -> str:
    """The WHERE clause selecting the pages of one range (a TID range scan on PostgreSQL 14+)."""
    parts = [f"ctid >= '({int(low)},0)'::tid" if low is not None else "",
             f"ctid < '({int(high)},0)'::tid" if high is not None else ""]
    return " AND ".join(p for p in parts if p) or "true"


class ParallelRead:
    """Stream `query` (no WHERE clause yet) over several connections sharing the coordinator's snapshot."""

    def __init__(self, coordinator, connect: Callable[[], object], query: str, schema_fix: Callable,
                 batch_size: int):
        self.coordinator, self.connect, self.query = coordinator, connect, query
        self.schema_fix, self.batch_size = schema_fix, batch_size

    def export_snapshot(self) -> str | None:
        """Open the coordinator's transaction and export its snapshot; None (nothing left open) if refused."""
        execute(self.coordinator, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        try:
            with self.coordinator.cursor() as cur:
                cur.execute("SELECT pg_export_snapshot()")
                snapshot = cur.fetchone()[0]
        except Exception:  # noqa: BLE001 - e.g. a server that cannot export snapshots: read in one stream
            execute(self.coordinator, "ROLLBACK")
            return None
        if not _SNAPSHOT_ID.match(str(snapshot)):
            execute(self.coordinator, "ROLLBACK")
            return None
        return snapshot

    def batches(self, snapshot: str, ranges: list[tuple[int | None, int | None]]) -> Iterator[pa.RecordBatch]:
        """Every range read on its own connection inside `snapshot`; the coordinator commits at the end."""
        try:
            parts = [self._read_part(snapshot, low, high) for low, high in ranges]
            yield from interleave(parts, depth=len(parts) + 1)
        finally:
            execute(self.coordinator, "COMMIT")

    def _read_part(self, snapshot: str, low: int | None, high: int | None) -> Iterator[pa.RecordBatch]:
        conn = self.connect()
        try:
            execute(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            execute(conn, f"SET TRANSACTION SNAPSHOT '{snapshot}'")
            with conn.cursor() as cur:
                cur.execute(f"{self.query} WHERE {ctid_where(low, high)}")
                reader = cur.fetch_record_batch()
                yield from relabelled(reader, self.schema_fix(reader.schema), self.batch_size)
            execute(conn, "COMMIT")
        finally:
            conn.close()
