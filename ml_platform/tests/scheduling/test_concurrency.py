"""Concurrency: 50 simultaneous deliveries of one slot make one run; two schedulers never fire a slot twice."""
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client

from ml_platform.etl import scheduling
from ml_platform.etl.scheduler_auth import local_token_mint
from ml_platform.models import DataSource, ETLRun

SLOT = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def production_like_db(tmp_path):
    """On SQLite, move worker threads onto a WAL file copy of the test database.

    The in-memory test database uses shared-cache table locks that fail at once under concurrency; the
    platform's real SQLite file (WAL, busy timeout, BEGIN IMMEDIATE) waits instead. PostgreSQL needs nothing.
    The main thread keeps its in-memory connection; everything the test checks runs in worker threads.
    """
    if connection.vendor != "sqlite" or not connection.is_in_memory_db():
        yield
        return
    path = tmp_path / "concurrency.sqlite3"
    target = sqlite3.connect(path)
    connection.ensure_connection()
    connection.connection.backup(target)
    target.execute("PRAGMA journal_mode=WAL")
    target.close()
    settings_dict = connection.settings_dict
    original = settings_dict["NAME"]
    settings_dict["NAME"] = str(path)
    try:
        yield
    finally:
        settings_dict["NAME"] = original


def _on_worker(function, *args):
    """Run one call on a fresh worker thread (so it uses the worker-side database)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_in_thread(function), *args).result()


def _in_thread(function):
    """Run in a worker thread with its own database connection, closed afterwards."""

    def wrapper(*args):
        try:
            return function(*args)
        finally:
            connection.close()

    return wrapper


def _deliver_fifty_times(job) -> list[tuple[int, dict]]:
    barrier = threading.Barrier(50)
    url = f"/api/etl/sources/{job.pk}/scheduler-webhook/"

    @_in_thread
    def deliver(_):
        token = local_token_mint(job_id=job.pk, slot=SLOT)
        barrier.wait()
        response = Client().post(url, data=b"{}", content_type="application/json",
                                 HTTP_AUTHORIZATION=f"Bearer {token}")
        return response.status_code, response.json()

    with ThreadPoolExecutor(max_workers=50) as pool:
        return list(pool.map(deliver, range(50)))


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_deliveries_for_one_slot_create_exactly_one_run(job, launches, production_like_db):
    results = _deliver_fifty_times(job)
    assert {code for code, _ in results} == {200}, results
    run = _on_worker(ETLRun.objects.get)
    assert run.scheduled_for == SLOT
    assert {body["run_id"] for _, body in results} == {run.pk}
    assert launches and {launch["run_id"] for launch in launches} == {run.pk}


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_deliveries_for_one_slot_launch_the_runner_once(job, launches, production_like_db):
    _deliver_fifty_times(job)
    assert len(launches) == 1


@pytest.mark.django_db(transaction=True)
def test_two_schedulers_claiming_at_once_fire_each_slot_once(make_job, request):
    jobs = [make_job() for _ in range(5)]
    DataSource.objects.update(next_run_at=SLOT)
    request.getfixturevalue("production_like_db")
    now = SLOT + timedelta(seconds=5)
    barrier = threading.Barrier(4)

    @_in_thread
    def claim(_):
        barrier.wait()
        return [(job.pk, slot) for job, slot in scheduling.scheduler_claim_due(now=now)]

    with ThreadPoolExecutor(max_workers=4) as pool:
        claims = [pair for batch in pool.map(claim, range(4)) for pair in batch]
    assert sorted(claims) == sorted((job.pk, SLOT) for job in jobs)
    next_runs = _on_worker(lambda: set(DataSource.objects.values_list("next_run_at", flat=True)))
    assert next_runs == {SLOT + timedelta(minutes=1)}
