"""Kill the runner (SIGKILL) at each phase, rerun, and compare the destination exactly: no duplicates, no gaps."""

from __future__ import annotations

import signal

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
)

SEED = ("CREATE TABLE orders (id int primary key, amount numeric(12,2), status text, updated_at timestamptz)",
        "INSERT INTO orders SELECT g, g * 1.5, 'new', '2024-01-01'::timestamptz + g * interval '1 second' "
        "FROM generate_series(1, 3000) g")
CHANGE = ("UPDATE orders SET status = 'paid', updated_at = updated_at + interval '1 day' WHERE id % 7 = 0",
          "INSERT INTO orders SELECT g, g, 'late', '2024-01-05'::timestamptz FROM generate_series(3001, 3100) g")
MODES = {
    "replace": {},
    "append": {},
    "incremental": {"cursor_column": "updated_at"},
    "merge": {"cursor_column": "updated_at", "primary_key": ["id"]},
}
PRE_COMMIT = ["after_extract", "during_load", "before_commit"]


def cfg(db, path, mode):
    table = {"source_schema": "public", "source_table": "orders", "dest_table": "orders", "load_mode": mode,
             **MODES[mode]}
    return job_config(source_for("postgresql", db), path, [table], batch_size=500)


@pytest.mark.parametrize("fault", [*PRE_COMMIT, "before_report"])
@pytest.mark.parametrize("mode", list(MODES))
def test_killed_run_then_rerun_matches_an_uninterrupted_history(mode, fault, pg_database, tmp_path):
    pg_exec(pg_database, *SEED)
    faulted, reference = tmp_path / "faulted.duckdb", tmp_path / "reference.duckdb"
    assert run_cli(cfg(pg_database, faulted, mode), tmp_path).returncode == 0
    run_pipeline(cfg(pg_database, reference, mode))
    before = dest_rows(faulted, "orders", "ALL")
    pg_exec(pg_database, *CHANGE)

    killed = run_cli(cfg(pg_database, faulted, mode), tmp_path, env={"RUNNER_FAULT_AT": fault})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    if fault in PRE_COMMIT:
        assert dest_rows(faulted, "orders", "ALL") == before  # nothing of the killed run is visible
    else:
        run_pipeline(cfg(pg_database, reference, mode))  # the killed run had committed

    rerun = run_cli(cfg(pg_database, faulted, mode), tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    run_pipeline(cfg(pg_database, reference, mode))
    assert dest_rows(faulted, "orders", "ALL") == dest_rows(reference, "orders", "ALL")
    assert dest_state(faulted, "orders") == dest_state(reference, "orders")
    if mode in ("replace", "merge"):
        source = pg_rows(pg_database, "SELECT id, amount, status, updated_at FROM orders ORDER BY id")
        assert dest_rows(faulted, "orders", "id") == source
    if mode == "incremental":
        ids = [r[0] for r in dest_rows(faulted, "orders", "ALL")]
        assert len(ids) == 3000 + 3000 // 7 + 100  # every version once: no duplicates, no gaps
