"""Concurrency against a real platform (gunicorn, PostgreSQL app DB, local launcher, DuckDB warehouse).

- 50 simultaneous webhook deliveries of one slot start exactly one run, launched once;
- 20 jobs triggered at once all complete with exact counts (runners take turns on the DuckDB writer lock);
- two `run_scheduler --once` processes at the same moment fire each due slot once.
"""
from __future__ import annotations

import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import psycopg
import pytest
import requests
from django.test import override_settings

from tests.reliability.jobs import create_job, create_pg_connection, wait_runs, warehouse_rows
from tests.reliability.server import ROOT

CONCURRENT_JOBS = 20
ROWS_PER_TABLE = 500


def _secret_key(server) -> str:
    return (server.data_dir / "django_secret_key").read_text().strip()


def _scheduler_token(server, job_id: int, slot: datetime) -> str:
    """The app's own local scheduler token, signed with the server's key."""
    from ml_platform.etl.scheduler_auth import local_token_mint

    with override_settings(SECRET_KEY=_secret_key(server)):
        return local_token_mint(job_id=job_id, slot=slot)


@pytest.fixture
def source_tables(pg_database):
    """CONCURRENT_JOBS tables t00..t19 with ROWS_PER_TABLE + i rows each."""
    with psycopg.connect(pg_database["dsn"], autocommit=True) as conn:
        for i in range(CONCURRENT_JOBS):
            conn.execute(f"CREATE TABLE t{i:02d} (id int PRIMARY KEY, v text, updated_at timestamptz NOT NULL)")
            conn.execute(f"INSERT INTO t{i:02d} SELECT g, md5(g::text), '2024-01-01'::timestamptz + g * "
                         f"interval '1 second' FROM generate_series(1, {ROWS_PER_TABLE + i}) g")
    return pg_database


def test_fifty_concurrent_deliveries_of_one_slot_start_exactly_one_run(platform_server, browser, source_tables):
    project = browser.create_project("webhook storm")
    job_id = create_job(browser, project, create_pg_connection(browser, project, source_tables), "t00", "replace")
    slot = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
    token = _scheduler_token(platform_server, job_id, slot)
    url = f"{platform_server.url}/api/etl/sources/{job_id}/scheduler-webhook/"
    barrier = threading.Barrier(50)

    def deliver(_):
        barrier.wait()
        response = requests.post(url, data=b"{}", timeout=60, headers={
            "Authorization": f"Bearer {token}", "Content-Type": "application/json",
            "X-CloudScheduler-ScheduleTime": "2026-06-01T10:00:00Z"})
        return response.status_code, response.json()

    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(deliver, range(50)))
    assert {code for code, _ in answers} == {200}, answers[:5]
    runs = platform_server.query("SELECT id, status FROM ml_platform_etlrun WHERE data_source_id = %s", (job_id,))
    assert len(runs) == 1, runs
    run_id = runs[0][0]
    assert {body.get("run_id") for _, body in answers} == {run_id}
    [final] = wait_runs(platform_server, [run_id])
    assert final["status"] == "completed", final
    assert final["total_rows_loaded"] == ROWS_PER_TABLE
    time.sleep(1)  # let gunicorn flush its access log
    config_fetches = platform_server.requests_to(f"/api/etl/job-config/{job_id}/")
    assert config_fetches == 1, f"{config_fetches} runners fetched the config of run {run_id}: launched more than once"


def test_twenty_jobs_started_at_once_all_complete_with_exact_counts(platform_server, browser, source_tables):
    project = browser.create_project("twenty at once")
    connection = create_pg_connection(browser, project, source_tables)
    modes = ["replace", "append", "incremental", "merge"]
    jobs = [create_job(browser, project, connection, f"t{i:02d}", modes[i % 4]) for i in range(CONCURRENT_JOBS)]
    barrier = threading.Barrier(CONCURRENT_JOBS)

    def trigger(job_id):
        barrier.wait()
        return browser.post(f"/api/etl/sources/{job_id}/run/")

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=CONCURRENT_JOBS) as pool:
        responses = list(pool.map(trigger, jobs))
    assert all(r.status_code == 200 for r in responses), [r.text[:200] for r in responses if r.status_code != 200]
    reads = _WarehouseReader(browser, project).start()  # the UI keeps reading the warehouse while runners write
    runs = wait_runs(platform_server, [r.json()["run_id"] for r in responses], timeout=240)
    elapsed = time.monotonic() - started
    reads.stop()
    assert reads.answers and not reads.failures, reads.failures[:5]
    failed = [(r["id"], r["status"], r["error_message"]) for r in runs if r["status"] != "completed"]
    assert not failed, failed
    dataset = f"p{project}_raw_data"
    for i, run in enumerate(runs):
        expected = ROWS_PER_TABLE + i
        assert run["total_rows_loaded"] == expected, run
        count = warehouse_rows(platform_server.warehouse, dataset, f"t{i:02d}", "count(*), count(DISTINCT id)",
                               order="1")
        assert count == [(expected, expected)], (i, count)
    print(f"\n{CONCURRENT_JOBS} concurrent runs completed in {elapsed:.1f}s")


class _WarehouseReader:
    """Poll the dataset page and the table list (both read DuckDB) until stopped; record every non-200."""

    def __init__(self, browser, project: int):
        self.browser, self.project = browser, project
        self.answers, self.failures = 0, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def _run(self) -> None:
        paths = [f"/models/{self.project}/dataset/", f"/api/etl/datasets/raw_data/tables/?model_id={self.project}"]
        while not self._stop.is_set():
            for path in paths:
                response = self.browser.get(path)
                self.answers += 1
                if response.status_code != 200 or "could not be read" in response.text:
                    self.failures.append((path, response.status_code, response.text[:200]))
            time.sleep(0.2)


def test_two_scheduler_processes_fire_each_due_slot_once(platform_server, browser, source_tables):
    project = browser.create_project("two schedulers")
    connection = create_pg_connection(browser, project, source_tables)
    every_minute = {"schedule_type": "cron", "cron": "* * * * *", "schedule_timezone": "UTC"}
    jobs = [create_job(browser, project, connection, f"t{i:02d}", "replace", schedule=every_minute)
            for i in range(5)]
    platform_server.query("UPDATE ml_platform_datasource SET next_run_at = date_trunc('minute', now()) "
                          "- interval '1 minute' WHERE id = ANY(%s) RETURNING id", (jobs,))
    command = [sys.executable, "manage.py", "run_scheduler", "--once"]
    procs = [subprocess.Popen(command, cwd=ROOT, env=platform_server.env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    runs = platform_server.query("SELECT data_source_id, scheduled_for, id FROM ml_platform_etlrun "
                                 "WHERE data_source_id = ANY(%s) AND status <> 'skipped'", (jobs,))
    per_job = {job: [r for r in runs if r[0] == job] for job in jobs}
    assert all(len(v) == 1 for v in per_job.values()), (per_job, outputs)
    finals = wait_runs(platform_server, [r[2] for r in runs])
    assert {r["status"] for r in finals} == {"completed"}, finals
    assert {r["trigger"] for r in finals} == {"scheduled"}
    fired = sum(out.count("HTTP 200") for out, _ in outputs)
    assert fired == len(jobs), outputs
    time.sleep(1)
    assert [platform_server.requests_to(f"/api/etl/job-config/{job}/") for job in jobs] == [1] * len(jobs)
