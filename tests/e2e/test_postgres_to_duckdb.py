"""End to end: a live platform, a real PostgreSQL source, the real runner subprocess, the DuckDB warehouse.

Everything the user does goes through the API; the runner reaches the live server over HTTP with its run token.
"""
import time

import duckdb
import psycopg
import pytest
from django.urls import reverse

from ml_platform.models import ETLRun, RunStatus
from ml_platform.tests.factories import DEFAULT_PASSWORD, ETLConfigurationFactory, ProjectFactory, UserFactory

RUN_TIMEOUT_SECONDS = 90


@pytest.fixture
def source(pg_database):
    """An `orders` table with 5 rows."""
    with psycopg.connect(pg_database["dsn"], autocommit=True) as conn:
        conn.execute("CREATE TABLE orders (id integer PRIMARY KEY, customer text NOT NULL, amount numeric(10,2), "
                     "updated_at timestamptz NOT NULL)")
        conn.execute("INSERT INTO orders SELECT i, 'c' || i, i * 1.5, "
                     "timestamptz '2024-01-01 00:00:00+00' + i * interval '1 minute' FROM generate_series(1, 5) i")
    return pg_database


def _rows(dsn: str) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return [(r[0], r[1], float(r[2]), r[3]) for r in
                conn.execute("SELECT id, customer, amount, updated_at FROM orders ORDER BY id").fetchall()]


def _warehouse_rows(path: str, dataset: str) -> list[tuple]:
    con = duckdb.connect(path, read_only=True)
    try:
        rows = con.execute(f'SELECT id, customer, amount, updated_at FROM "{dataset}".orders ORDER BY id').fetchall()
    finally:
        con.close()
    return [(r[0], r[1], float(r[2]), r[3]) for r in rows]


def _wait_for_end(run_id: int) -> ETLRun:
    deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        run = ETLRun.objects.get(pk=run_id)
        if not run.is_active:
            return run
        time.sleep(0.3)
    pytest.fail(f"run {run_id} still {ETLRun.objects.get(pk=run_id).status} after {RUN_TIMEOUT_SECONDS}s")


def _run(client, job_id: int) -> ETLRun:
    response = client.post(reverse("api_etl_run_source", args=[job_id]), data={}, content_type="application/json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["execution_id"].startswith("local-")
    run = _wait_for_end(body["run_id"])
    detail = client.get(reverse("api_etl_run_status", args=[run.pk])).json()
    assert run.status == RunStatus.COMPLETED, (run.error_message, detail.get("log_tail"))
    return run


def _setup_job(client, source, sync_mode: str = "merge") -> tuple[int, str]:
    """A user, a project, a connection and a job, all made through the API; returns (job id, dataset)."""
    owner = UserFactory(username="e2e-owner")
    project = ProjectFactory(created_by=owner)
    ETLConfigurationFactory(model_endpoint=project)
    assert client.login(username=owner.username, password=DEFAULT_PASSWORD)
    created = client.post(reverse("api_connection_create", args=[project.pk]), content_type="application/json",
                          data={"name": "shop db", "source_type": "postgresql", "host": source["host"],
                                "port": source["port"], "database": source["database"],
                                "username": source["username"], "password": ""})
    assert created.status_code in (200, 201), created.content
    connection_id = created.json()["connection"]["id"]

    job = client.post(reverse("api_etl_create_job", args=[project.pk]), content_type="application/json", data={
        "name": "orders sync", "connection_id": connection_id,
        "tables": [{"schema_name": "public", "source_table_name": "orders", "dest_table_name": "orders",
                    "sync_mode": sync_mode, "incremental_column": "updated_at", "primary_key": ["id"]}],
        "schedule_config": {"schedule_type": "manual"},
    })
    assert job.status_code == 200, job.content
    return job.json()["job_id"], f"p{project.pk}_raw_data"


@pytest.mark.django_db(transaction=True)
def test_postgres_job_loads_into_duckdb_and_merges_changes(platform, source, client):
    job_id, dataset = _setup_job(client, source)

    first = _run(client, job_id)
    assert (first.total_rows_extracted, first.total_rows_loaded) == (5, 5)
    assert _warehouse_rows(platform.WAREHOUSE_DUCKDB_PATH, dataset) == _rows(source["dsn"])

    with psycopg.connect(source["dsn"], autocommit=True) as conn:
        conn.execute("UPDATE orders SET amount = amount + 100, updated_at = timestamptz '2024-02-01 00:00:00+00' "
                     "WHERE id IN (2, 4)")
        conn.execute("INSERT INTO orders SELECT i, 'new' || i, i, timestamptz '2024-02-02 00:00:00+00' "
                     "FROM generate_series(6, 8) i")

    second = _run(client, job_id)
    assert (second.total_rows_extracted, second.total_rows_loaded) == (5, 5)
    assert _warehouse_rows(platform.WAREHOUSE_DUCKDB_PATH, dataset) == _rows(source["dsn"])
    table = second.data_source.tables.get()
    assert table.cursor_value.startswith("2024-02-02")
    assert table.last_row_count == 5


def _change_source(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO orders VALUES (99, 'late', 1, timestamptz '2024-03-01 00:00:00+00')")


@pytest.mark.django_db(transaction=True)
def test_cancel_stops_a_waiting_runner_and_leaves_the_destination_unchanged(platform, source, client):
    job_id, dataset = _setup_job(client, source)
    _run(client, job_id)
    before = _warehouse_rows(platform.WAREHOUSE_DUCKDB_PATH, dataset)
    _change_source(source["dsn"])
    lock = duckdb.connect(platform.WAREHOUSE_DUCKDB_PATH)  # hold the writer's turn: the runner must wait
    try:
        run_id = client.post(reverse("api_etl_run_source", args=[job_id])).json()["run_id"]
        deadline = time.monotonic() + 30
        while ETLRun.objects.get(pk=run_id).phase != "waiting_for_warehouse" and time.monotonic() < deadline:
            time.sleep(0.2)
        run = ETLRun.objects.get(pk=run_id)
        assert run.phase == "waiting_for_warehouse", run.status
        response = client.post(reverse("api_etl_run_cancel", args=[run_id]))
        assert response.json()["run_status"] == "cancelled"
        from ml_platform.utils.launcher import FINISHED, LocalLauncher

        assert LocalLauncher().state(run.execution_id) == FINISHED
    finally:
        lock.close()
    assert _warehouse_rows(platform.WAREHOUSE_DUCKDB_PATH, dataset) == before
    assert ETLRun.objects.get(pk=run_id).status == RunStatus.CANCELLED


@pytest.mark.django_db(transaction=True)
def test_runner_killed_before_reporting_is_reaped_and_the_job_unlocked(platform, source, client, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from ml_platform.etl.services import run_reap_stale

    job_id, _ = _setup_job(client, source)
    monkeypatch.setenv("RUNNER_FAULT_AT", "before_report")  # the runner SIGKILLs itself before its last update
    run_id = client.post(reverse("api_etl_run_source", args=[job_id])).json()["run_id"]
    run = ETLRun.objects.get(pk=run_id)
    from ml_platform.utils.launcher import FINISHED, LocalLauncher

    deadline = time.monotonic() + 60
    while LocalLauncher().state(run.execution_id) != FINISHED and time.monotonic() < deadline:
        time.sleep(0.2)
    assert ETLRun.objects.get(pk=run_id).status == RunStatus.RUNNING
    assert run_reap_stale(now=timezone.now() + timedelta(seconds=31)) == 1
    run.refresh_from_db()
    assert (run.status, run.error_message) == (RunStatus.FAILED, "runner lost: no heartbeat")
    monkeypatch.delenv("RUNNER_FAULT_AT")
    assert _run(client, job_id).status == RunStatus.COMPLETED  # the lock was released
