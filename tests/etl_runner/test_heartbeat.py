"""Heartbeats keep flowing while a runner waits for the warehouse, so the reaper never takes a waiting run."""

from __future__ import annotations

import sqlite3
import threading
import time

import duckdb

from tests.etl_runner.runner_util import job_config, source_for
from tests.etl_runner.test_cli_api import FakeApi, run_api_mode


def test_a_runner_waiting_for_the_warehouse_keeps_sending_heartbeats(tmp_path):
    source = tmp_path / "src.sqlite"
    with sqlite3.connect(source) as con:
        con.execute("CREATE TABLE items (id INTEGER PRIMARY KEY)")
        con.executemany("INSERT INTO items VALUES (?)", [(i,) for i in range(10)])
    warehouse = tmp_path / "wh.duckdb"
    config = job_config(source_for("sqlite", path=str(source)), warehouse,
                        [{"source_table": "items", "dest_table": "items", "load_mode": "replace"}],
                        heartbeat_seconds=1)
    api = FakeApi(config)
    holder = duckdb.connect(str(warehouse))  # another run is loading: the warehouse's one writer is taken
    try:
        release = threading.Timer(4.0, holder.close)
        release.start()
        started = time.monotonic()
        proc = run_api_mode(api)
        elapsed = time.monotonic() - started
    finally:
        api.close()
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert elapsed >= 4
    updates = api.updates()
    waiting = [u for u in updates if u.get("phase") == "waiting_for_warehouse"]
    assert waiting, [u.get("phase") for u in updates]
    beats = [u for u in updates if u.get("heartbeat")]
    assert len(beats) >= 3, f"{len(beats)} heartbeats in {elapsed:.1f} s"
    assert updates[-1]["status"] == "completed"
