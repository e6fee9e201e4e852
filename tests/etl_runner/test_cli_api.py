"""The CLI end to end: `run --config` (JSON lines, exit codes) and API mode against a fake platform API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from etl_runner.client import ApiClient, ApiError, RunClosed
from tests.etl_runner.runner_util import REPO, dest_rows, job_config, pg_exec, run_cli, source_for, stdout_events

TOKEN = "run-token-very-secret-123"


class FakeApi:
    """Stateful stand-in for the platform's runner endpoints; can fail the first N requests with 503."""

    def __init__(self, config: dict, fail_first: int = 0, close_run: bool = False):
        self.config, self.fail_first, self.close_run = config, fail_first, close_run
        self.requests: list[tuple[str, str, dict, str]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                api.handle(self, "GET", {})

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                api.handle(self, "POST", json.loads(self.rfile.read(length) or b"{}"))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def handle(self, h, method: str, body: dict) -> None:
        self.requests.append((method, h.path, body, h.headers.get("Authorization", "")))
        if len(self.requests) <= self.fail_first:
            return h._answer(503, {"status": "error", "message": "warming up"})
        if h.headers.get("Authorization") != f"Bearer {TOKEN}":
            return h._answer(403, {"status": "error", "message": "bad token"})
        if method == "GET" and h.path.startswith("/api/etl/job-config/"):
            return h._answer(200, {"status": "success", "config": self.config})
        if method == "POST" and h.path.startswith("/api/etl/runs/"):
            if self.close_run:
                return h._answer(409, {"status": "error", "message": "run already finished"})
            return h._answer(200, {"status": "success", "run_status": body.get("status", "running")})
        return h._answer(200, {"status": "success", "files": []})

    def updates(self) -> list[dict]:
        return [b for m, p, b, _ in self.requests if m == "POST" and "/update/" in p]

    def close(self) -> None:
        self.server.shutdown()


def run_api_mode(api: FakeApi, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "RUNNER_API_URL": api.url, "RUNNER_RUN_ID": "7", "RUNNER_DATA_SOURCE_ID": "3",
           "RUNNER_TOKEN": TOKEN, "RUNNER_LOG_LEVEL": "DEBUG", **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "etl_runner"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=60)


@pytest.fixture
def seeded(pg_database, tmp_path):
    pg_exec(pg_database, "CREATE TABLE orders (id int primary key, v text)",
            "INSERT INTO orders SELECT g, 'v' || g FROM generate_series(1, 300) g")
    table = {"source_schema": "public", "source_table": "orders", "dest_table": "orders"}
    return job_config(source_for("postgresql", pg_database), tmp_path / "w.duckdb", [table], heartbeat_seconds=0.2)


def test_run_config_streams_json_lines_and_exits_zero(seeded, tmp_path):
    proc = run_cli(seeded, tmp_path)
    assert proc.returncode == 0, proc.stderr
    events = stdout_events(proc)
    assert events[0]["phase"] == "starting" and events[-1]["status"] == "completed"
    assert events[-1]["tables"][0]["rows_loaded"] == 300
    assert set(events[-1]["tables"][0]["phases"]) == {"extract", "normalize", "load"}
    assert len(dest_rows(tmp_path / "w.duckdb", "orders")) == 300


def test_invalid_config_exits_two_before_touching_anything(seeded, tmp_path):
    seeded["tables"][0]["load_mode"] = "merge"
    seeded["options"]["batch_size"] = -1
    proc = run_cli(seeded, tmp_path)
    assert proc.returncode == 2
    problems = stdout_events(proc)[-1]["error"]["problems"]
    assert len(problems) >= 3
    assert not (tmp_path / "w.duckdb").exists()


def test_failed_table_exits_one_with_readable_error(seeded, tmp_path):
    seeded["tables"][0]["source_table"] = "nope"
    proc = run_cli(seeded, tmp_path)
    assert proc.returncode == 1
    final = stdout_events(proc)[-1]
    assert final["status"] == "failed" and "does not exist" in final["tables"][0]["error"]


def test_help_documents_modes_env_and_exit_codes():
    out = subprocess.run([sys.executable, "-m", "etl_runner", "--help"], cwd=REPO, capture_output=True, text=True)
    for word in ("RUNNER_API_URL", "RUNNER_TOKEN", "RUNNER_DATA_SOURCE_ID", "run --config", "Exit codes"):
        assert word in out.stdout


def test_api_mode_fetches_config_reports_heartbeats_and_never_logs_token(seeded):
    seeded["source"]["secrets"] = {"password": "db-password-xyz"}
    seeded["source"]["params"]["password_hint"] = "none"
    api = FakeApi(seeded, fail_first=2)
    try:
        proc = run_api_mode(api, {"RUNNER_FAULT_AT": ""})
    finally:
        api.close()
    assert proc.returncode == 0, proc.stderr
    assert api.requests[2][1] == "/api/etl/job-config/3/"  # after two 503s, retried
    assert all(auth == f"Bearer {TOKEN}" for *_, auth in api.requests)
    updates = api.updates()
    assert updates[0]["phase"] == "starting" and updates[-1]["status"] == "completed"
    assert updates[-1]["tables"][0]["rows_loaded"] == 300
    assert TOKEN not in proc.stderr + proc.stdout and "db-password-xyz" not in proc.stderr + proc.stdout


def test_api_mode_invalid_config_reports_failed_and_exits_two(seeded):
    seeded["tables"][0]["load_mode"] = "bogus"
    api = FakeApi(seeded)
    try:
        proc = run_api_mode(api)
    finally:
        api.close()
    assert proc.returncode == 2
    assert api.updates()[-1]["status"] == "failed" and "load_mode" in api.updates()[-1]["error"]["message"]


def test_api_mode_missing_env_exits_two():
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNNER_")}
    proc = subprocess.run([sys.executable, "-m", "etl_runner"], cwd=REPO, env=env, capture_output=True, text=True)
    assert proc.returncode == 2 and "RUNNER_API_URL" in proc.stderr


def test_client_retries_transient_errors_then_gives_up(seeded):
    api = FakeApi(seeded, fail_first=100)
    try:
        client = ApiClient(api.url, TOKEN, retries=2, backoff=0.01)
        with pytest.raises(ApiError) as err:
            client.job_config(3)
        assert err.value.status == 503 and len(api.requests) == 3
        assert TOKEN not in repr(client)
    finally:
        api.close()


def test_client_409_means_run_closed(seeded):
    api = FakeApi(seeded, close_run=True)
    try:
        with pytest.raises(RunClosed):
            ApiClient(api.url, TOKEN, backoff=0.01).run_update(7, {"status": "completed"})
    finally:
        api.close()


def test_client_connection_errors_are_retried():
    client = ApiClient("http://127.0.0.1:1", TOKEN, retries=1, backoff=0.01, timeout=(0.5, 0.5))
    with pytest.raises(ApiError, match="after 2 attempts"):
        client.job_config(1)
    assert isinstance(client.session, requests.Session)
