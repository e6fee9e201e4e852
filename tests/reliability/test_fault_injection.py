"""Fault injection through the platform: real runners launched by the local launcher of real web instances.

Several gunicorn instances share one PostgreSQL app database and one data folder (like several Cloud Run
instances): a normal one, one per fault (RUNNER_FAULT_AT in its environment, inherited by the runners it
launches: SIGKILL after extract, during the load, before the commit, before the final report), and one that the
runners reach only through a proxy the test can cut ("Django unreachable"). The warehouse refusing a write is a
CHECK constraint on the destination. Each time: the destination is unchanged or fully committed, the reaper
(`manage.py reap_runs`) fails the run with a readable reason, the job's lock is released, and the next run
leaves the destination exactly as the load mode promises: no duplicates, no gaps.
"""
from __future__ import annotations

import os
import signal
import time
from collections import Counter

import duckdb
import psycopg
import pytest

from ml_platform.utils.launcher import FINISHED, LocalLauncher
from tests.reliability.jobs import create_job, create_pg_connection, run_row, wait_runs
from tests.reliability.proxy import CuttableProxy
from tests.reliability.server import Browser, PlatformServer

MODES = ("replace", "append", "incremental", "merge")
PRE_COMMIT = ("after_extract", "during_load", "before_commit")
FAULTS = (*PRE_COMMIT, "before_report")
COLUMNS = "id, amount, status, updated_at"
RUNNER_LOST = "runner lost: no heartbeat"


def seed(table: str) -> tuple[str, ...]:
    return (f"CREATE TABLE {table} (id int PRIMARY KEY, amount numeric(10,2), status text, updated_at timestamptz)",
            f"INSERT INTO {table} SELECT g, g * 1.5, 'new', '2024-01-01'::timestamptz + g * interval '1 second' "
            "FROM generate_series(1, 300) g")


def change(table: str) -> tuple[str, ...]:
    return (f"UPDATE {table} SET status = 'paid', updated_at = updated_at + interval '1 day' WHERE id % 7 = 0",
            f"INSERT INTO {table} SELECT g, g, 'late', '2024-01-05'::timestamptz FROM generate_series(301, 330) g")


@pytest.fixture(scope="module")
def servers(platform_server):
    """base: the session's platform; one more instance per fault; `proxied`: its runners reach Django by a proxy."""
    base, data = platform_server, platform_server.data_dir
    started = {"base": base}
    try:
        for fault in FAULTS:
            started[fault] = PlatformServer(data, workers=1, threads=4, share_with=base,
                                            extra_env={"RUNNER_FAULT_AT": fault}).start()
        proxied = PlatformServer(data, workers=1, threads=4, share_with=base)
        proxy = CuttableProxy("127.0.0.1", proxied.port)
        proxied.env["PLATFORM_BASE_URL"] = proxy.url
        started["proxied"] = proxied.start()
        started["proxy"] = proxy
        yield started
    finally:
        for name, server in started.items():
            if name not in ("base", "proxy"):
                server.stop()
        if "proxy" in started:
            started["proxy"].close()


@pytest.fixture
def user(servers, request) -> Browser:
    name = f"f{abs(hash(request.node.nodeid)) % 10**8}"
    servers["base"].create_user(name)
    return Browser(servers["base"], name)


def _exec(db, *statements):
    with psycopg.connect(db["dsn"], autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def _source(db, table: str) -> list[tuple]:
    with psycopg.connect(db["dsn"]) as conn:
        return conn.execute(f"SELECT {COLUMNS} FROM {table} ORDER BY id, updated_at").fetchall()


def _dest(server, dataset: str, table: str) -> list[tuple]:
    deadline = time.monotonic() + 30
    while True:
        try:
            con = duckdb.connect(server.warehouse, read_only=True)
            break
        except duckdb.IOException:  # a runner holds the writer lock
            assert time.monotonic() < deadline
            time.sleep(0.2)
    try:
        return con.execute(f'SELECT {COLUMNS} FROM "{dataset}"."{table}" ORDER BY id, updated_at').fetchall()
    finally:
        con.close()


def _start(browser: Browser, job_id: int) -> int:
    response = browser.post(f"/api/etl/sources/{job_id}/run/")
    assert response.status_code == 200, response.text[:300]  # the job's lock is free
    return response.json()["run_id"]


def _wait_processes(server, run_ids: list[int], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    for run_id in run_ids:
        execution = run_row(server, run_id)["execution_id"]
        while LocalLauncher().state(execution) != FINISHED:
            assert time.monotonic() < deadline, f"runner of run {run_id} still alive"
            time.sleep(0.1)


def _reap(server, run_ids: list[int]) -> None:
    """The runners are dead and silent: 31 s later the reaper (the real command) fails them and frees the jobs."""
    assert {run_row(server, r)["status"] for r in run_ids} == {"running"}  # nobody reported the deaths
    server.query("UPDATE ml_platform_etlrun SET last_heartbeat_at = last_heartbeat_at - interval '31 seconds' "
                 "WHERE id = ANY(%s) RETURNING id", (run_ids,))
    result = server.manage("reap_runs")
    assert f"Reaped {len(run_ids)} stale run(s)." in result.stdout, result.stdout + result.stderr
    for run_id in run_ids:
        row = run_row(server, run_id)
        assert (row["status"], row["error_message"]) == ("failed", RUNNER_LOST), row


def _run_all_ok(browser, server, jobs: dict) -> None:
    runs = wait_runs(server, [_start(browser, job) for job in jobs.values()])
    assert {r["status"] for r in runs} == {"completed"}, [(r["id"], r["error_message"]) for r in runs]


def _expected(mode: str, v1: list, v2: list, committed_after_change: int) -> list:
    """The destination a correct history gives (sorted like _dest)."""
    if mode in ("replace", "merge"):
        return v2 if committed_after_change else v1
    if mode == "append":
        return sorted(v1 + v2 * committed_after_change, key=lambda r: (r[0], r[3]))
    cursor = max(r[3] for r in v1)
    newer = [r for r in v2 if r[3] > cursor] if committed_after_change else []
    return sorted(v1 + newer, key=lambda r: (r[0], r[3]))


def _setup_jobs(user, pg_database, modes) -> tuple[dict, str]:
    project = user.create_project("faults")
    connection = create_pg_connection(user, project, pg_database)
    for mode in modes:
        _exec(pg_database, *seed(f"o_{mode}"))
    return {mode: create_job(user, project, connection, f"o_{mode}", mode) for mode in modes}, f"p{project}_raw_data"


def test_runner_killed_at_every_phase_then_rerun_gives_exactly_the_source(servers, user, pg_database):
    base = servers["base"]
    jobs, dataset = _setup_jobs(user, pg_database, MODES)
    _run_all_ok(user, base, jobs)
    v1 = {m: _source(pg_database, f"o_{m}") for m in MODES}
    assert all(_dest(base, dataset, f"o_{m}") == v1[m] for m in MODES)
    for mode in MODES:
        _exec(pg_database, *change(f"o_{mode}"))
    v2 = {m: _source(pg_database, f"o_{m}") for m in MODES}

    for fault in FAULTS:  # every load mode killed at this phase, all at once (they take turns on DuckDB)
        killer = servers[fault]
        runs = [_start(user.on(killer), job) for job in jobs.values()]
        _wait_processes(base, runs)
        _reap(base, runs)
        committed = 1 if fault == "before_report" else 0
        for mode in MODES:
            assert _dest(base, dataset, f"o_{mode}") == _expected(mode, v1[mode], v2[mode], committed), (fault, mode)

    _run_all_ok(user, base, jobs)  # the locks were released; the reruns finish the job
    for mode in MODES:
        dest = _dest(base, dataset, f"o_{mode}")
        assert dest == _expected(mode, v1[mode], v2[mode], 2), mode
        if mode in ("replace", "merge"):
            assert dest == v2[mode] and len({r[0] for r in dest}) == len(dest)  # exactly the source
        if mode == "incremental":
            assert len(dest) == 300 + 300 // 7 + 30 and max(Counter(dest).values()) == 1  # each version once


def _cut_mid_run(servers, user, job_id: int) -> int:
    """Start through the proxied instance; hold the warehouse so the runner waits mid-run; then cut Django off."""
    base, proxy = servers["base"], servers["proxy"]
    proxy.restore()
    lock = duckdb.connect(base.warehouse)  # hold the writer's turn: the runner waits with its config in hand
    try:
        run_id = _start(user.on(servers["proxied"]), job_id)
        deadline = time.monotonic() + 30
        while run_row(base, run_id)["phase"] != "waiting_for_warehouse":
            assert time.monotonic() < deadline, run_row(base, run_id)
            time.sleep(0.1)
        proxy.cut()
    finally:
        lock.close()
    return run_id


def test_brief_django_outage_mid_run_is_ridden_out_by_retries(servers, user, pg_database):
    base, proxy = servers["base"], servers["proxy"]
    jobs, dataset = _setup_jobs(user, pg_database, ["merge"])
    _run_all_ok(user, base, jobs)
    _exec(pg_database, *change("o_merge"))
    refused = proxy.refused
    run_id = _cut_mid_run(servers, user, jobs["merge"])
    time.sleep(3)
    proxy.restore()
    [run] = wait_runs(base, [run_id], timeout=90)
    assert run["status"] == "completed", run
    assert proxy.refused > refused
    assert _dest(base, dataset, "o_merge") == _source(pg_database, "o_merge")


def test_django_lost_for_good_mid_run_fails_the_run_and_keeps_the_destination_whole(servers, user, pg_database):
    base, proxy = servers["base"], servers["proxy"]
    jobs, dataset = _setup_jobs(user, pg_database, ["merge"])
    _run_all_ok(user, base, jobs)
    before = _dest(base, dataset, "o_merge")
    _exec(pg_database, *change("o_merge"))
    refused = proxy.refused
    run_id = _cut_mid_run(servers, user, jobs["merge"])
    deadline = time.monotonic() + 20  # the runner now retries against a Django that is gone...
    while proxy.refused < refused + 2:
        assert time.monotonic() < deadline, "the runner never tried to reach Django"
        time.sleep(0.1)
    os.killpg(int(run_row(base, run_id)["execution_id"].removeprefix("local-")), signal.SIGKILL)  # ...and dies
    _wait_processes(base, [run_id])
    assert _dest(base, dataset, "o_merge") in (before, _source(pg_database, "o_merge"))  # all or nothing
    _reap(base, [run_id])
    proxy.restore()
    _exec(pg_database, "UPDATE o_merge SET amount = amount + 1, updated_at = '2024-02-01' WHERE id <= 10")
    _run_all_ok(user, base, jobs)
    assert _dest(base, dataset, "o_merge") == _source(pg_database, "o_merge")


def _rebuild_with_check(path: str, dataset: str, table: str, check: str | None) -> None:
    """Rebuild the destination table with (or without) a CHECK constraint, keeping its rows and types."""
    con = duckdb.connect(path)
    try:
        defs = ", ".join(f'"{c[0]}" {c[1]}' for c in con.execute(f'DESCRIBE "{dataset}"."{table}"').fetchall())
        con.execute(f'ALTER TABLE "{dataset}"."{table}" RENAME TO old_{table}')
        con.execute(f'CREATE TABLE "{dataset}"."{table}" ({defs}{", CHECK (" + check + ")" if check else ""})')
        con.execute(f'INSERT INTO "{dataset}"."{table}" SELECT * FROM "{dataset}".old_{table}')
        con.execute(f'DROP TABLE "{dataset}".old_{table}')
    finally:
        con.close()


def test_warehouse_refusing_a_write_fails_the_run_and_changes_nothing(servers, user, pg_database):
    base = servers["base"]
    modes = ("append", "incremental", "merge")
    jobs, dataset = _setup_jobs(user, pg_database, modes)
    _run_all_ok(user, base, jobs)
    v1 = {m: _source(pg_database, f"o_{m}") for m in modes}
    for mode in modes:
        _rebuild_with_check(base.warehouse, dataset, f"o_{mode}", "id <= 300")
        _exec(pg_database, *change(f"o_{mode}"))  # rows 301..330 break the constraint
    for run in wait_runs(base, [_start(user, job) for job in jobs.values()]):
        assert run["status"] == "failed", run
        message = run["error_message"]
        assert message and "Traceback" not in message and "constraint" in message.lower(), message
    for mode in modes:
        assert _dest(base, dataset, f"o_{mode}") == v1[mode], mode  # the whole load rolled back
        _rebuild_with_check(base.warehouse, dataset, f"o_{mode}", None)
    _run_all_ok(user, base, jobs)  # the failed runs released their locks
    for mode in modes:
        assert _dest(base, dataset, f"o_{mode}") == _expected(mode, v1[mode], _source(pg_database, f"o_{mode}"),
                                                              1), mode
