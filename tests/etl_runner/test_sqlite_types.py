"""SQLite source: declared types become the warehouse types the platform plans, and time cursors never skip rows."""

import sqlite3
from datetime import date, datetime
from decimal import Decimal

import duckdb

from tests.etl_runner.runner_util import job_config, run_pipeline, source_for


def _make_orders(path, rows):
    with sqlite3.connect(path) as con:
        con.execute(
            "CREATE TABLE orders (id INTEGER PRIMARY KEY, placed_at TIMESTAMP, ship_date DATE, "
            "amount DECIMAL(10,2), paid BOOLEAN, note TEXT, score REAL)"
        )
        con.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?)", rows)


def _load(tmp_path, db_path, mode="incremental"):
    table = {"source_table": "orders", "dest_table": "orders", "load_mode": mode, "cursor_column": "placed_at",
             "primary_key": ["id"]}
    config = job_config(source_for("sqlite", path=str(db_path)), tmp_path / "wh.duckdb", [table])
    result, _ = run_pipeline(config)
    assert result.status == "completed", result
    with duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True) as con:
        return con.execute("SELECT * FROM p1_raw.orders ORDER BY id").fetchall()


def test_declared_sqlite_types_load_as_typed_columns(tmp_path):
    db = tmp_path / "src.sqlite"
    _make_orders(db, [(1, "2024-03-01 10:00:00", "2024-03-02", 12.5, 1, "a", 0.5),
                      (2, "2024-03-01T11:30:00.250", None, None, 0, 7, None)])
    rows = _load(tmp_path, db, mode="replace")
    assert rows == [
        (1, datetime(2024, 3, 1, 10, 0), date(2024, 3, 2), Decimal("12.50"), True, "a", 0.5),
        (2, datetime(2024, 3, 1, 11, 30, 0, 250000), None, None, False, "7", None),
    ]


def test_timestamp_cursor_compares_in_sqlite_time_format(tmp_path):
    db = tmp_path / "src.sqlite"
    _make_orders(db, [(1, "2024-03-01 10:00:00", None, 1, 1, "x", 1.0)])
    assert len(_load(tmp_path, db)) == 1
    with sqlite3.connect(db) as con:  # same day, later time, spelled with a space (the cursor is ISO with 'T')
        con.execute("INSERT INTO orders VALUES (2, '2024-03-01 10:00:01', NULL, 2, 1, 'y', 2.0)")
    rows = _load(tmp_path, db)
    assert [r[0] for r in rows] == [1, 2]
    assert len(_load(tmp_path, db)) == 2  # nothing new: nothing added
