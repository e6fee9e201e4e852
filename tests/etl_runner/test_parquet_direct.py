"""Local Parquet files read by DuckDB itself: the same table and ledger as the Arrow stream, or the stream."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl_runner.load import duckdb as duckdb_warehouse
from tests.etl_runner.runner_util import job_config, run_pipeline

UTC = dt.UTC


def typed_table(first_id: int) -> pa.Table:
    """Every common Parquet type, NULLs and unicode included."""
    return pa.table({
        "id": pa.array([first_id, first_id + 1, first_id + 2], pa.int64()),
        "small": pa.array([1, None, -3], pa.int16()),
        "amount": pa.array([Decimal("1.25"), None, Decimal("-99999.99")], pa.decimal128(12, 2)),
        "ratio": pa.array([0.5, float("inf"), None], pa.float64()),
        "name": pa.array(["zażółć", None, ""], pa.string()),
        "big_text": pa.array(["a", "b", None], pa.large_string()),
        "raw": pa.array([b"\x00\x01", None, b""], pa.binary()),
        "flag": pa.array([True, None, False]),
        "day": pa.array([dt.date(2024, 2, 29), None, dt.date(1, 1, 1)]),
        "at_utc": pa.array([dt.datetime(2024, 1, 1, 12, tzinfo=UTC), None, dt.datetime(1970, 1, 1, tzinfo=UTC)],
                           pa.timestamp("us", tz="UTC")),
        "at_local": pa.array([dt.datetime(2024, 1, 1, 12, 30, 1, 5), None, dt.datetime(2000, 1, 1)],
                             pa.timestamp("us")),
        "tags": pa.array([["x", "y"], None, []], pa.list_(pa.string())),
        "point": pa.array([{"x": 1, "y": 2}, None, {"x": None, "y": 0}],
                          pa.struct([("x", pa.int32()), ("y", pa.int32())])),
    })


def parquet_config(root, warehouse, **table):
    spec = {"source_table": "", "dest_table": "events", "load_mode": "append",
            "file": {"prefix": "", "pattern": "*.parquet", "format": "parquet"}, **table}
    return job_config({"kind": "local_files", "params": {"path": str(root)}}, warehouse, [spec])


def table_and_ledger(path) -> tuple[list, list, list]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        described = con.execute("DESCRIBE p1_raw.events").fetchall()
        rows = con.execute("SELECT * FROM p1_raw.events ORDER BY id").fetchall()
        ledger = con.execute("SELECT path, rows FROM p1_raw._etl_files ORDER BY path").fetchall()
    finally:
        con.close()
    return described, rows, ledger


@pytest.fixture
def parquet_root(tmp_path):
    root = tmp_path / "in"
    root.mkdir()
    pq.write_table(typed_table(1), root / "a.parquet")
    pq.write_table(typed_table(10), root / "b.parquet", row_group_size=2)
    return root


def loads_directly(monkeypatch) -> list[bool]:
    """Record whether each load read the Parquet files directly."""
    seen: list[bool] = []
    original = duckdb_warehouse.DuckDBWarehouse._open_local_parquet

    def spy(self, plan, schema):
        seen.append(original(self, plan, schema))
        return seen[-1]

    monkeypatch.setattr(duckdb_warehouse.DuckDBWarehouse, "_open_local_parquet", spy)
    return seen


def test_direct_read_gives_the_same_table_and_ledger_as_the_arrow_stream(parquet_root, tmp_path, monkeypatch):
    seen = loads_directly(monkeypatch)
    result, reporter = run_pipeline(parquet_config(parquet_root, tmp_path / "direct.duckdb"))
    assert result.status == "completed", result
    monkeypatch.setattr(duckdb_warehouse, "open_parquet_view", lambda con, plan, schema: False)
    streamed, _ = run_pipeline(parquet_config(parquet_root, tmp_path / "stream.duckdb"))
    assert streamed.status == "completed", streamed
    assert seen == [True, False]
    direct = table_and_ledger(tmp_path / "direct.duckdb")
    assert direct == table_and_ledger(tmp_path / "stream.duckdb")
    assert [r[1] for r in direct[2]] == [3, 3]  # the ledger's rows per file, from the footers
    assert result.tables[0].rows_loaded == 6 and result.tables[0].files == 2
    assert [f["rows"] for f in reporter.files] == [3, 3]


def test_files_with_different_columns_take_the_stream(parquet_root, tmp_path, monkeypatch):
    seen = loads_directly(monkeypatch)
    pq.write_table(typed_table(20).append_column("extra", pa.array([1, 2, 3])), parquet_root / "c.parquet")
    result, _ = run_pipeline(parquet_config(parquet_root, tmp_path / "w.duckdb"))
    assert result.status == "completed", result
    assert seen == [False]  # c.parquet's extra column needs NULLs in the others: the stream does that
    rows = table_and_ledger(tmp_path / "w.duckdb")[1]
    assert [r[0] for r in rows] == [1, 2, 3, 10, 11, 12, 20, 21, 22] and rows[0][-1] is None


def test_a_corrupt_data_page_fails_the_run_naming_the_file_and_commits_nothing(parquet_root, tmp_path, monkeypatch):
    """DuckDB's reader fails without naming the file: the stream retries and names it."""
    seen = loads_directly(monkeypatch)
    config = parquet_config(parquet_root, tmp_path / "w.duckdb")
    assert run_pipeline(config)[0].status == "completed"
    pq.write_table(typed_table(50), parquet_root / "c.parquet")  # the run's first file reads fine
    bad_path = parquet_root / "d.parquet"
    pq.write_table(typed_table(100), bad_path, compression="zstd")
    data = bytearray(bad_path.read_bytes())
    data[8:200] = bytes(192)  # the first column chunks; the footer stays readable
    bad_path.write_bytes(bytes(data))
    result, _ = run_pipeline(config)
    assert result.status == "failed"
    assert "d.parquet" in result.tables[0].error
    assert seen == [True, True, False]  # run 1 direct; run 2 tried DuckDB's reader, then the stream
    rows, ledger = table_and_ledger(tmp_path / "w.duckdb")[1:]
    assert len(rows) == 6 and len(ledger) == 2  # the first run's load only


def test_large_row_groups_get_the_memory_they_need(tmp_path, monkeypatch):
    monkeypatch.delenv("RUNNER_DUCKDB_MEMORY_LIMIT", raising=False)
    seen = loads_directly(monkeypatch)
    root = tmp_path / "in"
    root.mkdir()
    n = 1_500_000
    text = pa.array([f"row {i:>12} with some padding text" for i in range(n)])
    pq.write_table(pa.table({"id": pa.array(range(n), pa.int64()), "note": text}), root / "big.parquet",
                   row_group_size=n, compression="none")
    assert pq.read_metadata(root / "big.parquet").row_group(0).total_byte_size > 64 * 1024 * 1024
    result, _ = run_pipeline(parquet_config(root, tmp_path / "w.duckdb", load_mode="replace"))
    assert result.status == "completed", result
    assert seen == [True] and result.tables[0].rows_loaded == n
