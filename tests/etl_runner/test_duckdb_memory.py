"""DuckDB warehouse memory: the limit follows the table's width, and merges of wide tables stay in bounds."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from etl_runner.config import DestinationConfig, RunOptions, TableConfig
from etl_runner.load.base import LoadPlan, StateUpdate
from etl_runner.load.duckdb import MEMORY_FLOOR_MB, DuckDBWarehouse

WIDE_COLUMNS = 100
ROWS = 250_000  # two row groups per insert thread: enough to need the width-sized limit
BATCH = 50_000


def wide_batches(first_id: int, rows: int, tag: str, duplicate_every: int = 0) -> Iterator[pa.RecordBatch]:
    """`rows` rows of 1 key + 1 cursor + WIDE_COLUMNS text columns; optionally every n-th key twice."""
    for start in range(first_id, first_id + rows, BATCH):
        ids = pa.array(range(start, min(start + BATCH, first_id + rows)), pa.int64())
        cursor = pa.array([2] * len(ids), pa.int64())
        if duplicate_every:  # the same keys again later in the batch, with a lower cursor: they must lose
            again = pc.filter(ids, pc.equal(pc.bit_wise_and(ids, duplicate_every - 1), 0))
            ids = pa.concat_arrays([ids, again])
            cursor = pa.concat_arrays([cursor, pa.array([1] * len(again), pa.int64())])
        text = pc.binary_join_element_wise(f"{tag} value for row ", pc.cast(ids, pa.string()), " ....padding", "")
        yield pa.record_batch({"id": ids, "version": cursor, **{f"c{i}": text for i in range(WIDE_COLUMNS)}})


def merge_plan(batches: Iterator[pa.RecordBatch], schema: pa.Schema) -> LoadPlan:
    table = TableConfig(table_id=1, source_table="wide", dest_dataset="p1_raw", dest_table="wide",
                        load_mode="merge", cursor_column="version", primary_key=["id"])
    return LoadPlan(table, schema, batches, lambda: StateUpdate(cursor="2"), run_id=1)


def warehouse(path) -> DuckDBWarehouse:
    wh = DuckDBWarehouse(DestinationConfig(backend="duckdb", dataset="p1_raw", duckdb_path=str(path)), RunOptions())
    wh.open()
    return wh


def test_narrow_tables_get_the_small_memory_floor(tmp_path, monkeypatch):
    monkeypatch.delenv("RUNNER_DUCKDB_MEMORY_LIMIT", raising=False)
    wh = warehouse(tmp_path / "w.duckdb")
    try:
        schema = pa.schema([("id", pa.int64()), ("name", pa.string())])
        wh._size_memory_for(schema)
        limit = wh.con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    finally:
        wh.close()
    assert limit.endswith("MiB") and float(limit.split()[0]) == pytest.approx(MEMORY_FLOOR_MB * 0.953674, rel=0.01)


def test_memory_limit_from_the_environment_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("RUNNER_DUCKDB_MEMORY_LIMIT", "300MB")
    wh = warehouse(tmp_path / "w.duckdb")
    try:
        wh._size_memory_for(pa.schema([(f"c{i}", pa.string()) for i in range(500)]))
        limit = wh.con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    finally:
        wh.close()
    assert limit == "286.1 MiB"


def test_wide_table_merge_with_in_batch_duplicates_completes(tmp_path, monkeypatch):
    """100+ columns: a fixed 64MB limit fails the insert, and a window over whole rows failed at 384MB."""
    monkeypatch.delenv("RUNNER_DUCKDB_MEMORY_LIMIT", raising=False)
    path = tmp_path / "w.duckdb"
    schema = next(wide_batches(0, 1, "x")).schema
    wh = warehouse(path)
    try:
        assert wh.load(merge_plan(wide_batches(0, ROWS, "first"), schema)).rows_loaded == ROWS
        # second run: every key again (half of them twice in the stream) plus new keys
        second = wh.load(merge_plan(wide_batches(ROWS // 2, ROWS, "second", duplicate_every=2), schema))
    finally:
        wh.close()
    assert second.rows_loaded == ROWS
    con = duckdb.connect(str(path), read_only=True)
    try:
        total, distinct, seconds, old_versions = con.execute(
            "SELECT count(*), count(DISTINCT id), count(*) FILTER (WHERE c7 LIKE 'second%'), "
            "count(*) FILTER (WHERE version <> 2) FROM p1_raw.wide").fetchone()
    finally:
        con.close()
    assert (total, distinct) == (ROWS + ROWS // 2, ROWS + ROWS // 2)
    assert seconds == ROWS
    assert old_versions == 0  # the duplicate with the lower cursor never wins
