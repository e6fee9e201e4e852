"""A real platform in subprocesses: gunicorn on a fresh PostgreSQL app database, the local launcher, DuckDB.

Used by the reliability suites (concurrency, scheduler processes) and by bench/load_test.py. Everything the
tests do goes over HTTP like a browser, a runner or a scheduler would; results are read with plain SQL.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import requests
from psycopg import sql

ROOT = Path(__file__).resolve().parents[2]
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PASSWORD = "reliability-pass-123"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PlatformServer:
    """Start with `start()`, stop with `stop()`; `env` is what every platform process of this instance uses."""

    def __init__(self, data_dir: Path, *, workers: int = 2, threads: int = 8, extra_env: dict | None = None,
                 access_log: bool = True, share_with: PlatformServer | None = None):
        """`share_with`: another web instance on the same database and data folder (not migrated, not dropped)."""
        self.data_dir = Path(data_dir)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.owns_db = share_with is None
        self.db_name = share_with.db_name if share_with else f"t_app_{uuid.uuid4().hex[:10]}"
        self.dsn = f"postgresql://postgres@127.0.0.1:5432/{self.db_name}"
        self.workers, self.threads, self.access_log = workers, threads, access_log
        self.proc: subprocess.Popen | None = None
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "PLATFORM_ENV")}
        self.env.update({
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{self.db_name}",
            "PLATFORM_DATA_DIR": str(self.data_dir), "PLATFORM_BASE_URL": self.url,
            "WAREHOUSE_BACKEND": "duckdb", "WAREHOUSE_DUCKDB_PATH": str(self.data_dir / "warehouse.duckdb"),
            "LAUNCHER_BACKEND": "local", "SCHEDULER_BACKEND": "local", "SECRETS_BACKEND": "local",
            "SECRETS_KEY": "", "DEBUG": "false", "LOG_LEVEL": "WARNING", "DATABASE_CONN_MAX_AGE": "0",
            **(extra_env or {}),
        })

    @property
    def warehouse(self) -> str:
        return self.env["WAREHOUSE_DUCKDB_PATH"]

    @property
    def access_log_path(self) -> Path:
        return self.data_dir / f"access-{self.port}.log"

    def requests_to(self, path: str) -> int:
        """How many requests the server has logged for this exact path (gunicorn access log)."""
        text = self.access_log_path.read_text() if self.access_log_path.exists() else ""
        return sum(1 for line in text.splitlines() if f" {path} " in line or f" {path}?" in line)

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs" / "runs"

    def manage(self, *args: str, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
        """Run a management command as one more platform process (same database, same settings)."""
        return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True,
                              text=True, timeout=timeout, **kwargs)

    def start(self) -> PlatformServer:
        if self.owns_db:
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.db_name)))
            migrated = self.manage("migrate", "--noinput")
            assert migrated.returncode == 0, migrated.stderr[-2000:]
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        self._log = open(self.data_dir / f"gunicorn-{self.port}.log", "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [gunicorn, "config.wsgi:application", "--bind", f"127.0.0.1:{self.port}", "--workers",
             str(self.workers), "--threads", str(self.threads), "--timeout", "120", "--graceful-timeout", "5",
             *(["--access-logfile", str(self.access_log_path)] if self.access_log else [])],
            cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn did not become healthy; see {self.data_dir}/gunicorn-{self.port}.log")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if getattr(self, "_log", None):
            self._log.close()
        if not self.owns_db:
            return
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.db_name)))

    def query(self, statement: str, params: tuple = ()) -> list[tuple]:
        with psycopg.connect(self.dsn) as conn:
            return conn.execute(statement, params).fetchall()

    def create_user(self, username: str) -> None:
        code = ("from django.contrib.auth import get_user_model; "
                f"get_user_model().objects.create_user({username!r}, password={PASSWORD!r})")
        result = self.manage("shell", "-c", code)
        assert result.returncode == 0, result.stderr[-2000:]


class Browser:
    """A requests session that logs in through the login form and sends the CSRF header like the UI's JS."""

    def __init__(self, server: PlatformServer, username: str):
        self.server = server
        self.session = requests.Session()
        self.session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=64))
        self.session.get(f"{server.url}/login/", timeout=10)
        response = self.session.post(f"{server.url}/login/", timeout=10, allow_redirects=False, data={
            "username": username, "password": PASSWORD, "csrfmiddlewaretoken": self.session.cookies["csrftoken"]},
            headers={"Referer": f"{server.url}/login/"})
        assert response.status_code == 302, response.text[:500]

    def on(self, server: PlatformServer) -> Browser:
        """The same logged-in session talking to another web instance of the same platform."""
        other = object.__new__(Browser)
        other.server, other.session = server, self.session
        return other

    def _headers(self) -> dict:
        return {"X-CSRFToken": self.session.cookies.get("csrftoken", ""), "Referer": f"{self.server.url}/"}

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.session.get(self.server.url + path, timeout=30, headers=self._headers(), **kwargs)

    def post(self, path: str, json: dict | None = None, **kwargs) -> requests.Response:
        return self.session.post(self.server.url + path, json=json if json is not None else {}, timeout=60,
                                 headers=self._headers(), **kwargs)

    def create_project(self, name: str) -> int:
        """Through the create form, like a user; the ETL page then creates the project's ETL configuration."""
        response = self.session.post(self.server.url + "/models/create/", timeout=30, allow_redirects=False,
                                     data={"name": name, "description": "reliability",
                                           "csrfmiddlewaretoken": self.session.cookies["csrftoken"]},
                                     headers={"Referer": f"{self.server.url}/models/create/"})
        assert response.status_code == 302, response.text[:500]
        project_id = int(re.search(r"/models/(\d+)/", response.headers["Location"]).group(1))
        assert self.get(f"/models/{project_id}/etl/").status_code == 200
        return project_id
