"""Each load mode x DuckDB through the pipeline, schema drift, state in the warehouse, lock waiting."""

from __future__ import annotations

import time

import duckdb
import pytest

from tests.etl_runner.runner_util import (
    dest_rows,
    dest_state,
    job_config,
    pg_exec,
    pg_rows,
    run_cli,
    run_pipeline,
    source_for,
    stdout_events,
    warehouse_locked,
)

SEED = ("CREATE TABLE orders (id int primary key, amount numeric(12,2), status text, updated_at timestamptz)",
        "INSERT INTO orders SELECT g, g * 1.5, 'new', '2024-01-01'::timestamptz + g * interval '1 second' "
        "FROM generate_series(1, 2500) g")
MODES = {
    "replace": {},
    "append": {},
    "incremental": {"cursor_column": "updated_at"},
    "merge": {"cursor_column": "updated_at", "primary_key": ["id"]},
}


def config(db, tmp_path, mode, **extra):
    table = {"source_schema": "public", "source_table": "orders", "dest_table": "orders", "load_mode": mode,
             **MODES[mode], **extra}
    return job_config(source_for("postgresql", db), tmp_path / "w.duckdb", [table])


def change_source(db):
    pg_exec(db, "UPDATE orders SET status = 'paid', updated_at = updated_at + interval '1 day' WHERE id % 10 = 0",
            "INSERT INTO orders SELECT g, g, 'new', '2024-01-03'::timestamptz FROM generate_series(2501, 2600) g")


@pytest.mark.parametrize("mode", list(MODES))
def test_load_mode_twice_gives_expected_destination(mode, pg_database, tmp_path):
    pg_exec(pg_database, *SEED)
    cfg = config(pg_database, tmp_path, mode)
    first, reporter = run_pipeline(cfg)
    assert first.status == "completed", first
    assert first.tables[0].rows_loaded == 2500
    assert "load" in reporter.phases
    change_source(pg_database)
    second, _ = run_pipeline(cfg)
    assert second.status == "completed", second
    source = pg_rows(pg_database, "SELECT id, amount, status, updated_at FROM orders ORDER BY id")
    dest = dest_rows(tmp_path / "w.duckdb", "orders", "id, updated_at")
    if mode in ("replace", "merge"):
        assert dest == source
    elif mode == "append":
        assert len(dest) == 2500 + 2600
    else:  # incremental: append-only, the changed rows arrive again as new versions
        assert second.tables[0].rows_loaded == 250 + 100
        assert len(dest) == 2500 + 350
    if mode in ("incremental", "merge"):
        assert dest_state(tmp_path / "w.duckdb", "orders") == second.tables[0].cursor_after
        assert second.tables[0].cursor_before == first.tables[0].cursor_after
        assert second.tables[0].cursor_after.startswith("2024-01-03T00:00:00")


def test_merge_deduplicates_within_the_batch_and_lookback_overlap(pg_database, tmp_path):
    pg_exec(pg_database, "CREATE TABLE orders (id int, amount numeric(12,2), status text, updated_at timestamptz)",
            "INSERT INTO orders VALUES (1, 1, 'a', '2024-01-01'), (1, 2, 'b', '2024-01-02'), (2, 3, 'c', '2024-01-01')")
    cfg = config(pg_database, tmp_path, "merge", lookback_seconds=86400 * 3)
    run_pipeline(cfg)
    run_pipeline(cfg)  # the lookback re-reads everything: merge must not duplicate
    assert [r[:3] for r in dest_rows(tmp_path / "w.duckdb", "orders", "id")] == [(1, 2, "b"), (2, 3, "c")]


def test_incremental_with_lookback_and_key_skips_rows_already_loaded(pg_database, tmp_path):
    pg_exec(pg_database, *SEED)
    cfg = config(pg_database, tmp_path, "incremental", lookback_seconds=100, primary_key=["id"])
    run_pipeline(cfg)
    second, _ = run_pipeline(cfg)
    assert second.tables[0].rows_loaded == 0
    assert len(dest_rows(tmp_path / "w.duckdb", "orders")) == 2500


def test_new_source_column_is_added_and_dropped_one_kept(pg_database, tmp_path):
    pg_exec(pg_database, *SEED)
    cfg = config(pg_database, tmp_path, "merge")
    run_pipeline(cfg)
    pg_exec(pg_database, "ALTER TABLE orders ADD COLUMN note text", "ALTER TABLE orders DROP COLUMN status",
            "UPDATE orders SET note = 'hi', updated_at = updated_at + interval '2 days' WHERE id = 1")
    result, _ = run_pipeline(cfg)
    assert result.status == "completed", result
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        cols = [r[0] for r in con.execute("DESCRIBE p1_raw.orders").fetchall()]
        assert cols == ["id", "amount", "status", "updated_at", "note"]
        assert con.execute("SELECT status, note FROM p1_raw.orders WHERE id = 1").fetchone() == (None, "hi")
        assert con.execute("SELECT status, note FROM p1_raw.orders WHERE id = 2").fetchone() == ("new", None)


def test_schema_drift_fail_and_incompatible_change_fail_clearly(pg_database, tmp_path):
    pg_exec(pg_database, *SEED)
    run_pipeline(config(pg_database, tmp_path, "append"))
    pg_exec(pg_database, "ALTER TABLE orders ADD COLUMN note text")
    result, _ = run_pipeline(config(pg_database, tmp_path, "append", schema_drift="fail"))
    assert result.status == "failed" and "note" in result.tables[0].error
    pg_exec(pg_database, "ALTER TABLE orders DROP COLUMN note", "ALTER TABLE orders ALTER COLUMN status TYPE int "
            "USING 1")
    result, _ = run_pipeline(config(pg_database, tmp_path, "append"))
    assert result.status == "failed" and "status" in result.tables[0].error and "VARCHAR" in result.tables[0].error
    assert len(dest_rows(tmp_path / "w.duckdb", "orders")) == 2500  # failed loads changed nothing


def test_safe_widening_is_applied(pg_database, tmp_path):
    pg_exec(pg_database, "CREATE TABLE orders (id smallint, amount numeric(5,2), status text, updated_at timestamptz)",
            "INSERT INTO orders VALUES (1, 1.25, 'a', '2024-01-01')")
    run_pipeline(config(pg_database, tmp_path, "append"))
    pg_exec(pg_database, "ALTER TABLE orders ALTER COLUMN id TYPE bigint",
            "ALTER TABLE orders ALTER COLUMN amount TYPE numeric(12,4)", "INSERT INTO orders VALUES "
            "(9000000000, 12345678.1234, 'b', '2024-01-02')")
    result, _ = run_pipeline(config(pg_database, tmp_path, "append"))
    assert result.status == "completed", result
    assert dest_rows(tmp_path / "w.duckdb", "orders", "id")[-1][:2] == (9000000000, __import__("decimal").Decimal(
        "12345678.1234"))


def test_partial_status_when_one_table_fails(pg_database, tmp_path):
    pg_exec(pg_database, *SEED)
    cfg = config(pg_database, tmp_path, "replace")
    cfg["tables"].append({"table_id": 2, "dest_dataset": "p1_raw", "source_schema": "public",
                          "source_table": "missing", "dest_table": "missing"})
    result, _ = run_pipeline(cfg)
    assert result.status == "partial"
    assert [t.status for t in result.tables] == ["completed", "failed"]
    assert "missing" in result.error["message"]


def test_concurrent_run_waits_for_the_warehouse(pg_database, tmp_path):
    pg_exec(pg_database, *SEED)
    path = tmp_path / "w.duckdb"
    with warehouse_locked(path, seconds=3):
        start = time.monotonic()
        proc = run_cli(config(pg_database, tmp_path, "replace"), tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert time.monotonic() - start > 1.5
        phases = [e.get("phase") for e in stdout_events(proc)]
        assert "waiting_for_warehouse" in phases
    assert len(dest_rows(path, "orders")) == 2500


def test_source_connects_while_the_warehouse_opens_and_again_after_a_wait(pg_database, tmp_path, monkeypatch):
    """The connection opened during a wait for the warehouse lock may be cut while idle: a fresh one reads."""
    from etl_runner.extract.postgres import PostgresSource

    pg_exec(pg_database, *SEED)
    opened = []
    original = PostgresSource._connect
    monkeypatch.setattr(PostgresSource, "_connect", lambda self: opened.append(1) or original(self))
    assert run_pipeline(config(pg_database, tmp_path, "replace"))[0].status == "completed"
    assert len(opened) == 1  # no wait: the connection opened beside the warehouse is the one that reads
    with warehouse_locked(tmp_path / "w.duckdb", seconds=2):
        result, reporter = run_pipeline(config(pg_database, tmp_path, "replace"))
    assert result.status == "completed", result
    assert "waiting_for_warehouse" in reporter.phases
    assert len(opened) == 3  # the second run connected early, waited, then read on a fresh connection
