"""Load test: gunicorn with PostgreSQL as the app database, the runs API and the ETL page at a steady rate.

Usage: .venv/bin/python bench/load_test.py [--rate 20] [--duration 60] [--runs 300] [--workers 2 --threads 8]

Starts a real platform (tests/reliability/server.py: fresh PostgreSQL app database, migrations, gunicorn), makes a
user, a project, a PostgreSQL source, a job and a few real runs through the real runner, adds `--runs` historical
runs, then sends an open-loop request stream: one request every 1/rate seconds whatever the latency (so slow
answers cannot hide by slowing the client down), alternating `GET /api/etl/runs/<id>/status/` and
`GET /models/<id>/etl/` as a logged-in user. Latency is measured from each request's scheduled send time.
Prints p50/p95/p99/max per endpoint and the error count (any status other than 200, or a failed request), and
writes bench/results/load.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform as host_platform
import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import psycopg  # noqa: E402
import requests  # noqa: E402
from psycopg import sql  # noqa: E402

from tests.reliability.jobs import create_job, create_pg_connection, wait_runs  # noqa: E402
from tests.reliability.server import Browser, PlatformServer  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def make_source() -> dict:
    """A fresh PostgreSQL source database with an `orders` table (2,000 rows)."""
    name = f"load_src_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = f"postgresql://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE orders (id int PRIMARY KEY, v text, updated_at timestamptz NOT NULL)")
        conn.execute("INSERT INTO orders SELECT g, md5(g::text), now() FROM generate_series(1, 2000) g")
    return {"host": "127.0.0.1", "port": 5432, "username": "postgres", "database": name, "dsn": dsn}


def drop_source(source: dict) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(source["database"])))


def seed(server: PlatformServer, source: dict, history: int) -> tuple[Browser, int, list[int]]:
    """A user, project, connection, job, three real runs and `history` finished runs copied from them."""
    server.create_user("loaduser")
    browser = Browser(server, "loaduser")
    project = browser.create_project("load test")
    job = create_job(browser, project, create_pg_connection(browser, project, source), "orders", "merge")
    run_ids = []
    for _ in range(3):
        response = browser.post(f"/api/etl/sources/{job}/run/")
        assert response.status_code == 200, response.text[:300]
        run_ids.append(response.json()["run_id"])
        [run] = wait_runs(server, [run_ids[-1]])
        assert run["status"] == "completed", run
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        columns = [r[0] for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'ml_platform_etlrun' "
            "AND column_name NOT IN ('id', 'created_at', 'scheduled_for')").fetchall()]
        listed = sql.SQL(", ").join(map(sql.Identifier, columns))
        conn.execute(sql.SQL("INSERT INTO ml_platform_etlrun ({cols}, created_at) SELECT {cols}, "
                             "now() - g * interval '2 hours' FROM ml_platform_etlrun, generate_series(1, %s) g "
                             "WHERE id = %s").format(cols=listed), (history, run_ids[-1]))
    return browser, project, run_ids


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


class Load:
    """An open-loop request stream at a fixed rate, recorded per endpoint."""

    def __init__(self, browser: Browser, targets: list[tuple[str, str]], rate: float, duration: float):
        self.targets, self.rate, self.duration = targets, rate, duration
        self.cookies = browser.session.cookies.get_dict()
        self.base = browser.server.url
        self.local = threading.local()
        self.results: dict[str, list[tuple[float, int | None]]] = {name: [] for name, _ in targets}
        self.lock = threading.Lock()

    def _session(self) -> requests.Session:
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
            self.local.session.cookies.update(self.cookies)
        return self.local.session

    def _one(self, name: str, path: str, scheduled: float) -> None:
        status = None
        try:
            response = self._session().get(self.base + path, timeout=30)
            status = response.status_code
        except requests.RequestException:
            status = None
        latency = time.perf_counter() - scheduled
        with self.lock:
            self.results[name].append((latency, status))

    def run(self) -> float:
        total = int(self.rate * self.duration)
        start = time.perf_counter() + 0.5
        with ThreadPoolExecutor(max_workers=64) as pool:
            for i in range(total):
                scheduled = start + i / self.rate
                delay = scheduled - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                name, path = self.targets[i % len(self.targets)]
                pool.submit(self._one, name, path, scheduled)
        return time.perf_counter() - start

    def summary(self, elapsed: float) -> dict:
        report = {}
        for name, rows in self.results.items():
            latencies = [lat * 1000 for lat, _ in rows]
            errors = sum(1 for _, status in rows if status != 200)
            report[name] = {"requests": len(rows), "errors": errors, "mean_ms": round(statistics.fmean(latencies), 1),
                            **{f"p{q}_ms": round(percentile(latencies, q), 1) for q in (50, 95, 99)},
                            "max_ms": round(max(latencies), 1)}
        report["_all"] = {"requests": sum(v["requests"] for v in report.values()),
                          "errors": sum(v["errors"] for v in report.values()),
                          "achieved_rps": round(sum(len(r) for r in self.results.values()) / elapsed, 1)}
        return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second, both endpoints together")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of steady load")
    parser.add_argument("--runs", type=int, default=300, help="historical runs added to the job")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=8, help="gunicorn threads per worker")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "load.json")
    args = parser.parse_args(argv)

    server = PlatformServer(Path(tempfile.mkdtemp(prefix="load-test-")), workers=args.workers,
                            threads=args.threads, access_log=False).start()
    source = make_source()
    try:
        browser, project, run_ids = seed(server, source, args.runs)
        targets = [("runs API  GET /api/etl/runs/<id>/status/", f"/api/etl/runs/{run_ids[-1]}/status/"),
                   ("ETL page  GET /models/<id>/etl/", f"/models/{project}/etl/")]
        for _, path in targets:  # warm up: templates, connections
            assert browser.get(path).status_code == 200
        load = Load(browser, targets, args.rate, args.duration)
        load_before = os.getloadavg()[0]
        elapsed = load.run()
        load_after = os.getloadavg()[0]
        report = load.summary(elapsed)
    finally:
        server.stop()
        drop_source(source)
    report["_setup"] = {"rate_rps": args.rate, "duration_s": args.duration,
                        "gunicorn": f"{args.workers} workers x {args.threads} threads",
                        "app_db": "PostgreSQL (local)", "history_runs": args.runs + 3, "cpus": os.cpu_count(),
                        "python": host_platform.python_version(),
                        "loadavg_1m_before_after": [round(load_before, 2), round(load_after, 2)]}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"\n{'endpoint':45} {'req':>6} {'err':>4} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for name, row in report.items():
        if not name.startswith("_"):
            print(f"{name:45} {row['requests']:6} {row['errors']:4} {row['p50_ms']:8} {row['p95_ms']:8} "
                  f"{row['p99_ms']:8} {row['max_ms']:8}")
    print(f"achieved {report['_all']['achieved_rps']} req/s, {report['_all']['errors']} errors; machine load "
          f"{report['_setup']['loadavg_1m_before_after']} (1-min avg before/after); wrote {args.out}")
    return 1 if report["_all"]["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
