"""The warm runner server: a run handed to it behaves like a cold `python -m etl_runner` run.

Same stdout, exit code, environment and signals; a killed client takes its run with it; no server
means a cold run in-process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.etl_runner.runner_util import (
    REPO,
    dest_rows,
    job_config,
    running_warm_server,
    source_for,
    stdout_events,
)

pytestmark = pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="the warm server needs Linux pidfds")


@pytest.fixture
def warm_server(tmp_path):
    """A warm server on a socket in tmp_path; yields (socket path, log path)."""
    with running_warm_server(tmp_path) as (sock, log):
        yield sock, log
    assert not sock.exists()  # removed on a clean stop


def sqlite_job(tmp_path: Path, rows: int = 3) -> Path:
    import sqlite3

    db = tmp_path / "src.sqlite"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)")
    con.executemany("INSERT INTO items VALUES (?, ?)", [(i, f"item {i}") for i in range(1, rows + 1)])
    con.commit()
    con.close()
    config = job_config(source_for("sqlite", path=str(db)), tmp_path / "w.duckdb",
                        [{"source_table": "items", "dest_table": "items"}])
    path = tmp_path / "job.json"
    path.write_text(json.dumps(config))
    return path


def start_run(config: Path, socket: Path | str, **env) -> subprocess.Popen:
    full_env = {**os.environ, "RUNNER_WARM_SOCKET": str(socket), **env}
    return subprocess.Popen([sys.executable, "-m", "etl_runner", "run", "--config", str(config)], cwd=REPO,
                            env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finished_runs(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if "run process" in line]


def wait_for(condition, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_run_through_the_server_loads_and_reports_like_a_cold_run(warm_server, tmp_path):
    sock, log = warm_server
    stats = tmp_path / "stats.json"
    proc = start_run(sqlite_job(tmp_path), sock, RUNNER_WARM_STATS=str(stats))
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    final = stdout_events(subprocess.CompletedProcess([], 0, out.decode(), err.decode()))[-1]
    assert final["status"] == "completed" and final["tables"][0]["rows_loaded"] == 3
    assert dest_rows(tmp_path / "w.duckdb", "items") == [(1, "item 1"), (2, "item 2"), (3, "item 3")]
    assert len(finished_runs(log)) == 1  # the server ran it, not an in-process fallback
    assert json.loads(stats.read_text())["maxrss_kb"] > 50_000  # the child's peak, not the thin client's


def test_invalid_config_exit_code_and_stderr_come_back(warm_server, tmp_path):
    sock, _ = warm_server
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"version": 1, "tables": "nope"}))
    proc = start_run(bad, sock)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert "ConfigError" in out.decode()


def test_each_run_gets_its_own_environment(warm_server, tmp_path):
    """A fault hook set only in this run's environment kills this run (by SIGKILL, as a cold run would)."""
    sock, log = warm_server
    proc = start_run(sqlite_job(tmp_path), sock, RUNNER_FAULT_AT="before_commit")
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    try:  # killed before commit: nothing of the load is there
        assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'items'").fetchone()[0] == 0
    finally:
        con.close()
    again = start_run(tmp_path / "job.json", sock)  # the next run does not inherit the fault
    again.communicate(timeout=60)
    assert again.returncode == 0
    assert len(finished_runs(log)) == 2


def _blocked_run(tmp_path, sock, **env) -> tuple[subprocess.Popen, duckdb.DuckDBPyConnection]:
    """A run waiting for the warehouse: this test process holds the DuckDB writer lock."""
    config = sqlite_job(tmp_path)
    holder = duckdb.connect(str(tmp_path / "w.duckdb"))
    proc = start_run(config, sock, RUNNER_WAREHOUSE_WAIT_SECONDS="60", **env)
    for line in proc.stdout:  # the run reports each phase as a JSON line
        if b"waiting_for_warehouse" in line:
            return proc, holder
    holder.close()
    raise AssertionError(f"the run never waited for the warehouse: {proc.stderr.read().decode()}")


def test_sigterm_to_the_client_stops_the_run(warm_server, tmp_path):
    sock, log = warm_server
    proc, holder = _blocked_run(tmp_path, sock)
    try:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    finally:
        holder.close()
    assert proc.returncode == -signal.SIGTERM
    wait_for(lambda: finished_runs(log))
    assert "exited with -15" in finished_runs(log)[0]


def test_a_killed_client_takes_its_run_with_it(warm_server, tmp_path):
    sock, log = warm_server
    proc, holder = _blocked_run(tmp_path, sock)
    try:
        proc.kill()
        proc.wait(timeout=20)
        wait_for(lambda: finished_runs(log))  # the child noticed the closed connection
    finally:
        holder.close()
    assert "exited with -9" in finished_runs(log)[0]


def test_no_server_listening_means_a_cold_run(tmp_path):
    proc = start_run(sqlite_job(tmp_path), tmp_path / "nobody-listens.sock")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert dest_rows(tmp_path / "w.duckdb", "items") == [(1, "item 1"), (2, "item 2"), (3, "item 3")]


def test_a_second_server_on_the_same_socket_refuses_to_start(warm_server):
    sock, _ = warm_server
    second = subprocess.run([sys.executable, "-m", "etl_runner", "serve", "--socket", str(sock)], cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    assert second.returncode == 1
    assert "already listens" in second.stderr
    assert sock.exists()  # the first server's socket was left alone


def test_concurrent_runs_each_get_their_own_child_and_result(warm_server, tmp_path):
    """Three runs at once into one warehouse: each waits its turn for DuckDB and reports its own exit."""
    sock, log = warm_server
    config = json.loads(sqlite_job(tmp_path, rows=50).read_text())
    procs = []
    for n in range(3):
        config["tables"][0]["dest_table"] = f"items_{n}"
        path = tmp_path / f"job_{n}.json"
        path.write_text(json.dumps(config))
        procs.append(start_run(path, sock))
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    assert [len(dest_rows(tmp_path / "w.duckdb", f"items_{n}")) for n in range(3)] == [50, 50, 50]
    pids = {line.split("run process ")[1].split()[0] for line in finished_runs(log)}
    assert len(pids) == 3  # three children, three results


def test_the_run_sees_its_own_time_zone(warm_server, tmp_path):
    """A forked child keeps the server's process state: the run's TZ must be applied, not just set."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    sock, _ = warm_server
    config = json.loads(sqlite_job(tmp_path).read_text())
    config["tables"][0]["source_table"] = "no_such_table"  # the failure is logged with a local timestamp
    (tmp_path / "bad_table.json").write_text(json.dumps(config))
    proc = start_run(tmp_path / "bad_table.json", sock, TZ="Asia/Kathmandu")  # UTC+05:45, unlike the server's
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    now = datetime.now(ZoneInfo("Asia/Kathmandu"))
    stamps = {(now - timedelta(minutes=m)).strftime("%Y-%m-%d %H:%M") for m in (0, 1)}
    failure = next(line for line in err.decode().splitlines() if "failed" in line)
    assert failure[:16] in stamps, failure


def test_files_the_run_creates_get_the_requesters_umask(warm_server, tmp_path):
    sock, _ = warm_server
    config = sqlite_job(tmp_path)
    full_env = {**os.environ, "RUNNER_WARM_SOCKET": str(sock)}
    proc = subprocess.run(["sh", "-c", f"umask 077 && exec {sys.executable} -m etl_runner run --config {config}"],
                          cwd=REPO, env=full_env, capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "w.duckdb").stat().st_mode & 0o777 == 0o600
