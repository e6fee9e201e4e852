"""PostgreSQL parallel full reads: disjoint ctid ranges, one shared snapshot, exactly the source's rows."""

from __future__ import annotations

import re

import pytest

from etl_runner.config import RunOptions, TableConfig, parse_config
from etl_runner.extract import pg_parallel
from etl_runner.extract.postgres import PostgresSource
from etl_runner.prefetch import interleave
from tests.etl_runner.runner_util import dest_rows, job_config, pg_exec, pg_rows, run_pipeline, source_for

SEED = ("CREATE TABLE orders (id int primary key, amount numeric(12,2), status text, note text)",
        "INSERT INTO orders SELECT g, g * 1.5, 'new', repeat('x', 200) FROM generate_series(1, 3000) g")


@pytest.fixture
def split_everything(monkeypatch):
    """Split even tiny tables, over 3 connections."""
    monkeypatch.setenv("RUNNER_PG_PARALLEL_MIN_BLOCKS", "1")
    monkeypatch.setenv("RUNNER_PG_READERS", "3")


def table_config(**extra) -> TableConfig:
    return TableConfig(table_id=1, source_schema="public", source_table="orders", dest_dataset="d",
                       dest_table="orders", **extra)


def source(db, batch_size=100) -> PostgresSource:
    cfg = parse_config(job_config(source_for("postgresql", db), "/tmp/unused.duckdb", [{"source_table": "x",
                                                                                          "dest_table": "x"}]))
    return PostgresSource(cfg.source, RunOptions(batch_size=batch_size))


def test_ranges_cover_every_page_once():
    assert pg_parallel.ctid_where(None, 4) == "ctid < '(4,0)'::tid"
    assert pg_parallel.ctid_where(4, 8) == "ctid >= '(4,0)'::tid AND ctid < '(8,0)'::tid"
    assert pg_parallel.ctid_where(8, None) == "ctid >= '(8,0)'::tid"


def test_small_tables_and_cursor_reads_are_not_split(pg_database):
    pg_exec(pg_database, *SEED)
    with source(pg_database) as src:
        assert pg_parallel.block_ranges(src.connection(), '"public"."orders"') == []


def test_parallel_replace_load_equals_the_source(split_everything, pg_database, tmp_path):
    pg_exec(pg_database, *SEED)
    with source(pg_database) as src:
        ranges = pg_parallel.block_ranges(src.connection(), '"public"."orders"')
    assert len(ranges) == 3 and ranges[0][0] is None and ranges[-1][1] is None
    table = {"source_schema": "public", "source_table": "orders", "dest_table": "orders"}
    result, _ = run_pipeline(job_config(source_for("postgresql", pg_database), tmp_path / "w.duckdb", [table],
                                        batch_size=250))
    assert result.status == "completed", result
    assert dest_rows(tmp_path / "w.duckdb", "orders", "id") == pg_rows(pg_database, "SELECT * FROM orders ORDER BY id")


def test_readers_share_one_snapshot_so_concurrent_updates_neither_duplicate_nor_vanish(split_everything,
                                                                                        pg_database, monkeypatch):
    pg_exec(pg_database, *SEED)
    parts = []
    read_part = pg_parallel.ParallelRead._read_part
    monkeypatch.setattr(pg_parallel.ParallelRead, "_read_part",
                        lambda self, *args: parts.append(args) or read_part(self, *args))
    with source(pg_database) as src:
        batches = src.read_table(table_config(), None)
        seen = [next(batches)]
        # every row gets a new version at a new place (later pages): a reader on another snapshot would see it
        pg_exec(pg_database, "UPDATE orders SET status = 'changed'", "DELETE FROM orders WHERE id <= 100")
        seen.extend(batches)
    ids = [i for b in seen for i in b.column("id").to_pylist()]
    statuses = {s for b in seen for s in b.column("status").to_pylist()}
    assert len(parts) == 3  # really read by three connections
    assert sorted(ids) == list(range(1, 3001))
    assert statuses == {"new"}


def test_a_failing_reader_fails_the_read_with_a_source_error(split_everything, pg_database, monkeypatch):
    pg_exec(pg_database, *SEED)
    monkeypatch.setattr(pg_parallel, "ctid_where", lambda low, high: "no_such_column > 0")
    with source(pg_database) as src, pytest.raises(Exception, match="reading public.orders failed"):
        list(src.read_table(table_config(), None))


def test_interleave_yields_every_item_and_reraises_a_producer_error():
    assert sorted(interleave([iter(range(5)), iter(range(5, 9))])) == list(range(9))

    def broken():
        yield 1
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        list(interleave([broken(), iter(range(100))], depth=1))


def test_a_server_refusing_to_export_a_snapshot_is_read_in_one_stream(split_everything, pg_database, monkeypatch):
    pg_exec(pg_database, *SEED)
    monkeypatch.setattr(pg_parallel, "_SNAPSHOT_ID", re.compile(r"^never$"))
    with source(pg_database) as src:
        ids = [i for b in src.read_table(table_config(), None) for i in b.column("id").to_pylist()]
        pg_exec(pg_database, "INSERT INTO orders VALUES (3001, 1, 'new', 'x')")
        with src.connection().cursor() as cur:  # no snapshot left open on the coordinator: it sees the new row
            cur.execute("SELECT count(*) FROM orders")
            assert cur.fetchone()[0] == 3001
    assert sorted(ids) == list(range(1, 3001))
