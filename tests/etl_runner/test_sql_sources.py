"""SQL sources against the real servers: selected columns, strictly past the cursor, quoting, errors."""

from __future__ import annotations

import sqlite3

import pyarrow as pa
import pytest

from etl_runner.config import RunOptions, SourceConfig, TableConfig
from etl_runner.extract.base import SourceError, TableSource, get_source
from tests.etl_runner.runner_util import mysql_exec, pg_exec, source_for


def read(kind, db, table: dict, cursor=None, path=None, batch_size=2) -> pa.Table:
    source = get_source(kind)(SourceConfig(**source_for(kind, db, path)), RunOptions(batch_size=batch_size))
    assert isinstance(source, TableSource)
    with source:
        batches = list(source.read_table(TableConfig(table_id=1, dest_dataset="d", dest_table="t", **table), cursor))
    assert all(b.num_rows <= batch_size for b in batches)
    return pa.Table.from_batches(batches)


@pytest.fixture(params=["postgresql", "mysql", "sqlite"])
def weird_table(request, tmp_path):
    """A table named with a quote and a space, columns needing quoting, 5 rows, in each SQL source."""
    kind = request.param
    rows = ", ".join(f"({i}, 'n{i}', {i * 10})" for i in range(1, 6))
    if kind == "postgresql":
        db = request.getfixturevalue("pg_database")
        pg_exec(db, 'CREATE TABLE "odd ""t""" (id int primary key, "my name" text, "Seq" bigint)',
                f'INSERT INTO "odd ""t""" VALUES {rows}')
        return kind, db, None, {"source_schema": "public"}
    if kind == "mysql":
        db = request.getfixturevalue("mysql_database")
        mysql_exec(db, 'CREATE TABLE `odd "t"` (id int primary key, `my name` text, `Seq` bigint)',
                   f'INSERT INTO `odd "t"` VALUES {rows}')
        return kind, db, None, {}
    path = str(tmp_path / "src.db")
    with sqlite3.connect(path) as con:
        con.execute('CREATE TABLE "odd ""t""" (id INTEGER PRIMARY KEY, "my name" TEXT, "Seq" BIGINT)')
        con.execute(f'INSERT INTO "odd ""t""" VALUES {rows}')
    return kind, None, path, {}


def test_reads_only_selected_columns_in_bounded_batches(weird_table):
    kind, db, path, extra = weird_table
    out = read(kind, db, {"source_table": 'odd "t"', "columns": ["my name", "id"], **extra}, path=path)
    assert out.column_names == ["my name", "id"]
    assert sorted(out.column("id").to_pylist()) == [1, 2, 3, 4, 5]


def test_incremental_reads_strictly_past_the_cursor(weird_table):
    kind, db, path, extra = weird_table
    table = {"source_table": 'odd "t"', "load_mode": "incremental", "cursor_column": "Seq", **extra}
    out = read(kind, db, table, cursor="30", path=path)
    assert sorted(out.column("Seq").to_pylist()) == [40, 50]


def test_no_rows_past_cursor_yields_the_schema(weird_table):
    kind, db, path, extra = weird_table
    table = {"source_table": 'odd "t"', "load_mode": "incremental", "cursor_column": "Seq", **extra}
    out = read(kind, db, table, cursor="50", path=path)
    assert out.num_rows == 0 and "Seq" in out.column_names


def test_missing_column_is_a_clear_error(weird_table):
    kind, db, path, extra = weird_table
    with pytest.raises(SourceError, match="nope"):
        read(kind, db, {"source_table": 'odd "t"', "columns": ["id", "nope"], **extra}, path=path)


def test_injection_in_table_name_is_only_a_missing_table(pg_database):
    pg_exec(pg_database, "CREATE TABLE victim (id int)")
    with pytest.raises(SourceError, match="does not exist"):
        read("postgresql", pg_database, {"source_table": 'victim"; DROP TABLE victim; --'})
    with pytest.raises(SourceError, match="does not exist"):
        read("postgresql", pg_database, {"source_table": "victim; DROP TABLE victim"})


def test_cursor_value_is_a_parameter_not_sql(pg_database, mysql_database):
    pg_exec(pg_database, "CREATE TABLE t (id int, c text)", "INSERT INTO t VALUES (1, 'a'), (2, 'b')")
    mysql_exec(mysql_database, "CREATE TABLE t (id int, c varchar(10))", "INSERT INTO t VALUES (1, 'a'), (2, 'b')")
    evil = "a' OR '1'='1"
    for kind, db in (("postgresql", pg_database), ("mysql", mysql_database)):
        out = read(kind, db, {"source_table": "t", "load_mode": "incremental", "cursor_column": "c"}, cursor=evil)
        assert out.column("c").to_pylist() == ["b"], kind


@pytest.mark.parametrize("kind", ["postgresql", "mysql"])
def test_timestamp_cursor_with_lookback_and_historical_start(kind, request):
    db = request.getfixturevalue("pg_database" if kind == "postgresql" else "mysql_database")
    ddl = "CREATE TABLE ev (id int, at timestamp(6))"
    data = ("INSERT INTO ev VALUES (1, '2024-01-01 00:00:00'), (2, '2024-01-01 00:00:10.000001'), "
            "(3, '2024-01-01 00:00:20'), (4, '2024-01-02 00:00:00')")
    (pg_exec if kind == "postgresql" else mysql_exec)(db, ddl, data)
    base = {"source_table": "ev", "load_mode": "merge", "cursor_column": "at", "primary_key": ["id"]}
    strict = read(kind, db, base, cursor="2024-01-01T00:00:10.000001")
    assert sorted(strict.column("id").to_pylist()) == [3, 4]
    lookback = read(kind, db, {**base, "lookback_seconds": 15}, cursor="2024-01-01T00:00:20")
    assert sorted(lookback.column("id").to_pylist()) == [2, 3, 4]
    first_run = read(kind, db, {**base, "historical_start": "2024-01-02"})
    assert first_run.column("id").to_pylist() == [4]


def test_unreachable_server_is_a_source_error_without_password():
    cfg = SourceConfig(kind="postgresql", params={"host": "127.0.0.1", "port": 1, "database": "x"},
                       secrets={"password": "s3cret-pw"})
    source = get_source("postgresql")(cfg, RunOptions())
    with pytest.raises(SourceError) as err:
        list(source.read_table(TableConfig(table_id=1, dest_dataset="d", dest_table="t", source_table="t"), None))
    assert "s3cret-pw" not in str(err.value)
