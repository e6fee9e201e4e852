"""File benchmark: 10 Parquet / CSV files (5M rows, 11 columns) -> DuckDB, runner vs DuckDB's own readers.

Usage: .venv/bin/python bench/files_bench.py [--rows 5000000] [--files 10] [--dir /tmp/files_bench] [--repeat 3]
Generates the files itself (DuckDB COPY), then per repeat runs, each in a fresh process and a fresh DuckDB file:
- reference: `CREATE TABLE t AS SELECT * FROM read_parquet([...])` (and `read_csv([...])`) in DuckDB;
- runner: `python -m etl_runner run --config` with a `local_files` source, load_mode replace, cold (a new
  process) and warm (handed to the warm runner server, as the local platform runs it).
Prints seconds, peak RSS and the ratios (targets: Parquet < 1.3x, CSV < 1.5x); medians over the repeats.
"""

# ruff: noqa: S608 - fixed benchmark SQL built from constants, no user input
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from runner_bench import PY, REPO, WarmServer, measure_rounds, measured  # noqa: E402 - shared helpers

GENERATE = """
SELECT i AS id, (i % 100000)::INTEGER AS customer_id, ((i % 100000) / 100.0)::DECIMAL(12,2) AS amount,
  (i % 17)::INTEGER AS qty, i * 0.25 AS price, ['new','paid','shipped','cancelled'][i % 4 + 1] AS status,
  'note for row ' || i AS note, TIMESTAMPTZ '2020-01-01 00:00:00+00' + to_seconds(i) AS created_at,
  TIMESTAMPTZ '2020-01-01 00:00:00+00' + to_seconds(i) AS updated_at, i % 2 = 0 AS flag,
  DATE '2020-01-01' + (i % 1000)::INTEGER AS day
FROM range({start}, {stop}) r(i)
"""


def generate(folder: Path, rows: int, files: int) -> None:
    """`files` Parquet files and the same rows as CSV files (with header) under folder/parquet and folder/csv."""
    import duckdb

    for fmt in ("parquet", "csv"):
        (folder / fmt).mkdir(parents=True, exist_ok=True)
    per = rows // files
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        for n in range(files):
            query = GENERATE.format(start=n * per + 1, stop=(n + 1) * per + 1)
            con.execute(f"COPY ({query}) TO '{folder}/parquet/part_{n:02d}.parquet' (FORMAT parquet)")
            con.execute(f"COPY ({query}) TO '{folder}/csv/part_{n:02d}.csv' (FORMAT csv, HEADER true)")


def duckdb_reference(folder: Path, fmt: str, work: Path) -> tuple[float, float]:
    """DuckDB's own reader into a table of a fresh database file, in a fresh process, with DuckDB's defaults.

    (DuckDB's own CSV reader does not run within the runner's 64MB floor, so there is no "same settings" line.)
    """
    reader = "read_parquet" if fmt == "parquet" else "read_csv"
    code = ("import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
            f"c.execute(\"CREATE TABLE t AS SELECT * FROM {reader}('{folder}/{fmt}/*.{fmt}')\"); "
            "print(c.execute('SELECT count(*) FROM t').fetchone()[0]); c.close()")
    seconds, rss, _ = measured([PY, "-c", code, str(work / f"ref_{fmt}_{time.monotonic_ns()}.duckdb")])
    return seconds, rss


def runner_files(folder: Path, fmt: str, work: Path, env: dict | None = None) -> tuple[float, float, dict]:
    table = {"table_id": 1, "dest_dataset": "bench", "dest_table": f"files_{fmt}", "load_mode": "replace",
             "file": {"prefix": f"{fmt}/", "pattern": f"*.{fmt}", "format": fmt}}
    config = {"version": 1, "run_id": 1, "job": {"id": 1, "name": "bench files", "project_id": 1},
              "source": {"kind": "local_files", "params": {"path": str(folder)}},
              "destination": {"backend": "duckdb", "dataset": "bench",
                              "duckdb_path": str(work / f"runner_{fmt}_{time.monotonic_ns()}.duckdb")},
              "tables": [table], "options": {"batch_size": 100000}}
    path = work / f"job_{time.monotonic_ns()}.json"
    path.write_text(json.dumps(config))
    seconds, rss, out = measured([PY, "-m", "etl_runner", "run", "--config", str(path)], env=env)
    final = [json.loads(x) for x in out.splitlines() if '"finalize"' in x][-1]
    return seconds, rss, final["tables"][0]


def one_round(folder: Path, rows: int, warm: WarmServer) -> dict:
    """DuckDB's reader, the runner cold (a new process) and warm (through the warm runner server)."""
    r: dict = {}
    with tempfile.TemporaryDirectory(prefix="files_bench_") as tmp:
        work = Path(tmp)
        for fmt in ("parquet", "csv"):
            r[f"{fmt}_duckdb_s"], r[f"{fmt}_duckdb_rss_mb"] = duckdb_reference(folder, fmt, work)
            for mode, env in (("runner", None), ("warm", warm.env)):
                r[f"{fmt}_{mode}_s"], r[f"{fmt}_{mode}_rss_mb"], table = runner_files(folder, fmt, work, env)
                if table["rows_loaded"] != rows or table["status"] != "completed":
                    raise SystemExit(f"runner loaded {table['rows_loaded']} of {rows} {fmt} rows: {table}")
            r[f"{fmt}_ratio"] = r[f"{fmt}_runner_s"] / r[f"{fmt}_duckdb_s"]
            r[f"{fmt}_warm_ratio"] = r[f"{fmt}_warm_s"] / r[f"{fmt}_duckdb_s"]
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--files", type=int, default=10)
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "files_bench")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-generate", action="store_true")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "files.json")
    args = ap.parse_args()
    if not args.skip_generate:
        t = time.perf_counter()
        generate(args.dir, args.rows, args.files)
        print(f"generated {args.files} Parquet + {args.files} CSV files ({args.rows:,} rows) in "
              f"{time.perf_counter() - t:.0f}s under {args.dir}", flush=True)
    rounds, median = measure_rounds(args.repeat, lambda warm: one_round(args.dir, args.rows, warm))
    report(median, args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"rows": args.rows, "files": args.files, "median": median, "rounds": rounds},
                                   indent=2))


def report(m: dict, args) -> None:
    print(f"\nmedian of {args.repeat}: {args.rows:,} rows in {args.files} files, 11 columns")
    for fmt, reader, target in (("parquet", "read_parquet", 1.3), ("csv", "read_csv", 1.5)):
        print(f"  DuckDB {reader} -> table (defaults)          {m[f'{fmt}_duckdb_s']:6.2f} s "
              f"peak RSS {m[f'{fmt}_duckdb_rss_mb']:5.0f} MB")
        print(f"  runner {fmt} -> DuckDB (cold)                 {m[f'{fmt}_runner_s']:6.2f} s "
              f"peak RSS {m[f'{fmt}_runner_rss_mb']:5.0f} MB")
        print(f"  runner {fmt} -> DuckDB (warm server)          {m[f'{fmt}_warm_s']:6.2f} s "
              f"peak RSS {m[f'{fmt}_warm_rss_mb']:5.0f} MB")
        print(f"  ratio vs DuckDB: cold {m[f'{fmt}_ratio']:.2f}x, warm {m[f'{fmt}_warm_ratio']:.2f}x "
              f"(target < {target}x)")


if __name__ == "__main__":
    main()
