"""End to end: run_scheduler --once delivers due slots over HTTP to the webhook, exactly as Cloud Scheduler would."""
import io
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
import time_machine
from django.core.management import call_command

from ml_platform.etl import scheduling
from ml_platform.models import DataSource, ETLRun, RunStatus, RunTrigger

BEFORE_SLOT = datetime(2026, 6, 1, 10, 0, 50, tzinfo=UTC)
SLOT = datetime(2026, 6, 1, 10, 1, tzinfo=UTC)


@pytest.fixture
def runner_plays_its_part(monkeypatch, settings):
    """The launcher boundary: instead of a subprocess, report 'completed' through the real runner API."""
    launched = []

    def launch(*, run_id, data_source_id, token):
        launched.append(run_id)
        response = requests.post(f"{settings.PLATFORM_BASE_URL}/api/etl/runs/{run_id}/update/",
                                 json={"status": "completed", "phase": "finalize"},
                                 headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert response.status_code == 200, response.text
        return {"success": True, "execution_id": f"e2e-{run_id}", "launcher": "test"}

    monkeypatch.setattr("ml_platform.etl.api.trigger_cloud_run_job", launch)
    return launched


def run_once() -> str:
    out = io.StringIO()
    call_command("run_scheduler", "--once", stdout=out)
    return out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_two_ticks_across_a_one_minute_slot_make_exactly_one_completed_run(live_server, settings, make_job,
                                                                             runner_plays_its_part):
    settings.PLATFORM_BASE_URL = live_server.url
    job = make_job(schedule_cron="* * * * *")
    with time_machine.travel(datetime(2026, 6, 1, 10, 0, 30, tzinfo=UTC), tick=False):
        scheduling.schedule_sync(job=job)
    assert DataSource.objects.get(pk=job.pk).next_run_at == SLOT

    with time_machine.travel(BEFORE_SLOT, tick=False):
        assert run_once() == ""
    assert not ETLRun.objects.exists()

    with time_machine.travel(datetime(2026, 6, 1, 10, 1, 5, tzinfo=UTC), tick=False):
        out = run_once()
    assert f"job {job.pk} slot {SLOT.isoformat()}: HTTP 200 success" in out
    with time_machine.travel(datetime(2026, 6, 1, 10, 1, 40, tzinfo=UTC), tick=False):
        assert run_once() == ""

    run = ETLRun.objects.get()
    assert (run.status, run.trigger, run.scheduled_for) == (RunStatus.COMPLETED, RunTrigger.SCHEDULED, SLOT)
    assert run.execution_id == f"e2e-{run.pk}"
    assert runner_plays_its_part == [run.pk]
    assert DataSource.objects.get(pk=job.pk).next_run_at == datetime(2026, 6, 1, 10, 2, tzinfo=UTC)


@pytest.mark.django_db(transaction=True)
def test_a_tick_whose_webhook_is_unreachable_reports_it_and_goes_on(settings, make_job):
    settings.PLATFORM_BASE_URL = "http://127.0.0.1:9"
    job = make_job(next_run_at=SLOT)
    with time_machine.travel(datetime(2026, 6, 1, 10, 1, 5, tzinfo=UTC), tick=False):
        out = run_once()
    assert f"job {job.pk} slot {SLOT.isoformat()}: HTTP None ConnectionError" in out


@pytest.mark.django_db(transaction=True)
def test_the_tick_runs_the_stale_run_reaper(monkeypatch):
    calls = []
    monkeypatch.setattr("ml_platform.etl.services.run_reap_stale", lambda now=None: calls.append(now) or 2)
    assert "reaped 2 stale run(s)" in run_once()
    assert len(calls) == 1


def test_the_loop_stops_cleanly_on_sigterm(tmp_path, settings):
    env = {**os.environ, "PLATFORM_DATA_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    manage = str(settings.BASE_DIR / "manage.py")
    subprocess.run([sys.executable, manage, "migrate", "--noinput", "-v", "0"], env=env, check=True, timeout=120)
    log = (tmp_path / "scheduler.log").open("w")
    process = subprocess.Popen([sys.executable, manage, "run_scheduler", "--interval", "0.2"], env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while "Scheduler started" not in (tmp_path / "scheduler.log").read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
        log.close()
    output = (tmp_path / "scheduler.log").read_text()
    assert "Scheduler stopped." in output
    assert "tick failed" not in output


@pytest.mark.django_db
def test_with_cloud_scheduler_the_loop_delivers_nothing_but_keeps_next_run_current(settings, make_job):
    settings.SCHEDULER_BACKEND = "gcp"
    settings.PLATFORM_BASE_URL = "http://127.0.0.1:9"
    job = make_job(next_run_at=SLOT)
    with time_machine.travel(datetime(2026, 6, 1, 10, 1, 5, tzinfo=UTC), tick=False):
        assert scheduling.scheduler_tick()["deliveries"] == []
    assert DataSource.objects.get(pk=job.pk).next_run_at == datetime(2026, 6, 1, 10, 2, tzinfo=UTC)
    assert not ETLRun.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_one_minute_cron_fires_once_and_the_real_runner_loads_the_table(live_server, settings, project, tmp_path):
    """The whole path: scheduler tick → webhook → run → real runner subprocess → DuckDB, exactly one run."""
    import sqlite3

    import duckdb

    from ml_platform.tests.factories import ConnectionFactory, DataSourceFactory, DataSourceTableFactory
    from ml_platform.utils.warehouse import physical_dataset

    settings.PLATFORM_BASE_URL = live_server.url
    settings.LAUNCHER_BACKEND = "local"
    settings.WAREHOUSE_DUCKDB_PATH = str(tmp_path / "warehouse.duckdb")
    settings.RUN_LOG_DIR = tmp_path / "logs"
    source = tmp_path / "shop.sqlite"
    with sqlite3.connect(source) as con:
        con.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)")
        con.executemany("INSERT INTO items VALUES (?, ?)", [(i, f"item {i}") for i in range(1, 43)])
    connection = ConnectionFactory(model_endpoint=project, source_type="sqlite", file_path=str(source))
    job = DataSourceFactory(etl_config=project.etl_config, connection=connection, source_type="sqlite",
                            schedule_type="cron", schedule_cron="* * * * *", schedule_timezone="UTC")
    DataSourceTableFactory(data_source=job, schema_name="main", source_table_name="items", dest_table_name="items")
    # Real wall-clock minutes (the run token the runner carries is checked against the real clock).
    slot = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    with time_machine.travel(slot - timedelta(seconds=30), tick=False):
        scheduling.schedule_sync(job=job)
        assert run_once() == ""
    with time_machine.travel(slot + timedelta(seconds=5), tick=False):
        assert "HTTP 200 success" in run_once()
    run = ETLRun.objects.get()
    deadline = time.monotonic() + 60
    while run.is_active and time.monotonic() < deadline:
        time.sleep(0.3)
        run.refresh_from_db()
    with time_machine.travel(slot + timedelta(seconds=40), tick=False):
        assert run_once() == ""

    assert ETLRun.objects.count() == 1
    assert (run.status, run.trigger, run.scheduled_for) == (RunStatus.COMPLETED, RunTrigger.SCHEDULED, slot)
    assert run.total_rows_loaded == 42
    dataset = physical_dataset(project.pk, "raw_data")
    with duckdb.connect(settings.WAREHOUSE_DUCKDB_PATH, read_only=True) as warehouse:
        assert warehouse.execute(f'SELECT count(*) FROM "{dataset}".items').fetchone() == (42,)
