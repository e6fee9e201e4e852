"""Helpers shared by the runner tests: job configs, running the pipeline, reading DuckDB."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb

from etl_runner.config import parse_config
from etl_runner.pipeline import Pipeline, RunResult

REPO = Path(__file__).resolve().parents[2]


class ListReporter:
    """Collects updates and processed files in memory."""

    def __init__(self):
        self.updates: list[dict] = []
        self.files: list[dict] = []

    def update(self, payload: dict) -> None:
        self.updates.append(payload)

    def record_file(self, table_id: int, record: dict) -> None:
        self.files.append({"table_id": table_id, **record})

    @property
    def phases(self) -> list[str]:
        return [u["phase"] for u in self.updates if "phase" in u]


def source_for(kind: str, db: dict | None = None, path: str | None = None) -> dict:
    if kind == "sqlite":
        return {"kind": "sqlite", "params": {"path": path}}
    params = {"host": db["host"], "port": db["port"], "database": db["database"], "username": db["username"]}
    return {"kind": kind, "params": params, "secrets": {"password": db["password"]} if db["password"] else {}}


def job_config(source: dict, duckdb_path: Path, tables: list[dict], **options) -> dict[str, Any]:
    """A job config v1 dict; each table dict needs at least source_table and dest_table."""
    full_tables = []
    for i, t in enumerate(tables, start=1):
        full_tables.append({"table_id": i, "dest_dataset": "p1_raw", **t})
    return {
        "version": 1, "run_id": 1, "job": {"id": 1, "name": "test job", "project_id": 1},
        "source": source,
        "destination": {"backend": "duckdb", "dataset": "p1_raw", "duckdb_path": str(duckdb_path)},
        "tables": full_tables, "options": {"batch_size": 1000, "heartbeat_seconds": 15, **options},
    }


def run_pipeline(config: dict) -> tuple[RunResult, ListReporter]:
    reporter = ListReporter()
    result = Pipeline(parse_config(config), reporter).run()
    return result, reporter


def run_cli(config: dict, tmp_path: Path, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """`python -m etl_runner run --config` in a subprocess."""
    cfg = tmp_path / f"job_{os.getpid()}_{len(list(tmp_path.iterdir()))}.json"
    cfg.write_text(json.dumps(config))
    return subprocess.run(
        [sys.executable, "-m", "etl_runner", "run", "--config", str(cfg)],
        cwd=REPO, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=timeout,
    )


def stdout_events(proc: subprocess.CompletedProcess) -> list[dict]:
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def dest_rows(duckdb_path: Path, table: str, order_by: str = "1", dataset: str = "p1_raw") -> list[tuple]:
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        return con.execute(f'SELECT * FROM {dataset}."{table}" ORDER BY {order_by}').fetchall()


def dest_state(duckdb_path: Path, table: str, dataset: str = "p1_raw") -> str | None:
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        row = con.execute(f"SELECT cursor_value FROM {dataset}._etl_state WHERE dest_table = ?", [table]).fetchone()
        return row[0] if row else None


def pg_exec(db: dict, *statements: str) -> None:
    import psycopg

    with psycopg.connect(db["dsn"], autocommit=True) as con:
        for s in statements:
            con.execute(s)


def pg_rows(db: dict, query: str) -> list[tuple]:
    import psycopg

    with psycopg.connect(db["dsn"]) as con:
        return con.execute(query).fetchall()


def mysql_exec(db: dict, *statements: str) -> None:
    import pymysql

    con = pymysql.connect(host=db["host"], port=db["port"], user=db["username"], password=db["password"],
                          database=db["database"], autocommit=True, charset="utf8mb4")
    try:
        with con.cursor() as cur:
            for s in statements:
                cur.execute(s)
    finally:
        con.close()


@contextlib.contextmanager
def running_warm_server(directory: Path) -> Iterator[tuple[Path, Path]]:
    """`python -m etl_runner serve` on a socket in `directory`; yields (socket, server log)."""
    sock, log = directory / "runner.sock", directory / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "etl_runner", "serve", "--socket", str(sock)], cwd=REPO,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while not sock.exists():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "warm server did not start"
            time.sleep(0.05)
        yield sock, log
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextlib.contextmanager
def warehouse_locked(path: Path, seconds: float) -> Iterator[None]:
    """Another process holds the DuckDB writer lock on `path` for `seconds` (or until the block ends)."""
    holder = subprocess.Popen([sys.executable, "-c", f"import duckdb,time; c=duckdb.connect({str(path)!r}); "
                               f"print('locked', flush=True); time.sleep({seconds})"], cwd=REPO,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        yield
    finally:
        holder.kill()
        holder.wait()
