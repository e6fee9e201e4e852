"""BigQuery against bqemulator: each load mode as warehouse, the file ledger, gs:// staging, the source."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl_runner.config import RunOptions, SourceConfig, TableConfig
from etl_runner.extract.base import SourceError
from etl_runner.extract.bigquery import BigQuerySource
from etl_runner.load.base import LoadPlan, StateUpdate, WarehouseError, get_warehouse
from etl_runner.load.bigquery import BigQueryWarehouse
from tests.etl_runner.runner_util import run_pipeline

MODES = {
    "replace": {},
    "append": {},
    "incremental": {"cursor_column": "version"},
    "merge": {"cursor_column": "version", "primary_key": ["id"]},
}


@pytest.fixture
def bq_env(bq_emulator, monkeypatch):
    monkeypatch.setenv("RUNNER_BIGQUERY_ENDPOINT", bq_emulator.endpoint)
    monkeypatch.setenv("RUNNER_BIGQUERY_GRPC_ENDPOINT", bq_emulator.grpc_endpoint)
    monkeypatch.setenv("RUNNER_BIGQUERY_RETRY_DEADLINE", "10")
    return bq_emulator


@pytest.fixture
def dataset() -> str:
    return f"p1_raw_{uuid.uuid4().hex[:10]}"


def destination(dataset: str, staging: str) -> dict:
    return {"backend": "bigquery", "dataset": dataset, "bigquery_project": "test-proj",
            "bigquery_location": "US", "staging_url": staging}  # fmt: skip


def config(source: dict, dataset: str, staging: str, tables: list[dict]) -> dict:
    return {
        "version": 1, "run_id": 7, "job": {"id": 1, "name": "bq", "project_id": 1}, "source": source,
        "destination": destination(dataset, staging),
        "tables": [{"table_id": i, "dest_dataset": dataset, **t} for i, t in enumerate(tables, start=1)],
        "options": {"batch_size": 400, "heartbeat_seconds": 15},
    }  # fmt: skip


def rows(emu, sql: str) -> list[tuple]:
    return [tuple(r.values()) for r in emu.client().query(sql).result()]


def seed_orders(emu, ds: str, first: int, last: int, version: int, status: str = "new") -> None:
    """Upsert orders first..last with the given version and status in the BigQuery source dataset."""
    client = emu.client()
    client.create_dataset(ds, exists_ok=True)
    client.query(f"CREATE TABLE IF NOT EXISTS {ds}.orders (id INT64, status STRING, version INT64)").result()
    client.query(f"DELETE FROM {ds}.orders WHERE id BETWEEN {first} AND {last}").result()
    client.query(
        f"INSERT INTO {ds}.orders SELECT id, '{status}', {version} FROM UNNEST(GENERATE_ARRAY({first}, {last})) AS id"
    ).result()


def test_registry_maps_bigquery_backend():
    assert get_warehouse("bigquery") is BigQueryWarehouse


@pytest.mark.parametrize("mode", list(MODES))
def test_each_load_mode_twice_gives_expected_table_and_state(mode, bq_env, dataset, tmp_path):
    src = f"src_{uuid.uuid4().hex[:8]}"
    seed_orders(bq_env, src, 1, 1000, version=1)
    table = {"source_table": "orders", "dest_table": "orders", "load_mode": mode, **MODES[mode]}
    source = {"kind": "bigquery", "params": {"project_id": "test-proj", "dataset": src}}
    cfg = config(source, dataset, f"file://{tmp_path}/stage", [table])
    first, _ = run_pipeline(cfg)
    assert first.status == "completed", first
    assert first.tables[0].rows_loaded == 1000
    seed_orders(bq_env, src, 901, 1100, version=2, status="paid")  # 100 changed, 100 new
    second, _ = run_pipeline(cfg)
    assert second.status == "completed", second
    got = rows(bq_env, f"SELECT id, status, version FROM {dataset}.orders ORDER BY id, version")
    if mode in ("replace", "merge"):
        assert len(got) == 1100 and got[950] == (951, "paid", 2) and got[0] == (1, "new", 1)
    elif mode == "append":
        assert len(got) == 2100
    else:
        assert second.tables[0].rows_loaded == 200
        assert len(got) == 1200
    state = rows(bq_env, f"SELECT cursor_value, run_id FROM {dataset}._etl_state WHERE dest_table = 'orders'")
    if mode in ("incremental", "merge"):
        assert state == [("2", 7)] and second.tables[0].cursor_before == "1"
    assert not [r for r in rows(bq_env, f"SELECT table_name FROM {dataset}.INFORMATION_SCHEMA.TABLES")
                if r[0].startswith("_etl_stage")]  # fmt: skip
    assert not list((tmp_path / "stage").rglob("*.parquet"))


def test_merge_dedups_within_the_batch_keeping_the_highest_cursor(bq_env, dataset, tmp_path):
    wh = open_wh(dataset, tmp_path)
    table = TableConfig(table_id=1, dest_dataset=dataset, dest_table="m", load_mode="merge",
                        cursor_column="v", primary_key=["id"])  # fmt: skip
    batch = pa.record_batch({"id": [1, 1, 2], "v": [1, 3, 2], "s": ["old", "new", "x"]})
    wh.load(plan(table, [batch], cursor="3"))
    assert rows(bq_env, f"SELECT id, v, s FROM {dataset}.m ORDER BY id") == [(1, 3, "new"), (2, 2, "x")]
    assert wh.read_state(table) == "3"


def test_merge_treats_a_null_key_part_as_one_key_updating_instead_of_inserting(bq_env, dataset, tmp_path):
    wh = open_wh(dataset, tmp_path)
    table = TableConfig(table_id=1, dest_dataset=dataset, dest_table="n", load_mode="merge",
                        cursor_column="v", primary_key=["id", "region"])  # fmt: skip
    first = pa.record_batch({"id": [1, 1, 1, 2], "region": [None, None, "eu", None], "v": [1, 2, 1, 1],
                             "s": ["dup-old", "first", "eu", "two"]})  # fmt: skip
    wh.load(plan(table, [first], cursor="2"))
    query = f"SELECT id, region, v, s FROM {dataset}.n ORDER BY id, region NULLS FIRST"
    # the in-batch dedup keeps one row for (1, NULL): the highest cursor
    assert rows(bq_env, query) == [(1, None, 2, "first"), (1, "eu", 1, "eu"), (2, None, 1, "two")]
    second = pa.record_batch({"id": [1], "region": pa.array([None], pa.string()), "v": [3], "s": ["second"]})
    wh.load(plan(table, [second], cursor="3"))
    assert rows(bq_env, query) == [(1, None, 3, "second"), (1, "eu", 1, "eu"), (2, None, 1, "two")]


def test_lookback_skips_rows_already_loaded_when_a_key_part_is_null(bq_env, dataset, tmp_path):
    wh = open_wh(dataset, tmp_path)
    table = TableConfig(table_id=1, dest_dataset=dataset, dest_table="lb", load_mode="incremental",
                        cursor_column="v", primary_key=["id", "region"], lookback_seconds=60)  # fmt: skip
    batch = pa.record_batch({"id": [1, 2], "region": pa.array([None, "eu"], pa.string()), "v": [1, 1]})
    wh.load(plan(table, [batch], cursor="1"))
    again = pa.record_batch({"id": [1, 3], "region": pa.array([None, None], pa.string()), "v": [1, 2]})
    assert wh.load(plan(table, [again], cursor="2")).rows_loaded == 1  # (1, NULL) is already there
    got = rows(bq_env, f"SELECT id, region FROM {dataset}.lb ORDER BY id")
    assert got == [(1, None), (2, "eu"), (3, None)]


def open_wh(dataset: str, tmp_path: Path, staging: str | None = None) -> BigQueryWarehouse:
    from etl_runner.config import DestinationConfig

    dest = DestinationConfig(**destination(dataset, staging or f"file://{tmp_path}/stage"))
    wh = BigQueryWarehouse(dest, RunOptions())
    wh.open()
    return wh


def plan(table: TableConfig, batches: list[pa.RecordBatch], cursor=None, files=(), fail=False) -> LoadPlan:
    def finish() -> StateUpdate:
        if fail:
            raise RuntimeError("crash before commit")
        return StateUpdate(cursor=cursor, files=list(files))

    return LoadPlan(table, batches[0].schema, iter(batches), finish, run_id=3)


def test_types_partitioning_and_clustering_on_new_table(bq_env, dataset, tmp_path):
    wh = open_wh(dataset, tmp_path)
    table = TableConfig(table_id=1, dest_dataset=dataset, dest_table="typed", load_mode="append",
                        partition={"column": "ts", "granularity": "DAY"}, cluster_by=["id"])  # fmt: skip
    ts = datetime(2024, 5, 1, 12, 30, 1, 123456, tzinfo=UTC)
    batch = pa.record_batch({
        "id": pa.array([1, None], pa.int64()), "ts": pa.array([ts, None], pa.timestamp("us", "UTC")),
        "amount": pa.array([Decimal("12345678901234567890.123456789"), None], pa.decimal128(38, 9)),
        "tags": pa.array([["a", "ü"], []], pa.list_(pa.string())), "name": pa.array(["x", None]),
    })  # fmt: skip
    wh.load(plan(table, [batch]))
    meta = bq_env.client().get_table(f"{dataset}.typed")
    assert meta.time_partitioning.field == "ts" and meta.clustering_fields == ["id"]
    assert {f.name: f.field_type for f in meta.schema}["amount"] == "NUMERIC"
    got = rows(bq_env, f"SELECT id, ts, amount, tags, name FROM {dataset}.typed ORDER BY id NULLS LAST")
    assert got[0] == (1, ts, Decimal("12345678901234567890.123456789"), ["a", "ü"], "x")
    assert got[1][0] is None and got[1][1] is None and got[1][2] is None and got[1][4] is None


def test_failure_before_commit_changes_neither_table_nor_state(bq_env, dataset, tmp_path):
    wh = open_wh(dataset, tmp_path)
    table = TableConfig(table_id=1, dest_dataset=dataset, dest_table="f", load_mode="incremental", cursor_column="v")
    wh.load(plan(table, [pa.record_batch({"v": [1, 2]})], cursor="2"))
    with pytest.raises(RuntimeError):
        wh.load(plan(table, [pa.record_batch({"v": [3, 4]})], cursor="4", fail=True))
    assert rows(bq_env, f"SELECT v FROM {dataset}.f ORDER BY v") == [(1,), (2,)]
    assert wh.read_state(table) == "2"


def test_schema_drift_adds_columns_or_fails(bq_env, dataset, tmp_path):
    wh = open_wh(dataset, tmp_path)
    table = TableConfig(table_id=1, dest_dataset=dataset, dest_table="d", load_mode="append")
    assert wh.column_names(table) == []  # not loaded yet
    wh.load(plan(table, [pa.record_batch({"a": [1]})]))
    assert wh.column_names(table) == ["a"]  # (bqemulator's table metadata misses later ALTER TABLE columns)
    result = wh.load(plan(table, [pa.record_batch({"a": [2], "b": ["new"]})]))
    assert result.added_columns == ["b"]
    assert rows(bq_env, f"SELECT a, b FROM {dataset}.d ORDER BY a") == [(1, None), (2, "new")]
    strict = table.model_copy(update={"schema_drift": "fail"})
    with pytest.raises(WarehouseError, match="c"):
        wh.load(plan(strict, [pa.record_batch({"a": [3], "b": ["x"], "c": [1.5]})]))
    with pytest.raises(WarehouseError, match="a: INT64 in the table, STRING"):
        wh.load(plan(table, [pa.record_batch({"a": ["text"]})]))


def write_parquet(folder: Path, name: str, ids: list[int]) -> Path:
    path = folder / name
    pq.write_table(pa.table({"id": ids, "v": [f"v{i}" for i in ids]}), path)
    return path


def test_file_ledger_new_changed_late_and_broken_files(bq_env, dataset, tmp_path):
    import os

    src = tmp_path / "files"
    src.mkdir()
    write_parquet(src, "a.parquet", [1, 2])
    write_parquet(src, "b.parquet", [3])
    table = {"dest_table": "events", "load_mode": "append",
             "file": {"prefix": "", "pattern": "*.parquet", "format": "parquet"}}  # fmt: skip
    cfg = config({"kind": "local_files", "params": {"path": str(src)}}, dataset, f"file://{tmp_path}/stage", [table])
    first, reporter = run_pipeline(cfg)
    assert first.status == "completed" and first.tables[0].files == 2 and first.tables[0].rows_loaded == 3
    assert sorted(Path(f["path"]).name for f in reporter.files) == ["a.parquet", "b.parquet"]

    again, _ = run_pipeline(cfg)  # nothing new: nothing loaded
    assert again.tables[0].files == 0

    late = write_parquet(src, "0_late.parquet", [10])
    os.utime(late, (946684800, 946684800))  # mtime in 2000, older than everything loaded
    write_parquet(src, "b.parquet", [3, 4])  # changed (on_changed_file: reload)
    third, _ = run_pipeline(cfg)
    assert third.status == "completed", third
    assert sorted(Path(p).name for p in _ledger(bq_env, dataset)) == ["0_late.parquet", "a.parquet", "b.parquet"]
    assert third.tables[0].files == 2
    assert sorted(r[0] for r in rows(bq_env, f"SELECT id FROM {dataset}.events")) == [1, 2, 3, 3, 4, 10]

    (src / "c_broken.parquet").write_bytes(b"garbage")
    write_parquet(src, "d.parquet", [20])
    broken, _ = run_pipeline(cfg)
    assert broken.status == "failed" and "c_broken.parquet" in broken.tables[0].error
    assert "d.parquet" not in {Path(p).name for p in _ledger(bq_env, dataset)}  # nothing committed
    assert len(rows(bq_env, f"SELECT id FROM {dataset}.events")) == 6


def _ledger(emu, dataset: str) -> dict[str, int]:
    return dict(rows(emu, f"SELECT path, size FROM {dataset}._etl_files WHERE dest_table = 'events'"))


def test_gcs_staging_loads_from_gs_uris(bq_env, gcs_emulator, dataset, tmp_path, monkeypatch):
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator.endpoint)
    bucket = f"stage-{uuid.uuid4().hex[:8]}"
    gcs_emulator.create_bucket(bucket)
    monkeypatch.setattr("etl_runner.load.bigquery.STAGE_FILE_ROWS", 300)
    wh = open_wh(dataset, tmp_path, staging=f"gs://{bucket}/staging")
    table = TableConfig(table_id=1, dest_dataset=dataset, dest_table="g", load_mode="replace")
    batches = [pa.record_batch({"id": list(range(i, i + 200))}) for i in range(0, 1000, 200)]
    result = wh.load(plan(table, batches))
    assert result.rows_loaded == 1000
    assert rows(bq_env, f"SELECT COUNT(*), SUM(id) FROM {dataset}.g") == [(1000, sum(range(1000)))]
    assert list(gcs_emulator.client().list_blobs(bucket)) == []  # stage files cleaned up


def test_bad_staging_url_is_rejected(dataset, tmp_path):
    with pytest.raises(WarehouseError, match="staging_url"):
        open_wh(dataset, tmp_path, staging="s3://nope/x")


# ----------------------------------------------------------------------------- source


@pytest.fixture
def source_table(bq_env):
    client = bq_env.client()
    ds = f"src_{uuid.uuid4().hex[:8]}"
    client.create_dataset(ds)
    client.query(
        f"CREATE TABLE {ds}.orders (id INT64, amount NUMERIC, note STRING, updated_at TIMESTAMP)"
    ).result()  # fmt: skip
    client.query(
        f"INSERT INTO {ds}.orders SELECT id, CAST(id AS NUMERIC) / 4, IF(MOD(id, 2) = 0, NULL, 'n'), "
        f"TIMESTAMP_ADD(TIMESTAMP '2024-01-01 00:00:00+00', INTERVAL id SECOND) "
        "FROM UNNEST(GENERATE_ARRAY(1, 950)) AS id"
    ).result()
    return ds


def bq_source(ds: str, batch_size: int = 300, **params) -> BigQuerySource:
    cfg = SourceConfig(kind="bigquery", params={"project_id": "test-proj", "dataset": ds, **params})
    return BigQuerySource(cfg, RunOptions(batch_size=batch_size))


def test_source_reads_selected_columns_through_storage_read_api(source_table):
    table = TableConfig(table_id=1, source_table="orders", dest_dataset="x", dest_table="o", columns=["id", "amount"])
    batches = list(bq_source(source_table).read_table(table, None))
    assert max(b.num_rows for b in batches) <= 300
    result = pa.Table.from_batches(batches)
    assert result.column_names == ["id", "amount"] and result.num_rows == 950
    assert sorted(result.column("amount").to_pylist())[:2] == [Decimal("0.25"), Decimal("0.5")]


def test_source_incremental_reads_only_rows_past_cursor_with_lookback(source_table):
    table = TableConfig(table_id=1, source_table="orders", dest_dataset="x", dest_table="o",
                        load_mode="incremental", cursor_column="updated_at")  # fmt: skip
    cursor = "2024-01-01T00:15:00+00:00"  # id 900
    got = pa.Table.from_batches(list(bq_source(source_table).read_table(table, cursor)))
    assert sorted(got.column("id").to_pylist()) == list(range(901, 951))
    back = table.model_copy(update={"lookback_seconds": 10})
    got = pa.Table.from_batches(list(bq_source(source_table).read_table(back, cursor)))
    assert min(got.column("id").to_pylist()) == 891


def test_source_without_grpc_endpoint_uses_rest_pages(source_table, monkeypatch):
    monkeypatch.delenv("RUNNER_BIGQUERY_GRPC_ENDPOINT")
    table = TableConfig(table_id=1, source_table="orders", dest_dataset="x", dest_table="o",
                        load_mode="incremental", cursor_column="id")  # fmt: skip
    source = bq_source(source_table)
    assert source.read_client is None
    got = pa.Table.from_batches(list(source.read_table(table, "940")))
    assert sorted(got.column("id").to_pylist()) == list(range(941, 951))


def test_source_no_rows_yields_an_empty_batch_with_schema(source_table):
    table = TableConfig(table_id=1, source_table="orders", dest_dataset="x", dest_table="o",
                        load_mode="incremental", cursor_column="id")  # fmt: skip
    batches = list(bq_source(source_table).read_table(table, "5000"))
    assert sum(b.num_rows for b in batches) == 0 and "updated_at" in batches[0].schema.names


def test_source_errors_are_readable(source_table):
    missing = TableConfig(table_id=1, source_table="nope", dest_dataset="x", dest_table="o")
    with pytest.raises(SourceError, match="nope"):
        list(bq_source(source_table).read_table(missing, None))
    bad_cursor = TableConfig(table_id=1, source_table="orders", dest_dataset="x", dest_table="o",
                             load_mode="incremental", cursor_column="updated_at")  # fmt: skip
    with pytest.raises(SourceError, match="does not fit"):
        list(bq_source(source_table).read_table(bad_cursor, "not-a-time'; DROP TABLE x"))


def test_bigquery_to_bigquery_pipeline(source_table, dataset, tmp_path):
    table = {"source_table": "orders", "dest_table": "orders", "load_mode": "merge",
             "cursor_column": "updated_at", "primary_key": ["id"]}  # fmt: skip
    source = {"kind": "bigquery", "params": {"project_id": "test-proj", "dataset": source_table}}
    result, _ = run_pipeline(config(source, dataset, f"file://{tmp_path}/stage", [table]))
    assert result.status == "completed", result
    assert result.tables[0].cursor_after.startswith("2024-01-01T00:15:50")


def test_source_error_mid_stream_leaves_no_stage_files_tables_or_rows(bq_env, dataset, tmp_path):
    wh = open_wh(dataset, tmp_path)
    table = TableConfig(table_id=1, dest_dataset=dataset, dest_table="e", load_mode="append")
    wh.load(plan(table, [pa.record_batch({"a": [1]})]))

    def broken():
        yield pa.record_batch({"a": [2]})
        raise SourceError("file x.csv is broken")

    first = pa.record_batch({"a": [2]})
    with pytest.raises(SourceError, match="x.csv"):
        wh.load(LoadPlan(table, first.schema, broken(), lambda: StateUpdate(cursor=None)))
    assert rows(bq_env, f"SELECT a FROM {dataset}.e") == [(1,)]
    assert not list((tmp_path / "stage").rglob("*.parquet"))
    tables = rows(bq_env, f"SELECT table_name FROM {dataset}.INFORMATION_SCHEMA.TABLES")
    assert not [r for r in tables if r[0].startswith("_etl_stage")]
