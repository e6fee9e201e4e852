"""The first merge into a new or empty table: a plain insert that still keeps one row per primary key."""

from __future__ import annotations

import signal

import duckdb
import pytest

from etl_runner.config import RunOptions, TableConfig, parse_config
from etl_runner.extract.postgres import PostgresSource
from tests.etl_runner.runner_util import (
    dest_rows,
    dest_state,
    job_config,
    pg_exec,
    pg_rows,
    run_cli,
    run_pipeline,
    source_for,
)

DUPLICATES = (
    "CREATE TABLE orders (id int, region text, amount numeric(12,2), updated_at timestamptz)",
    "INSERT INTO orders VALUES (1, 'eu', 1, '2024-01-01'), (2, 'eu', 2, '2024-01-01'), (1, 'eu', 3, '2024-01-03'),"
    " (1, 'us', 4, '2024-01-01'), (3, NULL, 5, '2024-01-01'), (1, 'eu', 6, '2024-01-02'), (3, NULL, 7, '2024-01-02'),"
    " (4, 'us', 8, NULL), (4, 'us', 9, '2024-01-01')",
)
EXPECTED = [(1, "eu", 3), (1, "us", 4), (2, "eu", 2), (3, None, 7), (4, "us", 9)]


def merge_config(db, path, batch_size=2, **extra):
    table = {"source_schema": "public", "source_table": "orders", "dest_table": "orders", "load_mode": "merge",
             "cursor_column": "updated_at", "primary_key": ["id", "region"], **extra}
    return job_config(source_for("postgresql", db), path, [table], batch_size=batch_size)


def loaded(path):
    return [(r[0], r[1], int(r[2])) for r in dest_rows(path, "orders", "id, region")]


def test_first_merge_into_new_table_keeps_latest_row_per_key_across_batches(pg_database, tmp_path):
    pg_exec(pg_database, *DUPLICATES)
    result, _ = run_pipeline(merge_config(pg_database, tmp_path / "w.duckdb"))
    assert result.status == "completed", result
    assert loaded(tmp_path / "w.duckdb") == EXPECTED  # NULL key parts are one key; NULL cursor loses
    assert result.tables[0].rows_read == 9
    assert result.tables[0].rows_loaded == len(EXPECTED)
    assert dest_state(tmp_path / "w.duckdb", "orders") == result.tables[0].cursor_after


def test_first_merge_into_existing_empty_table_also_deduplicates(pg_database, tmp_path):
    pg_exec(pg_database, *DUPLICATES)
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA p1_raw")
        con.execute("CREATE TABLE p1_raw.orders (id INTEGER, region VARCHAR, amount DECIMAL(12,2), "
                    "updated_at TIMESTAMPTZ)")
    result, _ = run_pipeline(merge_config(pg_database, path))
    assert result.status == "completed", result
    assert loaded(path) == EXPECTED


def test_first_merge_without_duplicates_loads_every_row_once(pg_database, tmp_path):
    pg_exec(pg_database, "CREATE TABLE orders (id int, region text, amount numeric(12,2), updated_at timestamptz)",
            "INSERT INTO orders SELECT g, 'eu', g, '2024-01-01'::timestamptz + g * interval '1 minute' "
            "FROM generate_series(1, 1000) g")
    result, _ = run_pipeline(merge_config(pg_database, tmp_path / "w.duckdb", batch_size=300))
    assert result.tables[0].rows_loaded == 1000
    assert [r[0] for r in dest_rows(tmp_path / "w.duckdb", "orders", "id")] == list(range(1, 1001))


def test_then_second_merge_upserts_as_usual(pg_database, tmp_path):
    pg_exec(pg_database, *DUPLICATES)
    path = tmp_path / "w.duckdb"
    run_pipeline(merge_config(pg_database, path))
    pg_exec(pg_database, "INSERT INTO orders VALUES (2, 'eu', 20, '2024-02-01'), (5, 'eu', 50, '2024-02-01')")
    second, _ = run_pipeline(merge_config(pg_database, path))
    assert second.tables[0].rows_loaded == 2
    assert loaded(path) == [(1, "eu", 3), (1, "us", 4), (2, "eu", 20), (3, None, 7), (4, "us", 9), (5, "eu", 50)]


def test_first_merge_killed_during_load_leaves_nothing_and_rerun_is_exact(pg_database, tmp_path):
    pg_exec(pg_database, *DUPLICATES)
    path = tmp_path / "w.duckdb"
    killed = run_cli(merge_config(pg_database, path), tmp_path, env={"RUNNER_FAULT_AT": "during_load"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'orders'"
                           ).fetchone()[0] == 0
    rerun = run_cli(merge_config(pg_database, path), tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    assert loaded(path) == EXPECTED
    assert len(pg_rows(pg_database, "SELECT * FROM orders")) == 9


def test_duplicate_key_with_a_null_part_alone_is_still_found(pg_database, tmp_path):
    pg_exec(pg_database, "CREATE TABLE orders (id int, region text, amount numeric(12,2), updated_at timestamptz)",
            "INSERT INTO orders VALUES (1, 'eu', 1, '2024-01-01'), (3, NULL, 5, '2024-01-01'),"
            " (3, NULL, 7, '2024-01-02')")
    run_pipeline(merge_config(pg_database, tmp_path / "w.duckdb"))
    assert loaded(tmp_path / "w.duckdb") == [(1, "eu", 1), (3, None, 7)]


def test_first_merge_from_a_table_with_a_primary_key_loads_it_exactly(pg_database, tmp_path):
    pg_exec(pg_database, "CREATE TABLE orders (id int, region text, amount numeric(12,2), updated_at timestamptz,"
            " PRIMARY KEY (id, region))",
            "INSERT INTO orders SELECT g, 'eu', g, '2024-01-01' FROM generate_series(1, 50) g")
    result, _ = run_pipeline(merge_config(pg_database, tmp_path / "w.duckdb", batch_size=7))
    assert result.tables[0].rows_loaded == 50
    assert loaded(tmp_path / "w.duckdb") == [(g, "eu", g) for g in range(1, 51)]


@pytest.mark.parametrize(("ddl", "unique"), [
    ("CREATE TABLE t (id int PRIMARY KEY, region text)", True),
    ("CREATE TABLE t (id int NOT NULL, region text NOT NULL, UNIQUE (id, region))", True),
    ("CREATE TABLE t (id int NOT NULL UNIQUE, region text)", True),  # unique on part of the key
    ("CREATE TABLE t (id int, region text)", False),
    ("CREATE TABLE t (id int UNIQUE, region text)", False),  # NULLs may repeat
    ("CREATE TABLE t (id int NOT NULL, region text NOT NULL, flag bool)", False),
])
def test_postgres_reports_whether_it_enforces_the_key(ddl, unique, pg_database):
    pg_exec(pg_database, ddl)
    if not unique and "flag" in ddl:
        pg_exec(pg_database, "CREATE UNIQUE INDEX ON t (id, region) WHERE flag")  # partial: not a guarantee
    source = PostgresSource(parse_config(merge_config(pg_database, "/tmp/unused.duckdb")).source, RunOptions())
    table = TableConfig(table_id=1, source_schema="public", source_table="t", dest_dataset="d", dest_table="t",
                        load_mode="merge", cursor_column="region", primary_key=["id", "region"])
    with source:
        assert source.key_is_unique(table) is unique
