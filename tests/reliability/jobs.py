"""Driving the platform like the UI does: connections, jobs, runs; waiting for runs; reading the warehouse."""
from __future__ import annotations

import time

import duckdb

ACTIVE = ("queued", "running")


def create_pg_connection(browser, project_id: int, pg: dict, *, name: str = "source db", password: str = "") -> int:
    response = browser.post(f"/api/models/{project_id}/connections/create/", json={
        "name": name, "source_type": "postgresql", "host": pg["host"], "port": pg["port"],
        "database": pg["database"], "username": pg["username"], "password": password})
    assert response.status_code in (200, 201), response.text[:500]
    return response.json()["connection_id"]


def create_job(browser, project_id: int, connection_id: int, table: str, mode: str, *, name: str | None = None,
               schedule: dict | None = None) -> int:
    spec = {"schema_name": "public", "source_table_name": table, "dest_table_name": table, "sync_mode": mode}
    if mode in ("incremental", "merge"):
        spec["incremental_column"] = "updated_at"
    if mode == "merge":
        spec["primary_key"] = ["id"]
    response = browser.post(f"/api/models/{project_id}/etl/create-job/", json={
        "name": name or f"{table} {mode}", "connection_id": connection_id, "tables": [spec],
        "schedule_config": schedule or {"schedule_type": "manual"}})
    assert response.status_code == 200, response.text[:500]
    return response.json()["job_id"]


def run_row(server, run_id: int) -> dict:
    cols = ("id", "status", "phase", "error_type", "error_message", "total_rows_extracted", "total_rows_loaded",
            "execution_id", "data_source_id", "trigger", "scheduled_for")
    row = server.query(f"SELECT {', '.join(cols)} FROM ml_platform_etlrun WHERE id = %s", (run_id,))[0]
    return dict(zip(cols, row, strict=True))


def wait_runs(server, run_ids: list[int], timeout: float = 120) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        rows = [run_row(server, r) for r in run_ids]
        if all(r["status"] not in ACTIVE for r in rows) or time.monotonic() > deadline:
            return rows
        time.sleep(0.5)


def warehouse_rows(path: str, dataset: str, table: str, columns: str = "*", order: str = "id") -> list[tuple]:
    """Read the DuckDB warehouse (read-only, retrying while a runner holds the writer lock)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            con = duckdb.connect(path, read_only=True)
        except duckdb.IOException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
            continue
        try:
            return con.execute(f'SELECT {columns} FROM "{dataset}"."{table}" ORDER BY {order}').fetchall()
        finally:
            con.close()
