"""Runner benchmark: PostgreSQL/MariaDB 11-column tables -> DuckDB, against binary COPY, ConnectorX and dlt.

Usage: .venv/bin/python bench/runner_bench.py [--rows 5000000] [--skip-generate] [--repeat 3]
           [--dlt-python /tmp/dltvenv/bin/python] [--out bench/results/runner.json]
Generates the data itself (database `bench_runner` on the local PostgreSQL and MariaDB), runs every
measurement `--repeat` times in the same session and prints the medians of seconds, peak RSS and the
ratios the runner issue targets. dlt runs only with `--dlt-python` (a separate venv with dlt, sqlalchemy,
psycopg2 and connectorx: never installed into the project).
"""

# ruff: noqa: S608 - fixed benchmark SQL built from constants, no user input
from __future__ import annotations

import argparse
import http.server
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable
DB = "bench_runner"
COLUMNS = ("id bigint PRIMARY KEY, customer_id integer, amount numeric(12,2), qty integer, price double precision, "
           "status text, note text, created_at timestamptz, updated_at timestamptz, flag boolean, day date")
MY_COLUMNS = ("id bigint PRIMARY KEY, customer_id int, amount decimal(12,2), qty int, price double, "
              "status varchar(16), note varchar(64), created_at datetime(6), updated_at datetime(6), "
              "flag tinyint(1), day date, KEY (updated_at)")


def sh(cmd: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, shell=True, check=True, capture_output=True, text=True, **kw)


def psql(sql: str, db: str = DB) -> None:
    sh(f"psql -h 127.0.0.1 -U postgres -d {db} -v ON_ERROR_STOP=1 -q", input=sql)


def mysql(sql: str) -> None:
    sh("mysql -h 127.0.0.1 -uroot", input=sql)


def generate_pg(rows: int) -> None:
    """bench (rows) and bench_1m (1M rows) with an index on updated_at."""
    sh(f"psql -h 127.0.0.1 -U postgres -d postgres -q -c 'DROP DATABASE IF EXISTS {DB}' -c 'CREATE DATABASE {DB}'")
    psql(f"""
    CREATE TABLE bench ({COLUMNS});
    INSERT INTO bench SELECT g, g % 100000, (g % 100000) / 100.0, g % 17, g * 0.25,
      (ARRAY['new','paid','shipped','cancelled'])[g % 4 + 1], 'note for row ' || g,
      '2020-01-01'::timestamptz + g * interval '1 second', '2020-01-01'::timestamptz + g * interval '1 second',
      g % 2 = 0, '2020-01-01'::date + (g % 1000)
    FROM generate_series(1, {rows}) g;
    CREATE INDEX ON bench (updated_at);
    CREATE TABLE bench_1m AS SELECT * FROM bench WHERE id <= 1000000;
    VACUUM ANALYZE;
    """)


def generate_mysql(rows: int) -> None:
    mysql(f"""
    DROP DATABASE IF EXISTS {DB}; CREATE DATABASE {DB}; USE {DB};
    CREATE TABLE bench ({MY_COLUMNS});
    INSERT INTO bench SELECT seq, seq % 100000, (seq % 100000) / 100.0, seq % 17, seq * 0.25,
      ELT(seq % 4 + 1, 'new','paid','shipped','cancelled'), CONCAT('note for row ', seq),
      TIMESTAMP'2020-01-01 00:00:00' + INTERVAL seq SECOND, TIMESTAMP'2020-01-01 00:00:00' + INTERVAL seq SECOND,
      seq % 2 = 0, DATE'2020-01-01' + INTERVAL (seq % 1000) DAY
    FROM seq_1_to_{rows};
    """)


def measured(cmd: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """(seconds, peak RSS MB of the command, stdout) measured by a fresh wrapper process.

    Through the warm server (RUNNER_WARM_SOCKET in env) the command is a thin client and the work runs
    in the server's forked child: the peak RSS reported is the child's (RUNNER_WARM_STATS).
    """
    env = {**os.environ, **(env or {})}
    stats = None
    if env.get("RUNNER_WARM_SOCKET"):
        stats = Path(tempfile.mkstemp(prefix="warm_stats_", suffix=".json")[1])
        env["RUNNER_WARM_STATS"] = str(stats)
    wrapper = ("import json, resource, subprocess, sys, time; t=time.perf_counter(); "
               "p=subprocess.run(sys.argv[1:], capture_output=True, text=True); "
               "d=time.perf_counter()-t; sys.stderr.write(p.stderr[-3000:]); "
               "rss=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss; "
               "print(json.dumps({'s': d, 'rc': p.returncode, 'rss': rss, 'out': p.stdout[-4000:]}))")
    p = subprocess.run([PY, "-c", wrapper, *cmd], capture_output=True, text=True, env=env, cwd=REPO)
    res = json.loads(p.stdout.strip().splitlines()[-1])
    if res["rc"] != 0:
        raise SystemExit(f"command failed: {' '.join(cmd)}\n{p.stderr}\n{res['out']}")
    if stats is not None:
        res["rss"] = json.loads(stats.read_text())["maxrss_kb"]
        stats.unlink()
    return res["s"], res["rss"] / 1024, res["out"]


class WarmServer:
    """`python -m etl_runner serve` for the session: what `make run` starts beside the platform."""

    def __init__(self, work: Path):
        self.socket = work / "runner.sock"
        self.log = open(work / "warm_server.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([PY, "-m", "etl_runner", "serve", "--socket", str(self.socket)], cwd=REPO,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not self.socket.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the warm runner server did not start")
            time.sleep(0.05)

    @property
    def env(self) -> dict:
        return {"RUNNER_WARM_SOCKET": str(self.socket)}

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()


DLT_CODE = """
import os, sys
import dlt
from dlt.sources.sql_database import sql_table
url, table, duck, work = sys.argv[1:5]
os.environ["DLT_DATA_DIR"] = os.path.join(work, "dlt_data")
source = sql_table(credentials=url, table=table, backend="connectorx", reflection_level="full_with_precision")
pipeline = dlt.pipeline(pipeline_name="bench", destination=dlt.destinations.duckdb(duck), dataset_name="bench",
                        pipelines_dir=os.path.join(work, "pipelines"))
info = pipeline.run(source, write_disposition="replace")
assert not info.has_failed_jobs
"""


class _PlatformStub(http.server.BaseHTTPRequestHandler):
    """The platform's runner endpoints: serves the job config, accepts run updates (no Django)."""

    config: dict = {}

    def _answer(self, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self._answer({"status": "success", "config": self.config})

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._answer({"status": "success"})

    def log_message(self, *args) -> None:
        pass


def platform_run(config: dict, env: dict | None = None) -> tuple[float, float]:
    """API mode, as the platform launches it: `python -m etl_runner` fetches its config over HTTP and reports."""
    _PlatformStub.config = config
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _PlatformStub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {"RUNNER_API_URL": f"http://127.0.0.1:{server.server_address[1]}", "RUNNER_RUN_ID": "1",
           "RUNNER_DATA_SOURCE_ID": "1", "RUNNER_TOKEN": "bench-token", **(env or {})}
    try:
        seconds, rss, _ = measured([PY, "-m", "etl_runner"], env=env)
    finally:
        server.shutdown()
    return seconds, rss


def dlt_seconds(dlt_python: str, table: str, work: Path) -> tuple[float, float]:
    """dlt's sql_table with the ConnectorX backend into a fresh DuckDB file (replace)."""
    url = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{DB}"
    duck = work / f"dlt_{time.monotonic_ns()}.duckdb"
    dlt_work = work / f"dlt_{time.monotonic_ns()}"
    s, rss, _ = measured([dlt_python, "-c", DLT_CODE, url, table, str(duck), str(dlt_work)],
                         env={"RUNTIME__LOG_LEVEL": "ERROR"})
    return s, rss


def runner(config: dict, workdir: Path, env: dict | None = None) -> tuple[float, float, dict]:
    path = workdir / f"job_{time.monotonic_ns()}.json"
    path.write_text(json.dumps(config))
    seconds, rss, out = measured([PY, "-m", "etl_runner", "run", "--config", str(path)], env=env)
    final = [json.loads(x) for x in out.splitlines() if '"finalize"' in x][-1]
    return seconds, rss, final


def job(kind: str, port: int, user: str, table: str, mode: str, duck: Path, schema: str | None = "public") -> dict:
    t = {"table_id": 1, "source_table": table, "dest_dataset": "bench", "dest_table": table, "load_mode": mode}
    if schema:
        t["source_schema"] = schema
    if mode == "merge":
        t |= {"cursor_column": "updated_at", "primary_key": ["id"]}
    return {"version": 1, "run_id": 1, "job": {"id": 1, "name": "bench", "project_id": 1},
            "source": {"kind": kind, "params": {"host": "127.0.0.1", "port": port, "database": DB, "username": user}},
            "destination": {"backend": "duckdb", "dataset": "bench", "duckdb_path": str(duck)},
            "tables": [t], "options": {"batch_size": 100000}}


def copy_binary_seconds(table: str) -> float:
    copy = f"\\copy (SELECT * FROM {table}) TO '/dev/null' WITH (FORMAT binary)"
    cmd = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", DB, "-c", copy]
    return measured(cmd)[0]


def connectorx_seconds() -> tuple[float, float]:
    code = ("import connectorx as cx; t=cx.read_sql('mysql://root@127.0.0.1:3306/bench_runner', "
            "'SELECT id, customer_id, CAST(amount AS CHAR) amount, qty, price, status, note, created_at, updated_at, "
            "flag, day FROM bench', return_type='arrow'); print(t.num_rows)")
    s, rss, _ = measured([PY, "-c", code])
    return s, rss


def one_round(args, work: Path, warm: WarmServer) -> dict:
    """Every measurement once, in the same session, each in a fresh process and a fresh DuckDB file.

    "cold": a new Python process per run (Cloud Run, or no warm server). "warm": handed to the warm
    runner server, as the local platform started by `make run` launches runs.
    """
    r: dict = {}
    n = time.monotonic_ns()
    r["copy_binary_s"] = copy_binary_seconds("bench")
    pg = ("postgresql", 5432, "postgres")
    r["full_s"], r["full_rss_mb"], _ = runner(job(*pg, "bench", "replace", work / f"a{n}.duckdb"), work)
    r["platform_s"], r["platform_rss_mb"] = platform_run(job(*pg, "bench", "replace", work / f"p{n}.duckdb"))
    r["warm_full_s"], r["warm_full_rss_mb"], _ = runner(job(*pg, "bench", "replace", work / f"w{n}.duckdb"), work,
                                                        env=warm.env)
    r["warm_platform_s"], r["warm_platform_rss_mb"] = platform_run(
        job(*pg, "bench", "replace", work / f"q{n}.duckdb"), env=warm.env)
    r["full_1m_s"], r["full_1m_rss_mb"], _ = runner(job(*pg, "bench_1m", "replace", work / f"b{n}.duckdb"), work)
    merge = job(*pg, "bench", "merge", work / f"c{n}.duckdb")
    r["merge_initial_s"], r["merge_initial_rss_mb"], _ = runner(merge, work)
    warm_merge = job(*pg, "bench", "merge", work / f"m{n}.duckdb")
    shutil.copy(work / f"c{n}.duckdb", work / f"m{n}.duckdb")  # the same state: both see the same 1% change
    psql("UPDATE bench SET status = 'changed', updated_at = now() WHERE id % 100 = 0")
    r["incremental_1pct_s"], r["incremental_rss_mb"], final = runner(merge, work)
    r["incremental_rows"] = final["tables"][0]["rows_loaded"]
    r["warm_incremental_s"], r["warm_incremental_rss_mb"], final = runner(warm_merge, work, env=warm.env)
    assert final["tables"][0]["rows_loaded"] == r["incremental_rows"]
    r["cx_mysql_s"], r["cx_mysql_rss_mb"] = connectorx_seconds()
    my_job = job("mysql", 3306, "root", "bench", "replace", work / f"d{n}.duckdb", None)
    r["mysql_full_s"], r["mysql_full_rss_mb"], _ = runner(my_job, work)
    if args.dlt_python:
        r["dlt_cx_s"], r["dlt_cx_rss_mb"] = dlt_seconds(args.dlt_python, "bench", work)
        r["ratio_dlt_vs_platform"] = r["dlt_cx_s"] / r["platform_s"]
    r["ratio_full_vs_copy"] = r["full_s"] / r["copy_binary_s"]
    r["ratio_platform_vs_copy"] = r["platform_s"] / r["copy_binary_s"]
    r["ratio_warm_platform_vs_copy"] = r["warm_platform_s"] / r["copy_binary_s"]
    r["ratio_incremental_vs_full"] = r["incremental_1pct_s"] / r["full_s"]
    r["ratio_warm_incremental_vs_warm_full"] = r["warm_incremental_s"] / r["warm_full_s"]
    r["ratio_mysql_vs_connectorx"] = r["mysql_full_s"] / r["cx_mysql_s"]
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--skip-generate", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dlt-python", help="python of a separate venv with dlt + connectorx (skipped if not given)")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "runner.json")
    args = ap.parse_args()
    if not args.skip_generate:
        t = time.perf_counter()
        generate_pg(args.rows)
        generate_mysql(args.rows)
        print(f"generated {args.rows} rows in PostgreSQL and MariaDB in {time.perf_counter() - t:.0f}s", flush=True)

    def round_in_fresh_folder(warm: WarmServer) -> dict:
        with tempfile.TemporaryDirectory(prefix="runner_bench_") as tmp:
            return one_round(args, Path(tmp), warm)

    rounds, median = measure_rounds(args.repeat, round_in_fresh_folder)
    report({"rows": args.rows, **median}, args.repeat)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"rows": args.rows, "median": median, "rounds": rounds}, indent=2))


def measure_rounds(repeat: int, one_round: Callable[[WarmServer], dict]) -> tuple[list[dict], dict]:
    """Run `one_round` `repeat` times beside one warm runner server; every round and the medians.

    Each round records the 1-minute load average at its start and end (the machine may be shared).
    """
    rounds = []
    with tempfile.TemporaryDirectory(prefix="bench_warm_") as warm_dir:
        warm = WarmServer(Path(warm_dir))
        try:
            for i in range(repeat):
                load = os.getloadavg()[0]
                rounds.append({**one_round(warm), "loadavg_start": load, "loadavg_end": os.getloadavg()[0]})
                print(f"round {i + 1}: " + ", ".join(f"{k}={v:.2f}" for k, v in rounds[-1].items()), flush=True)
        finally:
            warm.stop()
    return rounds, {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}


def report(r: dict, repeat: int) -> None:
    print(f"\nmedian of {repeat} rounds: {r['rows']:,} rows, 11 columns, {os.cpu_count()} cores")
    lines = [
        ("psql \\copy binary -> /dev/null", r["copy_binary_s"], None),
        ("runner full load PG -> DuckDB (replace, CLI, cold)", r["full_s"], r["full_rss_mb"]),
        ("runner full load, platform mode (config over HTTP), cold", r["platform_s"], r["platform_rss_mb"]),
        ("runner full load (CLI), warm server", r["warm_full_s"], r["warm_full_rss_mb"]),
        ("runner full load, platform mode, warm server", r["warm_platform_s"], r["warm_platform_rss_mb"]),
        ("runner full load PG 1M rows (cold)", r["full_1m_s"], r["full_1m_rss_mb"]),
        ("runner initial merge load PG (cold)", r["merge_initial_s"], r["merge_initial_rss_mb"]),
        (f"runner merge after 1% change ({r['incremental_rows']:.0f} rows), cold", r["incremental_1pct_s"],
         r["incremental_rss_mb"]),
        ("runner merge after 1% change, warm server", r["warm_incremental_s"], r["warm_incremental_rss_mb"]),
        ("ConnectorX read MariaDB (arrow)", r["cx_mysql_s"], r["cx_mysql_rss_mb"]),
        ("runner full load MariaDB -> DuckDB (cold)", r["mysql_full_s"], r["mysql_full_rss_mb"]),
    ]
    if "dlt_cx_s" in r:
        lines.append(("dlt + ConnectorX PG -> DuckDB (replace)", r["dlt_cx_s"], r["dlt_cx_rss_mb"]))
    for name, s, rss in lines:
        print(f"  {name:<58} {s:7.2f} s" + (f"   peak RSS {rss:6.0f} MB" if rss else ""))
    print(f"  full load (CLI, cold) / binary COPY            {r['ratio_full_vs_copy']:.2f}x  (target < 1.6x)")
    print(f"  full load (platform, cold) / binary COPY       {r['ratio_platform_vs_copy']:.2f}x  (target < 1.6x)")
    print(f"  full load (platform, warm) / binary COPY       {r['ratio_warm_platform_vs_copy']:.2f}x  (target < 1.6x)")
    print(f"  incremental(1%) / full load, both cold         {r['ratio_incremental_vs_full']:.2%}  (target < 10%)")
    print(f"  incremental(1%) / full load, both warm         {r['ratio_warm_incremental_vs_warm_full']:.2%}"
          "  (target < 10%)")
    print(f"  MariaDB full load / ConnectorX                 {r['ratio_mysql_vs_connectorx']:.2f}x  (target < 2x)")
    if "dlt_cx_s" in r:
        print(f"  dlt+ConnectorX / runner (platform, cold)       {r['ratio_dlt_vs_platform']:.2f}x  (target >= 1.5x)")
    print(f"  peak RSS 1M vs 5M                              {r['full_1m_rss_mb']:.0f} MB vs {r['full_rss_mb']:.0f} MB"
          " (target < 600 MB, flat)")


if __name__ == "__main__":
    main()
