"""DuckDB warehouse: Arrow batches stream into the table inside one transaction with the table's state."""
# ruff: noqa: S608 - every identifier goes through quote()/quote_ident() and every value is a parameter

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import duckdb
import pyarrow as pa

from etl_runner.config import DestinationConfig, RunOptions, TableConfig
from etl_runner.extract.base import FileInfo
from etl_runner.load import duckdb_schema as ds
from etl_runner.load.base import LoadPlan, LoadResult, ProcessedFile, WarehouseError
from etl_runner.load.duckdb_direct import drop_parquet_view, memory_for_row_groups, open_parquet_view
from etl_runner.load.duckdb_schema import quote

STATE_DDL = (
    "CREATE TABLE IF NOT EXISTS {s}._etl_state (dest_table VARCHAR PRIMARY KEY, cursor_value VARCHAR, "
    "run_id BIGINT, updated_at TIMESTAMPTZ)",
    "CREATE TABLE IF NOT EXISTS {s}._etl_files (dest_table VARCHAR, path VARCHAR, size BIGINT, "
    "generation VARCHAR, etag VARCHAR, modified_at VARCHAR, rows BIGINT, run_id BIGINT, "
    "loaded_at TIMESTAMPTZ, PRIMARY KEY (dest_table, path))",
)
DEFAULT_LOCK_WAIT_SECONDS = 3600
MEMORY_FLOOR_MB = 64  # DuckDB memory_limit for narrow tables; see _size_memory_for
MEMORY_PER_COLUMN_THREAD_MB = 1
STAGE_TABLE = "temp.main.__etl_stage"


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return "lock" in text and ("conflicting" in text or "could not set" in text)


class DuckDBWarehouse:
    """The embedded warehouse: one schema per dataset, `_etl_state` / `_etl_files` beside the data."""

    def __init__(self, destination: DestinationConfig, options: RunOptions):
        self.path = destination.duckdb_path
        self.con: duckdb.DuckDBPyConnection | None = None
        self._fault = os.environ.get("RUNNER_FAULT_AT")

    def open(self, on_wait: Callable[[], None] | None = None) -> None:
        """Connect as the single writer; while another process holds the file, wait with backoff."""
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        wait = float(os.environ.get("RUNNER_WAREHOUSE_WAIT_SECONDS", DEFAULT_LOCK_WAIT_SECONDS))
        deadline, delay, waited = time.monotonic() + wait, 0.05, False
        while True:
            try:
                self.con = duckdb.connect(self.path, config=self._settings())
                return
            except duckdb.IOException as exc:
                if not _is_lock_error(exc) or time.monotonic() > deadline:
                    raise WarehouseError(f"cannot open the DuckDB warehouse: {exc}") from None
                if not waited and on_wait is not None:
                    on_wait()
                waited = True
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 2.0)

    @staticmethod
    def _settings() -> dict[str, str]:
        settings = {"memory_limit": os.environ.get("RUNNER_DUCKDB_MEMORY_LIMIT", f"{MEMORY_FLOOR_MB}MB"),
                    "preserve_insertion_order": "false"}
        if threads := os.environ.get("RUNNER_DUCKDB_THREADS"):
            settings["threads"] = threads
        if disabled := os.environ.get("RUNNER_DUCKDB_DISABLED_COMPRESSION"):  # e.g. "dict_fsst": faster, larger
            settings["disabled_compression_methods"] = disabled
        return settings

    def _size_memory_for(self, schema: pa.Schema) -> None:
        """Give DuckDB what the table's width needs, and no more (unless RUNNER_DUCKDB_MEMORY_LIMIT says).

        DuckDB keeps the blocks it just wrote cached up to `memory_limit`, so a large limit makes the
        process grow with the table (measured: 300 MB at 1M rows, 460 MB at 5M with 384MB). Each insert
        thread holds a row group being built per column, so the floor grows with width x threads
        (a 101-column table needs about 96MB on 2 threads; 64MB fails).
        """
        if os.environ.get("RUNNER_DUCKDB_MEMORY_LIMIT"):
            return
        limit_mb = max(MEMORY_FLOOR_MB, len(schema) * self._threads() * MEMORY_PER_COLUMN_THREAD_MB)
        self.con.execute(f"SET memory_limit = '{int(limit_mb)}MB'")

    def _ensure_schema(self, schema: str) -> None:
        self.con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}")
        for ddl in STATE_DDL:
            self.con.execute(ddl.format(s=quote(schema)))

    def _state_exists(self, schema: str) -> bool:
        return bool(ds.table_column_types(self.con, schema, "_etl_state"))

    def read_state(self, table: TableConfig) -> str | None:
        """The committed cursor from `_etl_state` (None when never loaded or on full_refresh)."""
        if table.full_refresh or not self._state_exists(table.dest_dataset):
            return None
        row = self.con.execute(
            f"SELECT cursor_value FROM {quote(table.dest_dataset)}._etl_state WHERE dest_table = ?",
            [table.dest_table],
        ).fetchone()
        return row[0] if row else None

    def processed_files(self, table: TableConfig) -> dict[str, ProcessedFile]:
        """The file ledger of the table from `_etl_files`, keyed by path."""
        if not self._state_exists(table.dest_dataset):
            return {}
        rows = self.con.execute(
            f"SELECT path, size, generation, etag, modified_at, rows FROM {quote(table.dest_dataset)}._etl_files "
            "WHERE dest_table = ?",
            [table.dest_table],
        ).fetchall()
        return {r[0]: ProcessedFile(FileInfo(r[0], r[1], r[2], r[3], r[4]), r[5]) for r in rows}

    def column_names(self, table: TableConfig) -> list[str]:
        """The destination table's columns (empty when it does not exist yet)."""
        return list(ds.table_column_types(self.con, table.dest_dataset, table.dest_table))

    def load(self, plan: LoadPlan) -> LoadResult:
        """Stream the plan into its table and commit data + state together (rollback on any error)."""
        self.con.execute("BEGIN TRANSACTION")
        stream_errors: list[BaseException] = []
        plan.batches = _keep_error(plan.batches, stream_errors)
        try:
            result = self._load_in_transaction(plan)
            self._fault_hook("before_commit")
            self.con.execute("COMMIT")
            return result
        except BaseException as exc:
            self.con.execute("ROLLBACK")
            if stream_errors:  # DuckDB wraps what the Arrow stream raised: raise the source's own error
                raise stream_errors[0] from None
            if isinstance(exc, duckdb.OutOfMemoryException):
                limit = self.con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
                raise WarehouseError(f"DuckDB ran out of memory loading {plan.table.dest_table} (memory_limit "
                                     f"{limit}); set RUNNER_DUCKDB_MEMORY_LIMIT higher: {exc}") from None
            if plan.read_directly and isinstance(exc, duckdb.Error):
                raise WarehouseError(f"DuckDB could not load the Parquet files of {plan.table.dest_table}: "
                                     f"{exc}") from None
            raise

    def _load_in_transaction(self, plan: LoadPlan) -> LoadResult:
        t = plan.table
        self._ensure_schema(t.dest_dataset)
        schema = _duckdb_ready_schema(plan.schema)
        self._size_memory_for(schema)
        plan.read_directly = self._open_local_parquet(plan, schema)
        if not plan.read_directly:
            reader = pa.RecordBatchReader.from_batches(schema, (_duckdb_ready(b, schema) for b in plan.batches))
            self.con.register("__etl_incoming", reader)
        try:
            added, widened = [], []
            if t.load_mode == "replace":
                rows = self._replace(t)
            else:
                empty = True
                if ds.table_column_types(self.con, t.dest_dataset, t.dest_table):
                    added, widened = self._apply_drift(t, schema)
                    empty = self._is_empty(t)
                else:
                    self._create_empty(t, schema)
                rows = self._merge_or_append(plan, empty)
        finally:
            if plan.read_directly:
                drop_parquet_view(self.con)
            else:
                self._unregister("__etl_incoming")
        self._write_state(t, plan.finish(), plan.run_id)
        return LoadResult(rows, [c for c, _ in added], [c for c, _ in widened])

    def _open_local_parquet(self, plan: LoadPlan, schema: pa.Schema) -> bool:
        """Let DuckDB read the plan's local Parquet files itself (duckdb_direct.py), with room for their row groups."""
        if not open_parquet_view(self.con, plan, schema):
            return False
        if not os.environ.get("RUNNER_DUCKDB_MEMORY_LIMIT"):
            current = self.con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
            needed = memory_for_row_groups(plan.local_parquet.largest_row_group_bytes, self._threads())
            if needed > _mib(current):
                self.con.execute(f"SET memory_limit = '{needed}MB'")
        return True

    def _threads(self) -> int:
        return int(self.con.execute("SELECT current_setting('threads')").fetchone()[0])

    def _target(self, t: TableConfig, name: str | None = None) -> str:
        return f"{quote(t.dest_dataset)}.{quote(name or t.dest_table)}"

    def _unregister(self, name: str) -> None:
        try:
            self.con.unregister(name)
        except duckdb.Error:  # an aborted transaction refuses it; the view dies with the rollback
            pass

    def _create_empty(self, t: TableConfig, schema: pa.Schema) -> None:
        self.con.register("__etl_empty", schema.empty_table())
        try:
            self.con.execute(f"CREATE TABLE {self._target(t)} AS SELECT * FROM __etl_empty")
        finally:
            self._unregister("__etl_empty")

    def _replace(self, t: TableConfig) -> int:
        """Build the new table from the stream, then swap it in (same transaction)."""
        new = f"__etl_new_{t.dest_table}"
        self.con.execute(f"DROP TABLE IF EXISTS {self._target(t, new)}")
        self.con.execute(f"CREATE TABLE {self._target(t, new)} AS SELECT * FROM __etl_incoming")
        self._fault_hook("during_load")
        rows = self.con.execute(f"SELECT count(*) FROM {self._target(t, new)}").fetchone()[0]
        self.con.execute(f"DROP TABLE IF EXISTS {self._target(t)}")
        self.con.execute(f"ALTER TABLE {self._target(t, new)} RENAME TO {quote(t.dest_table)}")
        return rows

    def _apply_drift(self, t: TableConfig, schema: pa.Schema) -> tuple[list, list]:
        existing = ds.table_column_types(self.con, t.dest_dataset, t.dest_table)
        incoming = ds.arrow_column_types(self.con, schema)
        added, widen = ds.plan_drift(existing, incoming, t.schema_drift, f"{t.dest_dataset}.{t.dest_table}")
        ds.apply_drift(self.con, self._target(t), added, widen)
        return added, widen

    def _append(self, t: TableConfig, mapping: dict[str, str]) -> int:
        """Append the stream; with a lookback and a primary key, rows already present are skipped."""
        source = "__etl_incoming"
        if t.lookback_seconds and t.primary_key:
            match = self._pk_match(t, mapping, "d", "i")
            source = (f"(SELECT * FROM __etl_incoming i WHERE NOT EXISTS "
                      f"(SELECT 1 FROM {self._target(t)} d WHERE {match}))")
        rows = self.con.execute(f"INSERT INTO {self._target(t)} BY NAME SELECT * FROM {source}").fetchone()[0]
        self._fault_hook("during_load")
        return rows

    @staticmethod
    def _pk_match(t: TableConfig, mapping: dict[str, str], a: str, b: str) -> str:
        keys = [quote(mapping.get(k, k)) for k in t.primary_key]
        return " AND ".join(f"{a}.{k} IS NOT DISTINCT FROM {b}.{k}" for k in keys)

    def _is_empty(self, t: TableConfig) -> bool:
        return self.con.execute(f"SELECT count(*) = 0 FROM {self._target(t)}").fetchone()[0]

    def _merge_or_append(self, plan: LoadPlan, empty: bool) -> int:
        t, mapping = plan.table, plan.mapping
        if t.load_mode != "merge":
            return self._append(t, mapping)
        if empty:
            return self._merge_into_empty(t, mapping, plan.key_unique)
        return self._merge(t, mapping, plan.key_unique)

    def _merge_into_empty(self, t: TableConfig, mapping: dict[str, str], key_unique: bool) -> int:
        """First merge (nothing to merge with): a plain insert, then in-batch duplicates of a key dropped.

        When the source enforces the key (`key_unique`), one read cannot hold duplicates: no check at all.
        """
        rows = self.con.execute(f"INSERT INTO {self._target(t)} BY NAME SELECT * FROM __etl_incoming").fetchone()[0]
        self._fault_hook("during_load")
        return rows if key_unique else rows - self._drop_duplicate_keys(self._target(t), t, mapping)

    def _drop_duplicate_keys(self, target: str, t: TableConfig, mapping: dict[str, str]) -> int:
        """Keep one row per primary key in `target` (latest cursor wins); returns the rows deleted.

        The check is one aggregate over the key columns; the window only runs over duplicated keys and
        only carries the keys, the cursor and the rowid (a window over whole wide rows runs out of memory).
        """
        keys = [quote(mapping.get(k, k)) for k in t.primary_key]
        pk = ", ".join(keys)
        key = keys[0] if len(keys) == 1 else f"row({pk})"  # count(DISTINCT) skips NULL keys: they force the dedup
        if self.con.execute(f"SELECT count(DISTINCT {key}) = count(*) FROM {target}").fetchone()[0]:
            return 0
        dup_keys = f"SELECT {pk} FROM {target} GROUP BY ALL HAVING count(*) > 1"
        order = f"ORDER BY d.{quote(mapping.get(t.cursor_column, t.cursor_column))} DESC NULLS LAST" \
            if t.cursor_column else ""
        match = " AND ".join(f"d.{k} IS NOT DISTINCT FROM k.{k}" for k in keys)
        ranked = (f"SELECT d.rowid AS rid, row_number() OVER (PARTITION BY {', '.join('d.' + k for k in keys)} "
                  f"{order}) AS rn FROM {target} d JOIN ({dup_keys}) k ON {match}")
        return self.con.execute(f"DELETE FROM {target} WHERE rowid IN (SELECT rid FROM ({ranked}) WHERE rn > 1)"
                                ).fetchone()[0]

    def _merge(self, t: TableConfig, mapping: dict[str, str], key_unique: bool) -> int:
        """Upsert by primary key: stage the stream, keep the latest row per key, delete + insert.

        The stage is a temporary table (connection-local, never written to the warehouse file); it is
        a plain streaming insert, deduplicated afterwards only if it holds duplicate keys.
        """
        stage = STAGE_TABLE
        self.con.execute(f"DROP TABLE IF EXISTS {stage}")
        self.con.execute(f"CREATE TEMP TABLE {stage} AS SELECT * FROM __etl_incoming")
        if not key_unique:
            self._drop_duplicate_keys(stage, t, mapping)
        self._fault_hook("during_load")
        match = self._pk_match(t, mapping, "d", "s")
        self.con.execute(f"DELETE FROM {self._target(t)} d USING {stage} s WHERE {match}")
        rows = self.con.execute(f"INSERT INTO {self._target(t)} BY NAME SELECT * FROM {stage}").fetchone()[0]
        self.con.execute(f"DROP TABLE {stage}")
        return rows

    def _write_state(self, t: TableConfig, state, run_id: int | None) -> None:
        """Upsert the cursor and ledger rows inside the load transaction."""
        s, now = quote(t.dest_dataset), datetime.now(UTC)
        self.con.execute(
            f"INSERT OR REPLACE INTO {s}._etl_state VALUES (?, ?, ?, ?)", [t.dest_table, state.cursor, run_id, now]
        )
        for pf in state.files:
            f = pf.file
            self.con.execute(
                f"INSERT OR REPLACE INTO {s}._etl_files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [t.dest_table, f.path, f.size, f.generation, f.etag, f.modified_at, pf.rows, run_id, now],
            )

    def _fault_hook(self, phase: str) -> None:
        """Test hook: RUNNER_FAULT_AT=<phase> kills this process with SIGKILL at that point."""
        if self._fault == phase:
            import signal

            os.kill(os.getpid(), signal.SIGKILL)

    def close(self) -> None:
        if self.con is not None:
            self.con.close()
            self.con = None


def _mib(setting: str) -> float:
    """DuckDB's memory_limit display ('61.0 MiB', '1.5 GiB') in MiB."""
    number, unit = setting.split()
    return float(number) * {"KiB": 1 / 1024, "MiB": 1, "GiB": 1024, "TiB": 1024 * 1024}.get(unit, 1)


def _keep_error(batches: Iterator[pa.RecordBatch], errors: list[BaseException]) -> Iterator[pa.RecordBatch]:
    """Pass batches through, remembering an exception raised while producing them."""
    try:
        yield from batches
    except BaseException as exc:
        errors.append(exc)
        raise


def _duckdb_ready_schema(schema: pa.Schema) -> pa.Schema:
    """DuckDB holds decimals up to 38 digits: wider decimals are kept exactly as text."""
    return pa.schema(f.with_type(pa.string()) if pa.types.is_decimal256(f.type) else f for f in schema)


def _duckdb_ready(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    if batch.schema.equals(schema):
        return batch
    arrays = [col.cast(f.type) if col.type != f.type else col for col, f in zip(batch.columns, schema, strict=True)]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
