"""Command line: `python -m etl_runner` (API mode, env vars) and `python -m etl_runner run --config job.json`."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from etl_runner.config import ConfigError, JobConfig, json_schema, parse_config
from etl_runner.pipeline import Pipeline, fault_point, final_payload
from etl_runner.reporting import ApiReporter, Heartbeat, Reporter, StdoutReporter

EXIT_COMPLETED, EXIT_FAILED, EXIT_INVALID_CONFIG = 0, 1, 2
ENV_VARS = ("RUNNER_API_URL", "RUNNER_RUN_ID", "RUNNER_DATA_SOURCE_ID", "RUNNER_TOKEN")
log = logging.getLogger("etl_runner")

DESCRIPTION = """\
The ETL runner: extracts tables/files from a source as Arrow batches, normalizes names and types,
and loads them atomically (data + cursor/ledger state in one transaction) into the warehouse.

Modes:
  python -m etl_runner                 API mode (the platform's launcher). Reads the environment:
      RUNNER_API_URL         platform base URL, e.g. http://127.0.0.1:8000
      RUNNER_RUN_ID          the ETLRun id to report to
      RUNNER_DATA_SOURCE_ID  the data source (job) whose config to fetch
      RUNNER_TOKEN           bearer token minted for this run (never logged)
    fetches GET /api/etl/job-config/<id>/, reports to POST /api/etl/runs/<run>/update/ with a
    heartbeat, and mirrors processed files to the processed-files endpoints.
  python -m etl_runner run --config job.json   development/bench mode: no API; status as JSON lines on stdout.
  python -m etl_runner validate --config job.json   validate a config and list every problem.
  python -m etl_runner schema          print the JSON Schema of job config v1.
  python -m etl_runner serve --socket PATH   warm runner server (local platform): imports everything
      once and forks a child per run. With RUNNER_WARM_SOCKET=PATH in its environment, any
      `python -m etl_runner ...` hands its run to that server (same argv, environment, stdio, exit
      code and signals) and falls back to running in-process when nothing listens there.

Optional environment: RUNNER_DUCKDB_MEMORY_LIMIT (default: 64MB, or 1MB per column per thread for wide
tables), RUNNER_DUCKDB_THREADS,
RUNNER_DUCKDB_DISABLED_COMPRESSION (e.g. dict_fsst: faster string loads, larger files),
RUNNER_PG_READERS (connections for a big PostgreSQL full read, default 2; 1 = one stream),
RUNNER_PG_PARALLEL_MIN_BLOCKS (tables under this many pages are not split, default 8192),
RUNNER_WAREHOUSE_WAIT_SECONDS (how long to wait for the DuckDB writer lock, default 3600),
RUNNER_LOG_LEVEL (default INFO; logs go to stderr).

Exit codes: 0 completed, 1 failed or partial (or the API was unreachable), 2 invalid config.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m etl_runner", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", help="run a job from a config file; JSON lines on stdout")
    run.add_argument("--config", required=True, type=Path, help="path to a job config v1 JSON file")
    val = sub.add_parser("validate", help="validate a job config file and list every problem")
    val.add_argument("--config", required=True, type=Path, help="path to a job config v1 JSON file")
    sub.add_parser("schema", help="print the JSON Schema of job config v1")
    srv = sub.add_parser("serve", help="warm runner server: preload once, fork one child per run (local only)")
    srv.add_argument("--socket", required=True, type=Path, help="Unix socket to listen on (created 0600)")
    return parser


def execute(config: JobConfig, reporter: Reporter, heartbeat: Heartbeat | None = None) -> int:
    """Run the pipeline, send the final update, return the exit code."""
    pipeline = Pipeline(config, reporter, on_phase=(lambda p: setattr(heartbeat, "phase", p)) if heartbeat else None)
    if heartbeat:
        heartbeat.progress = pipeline.progress_total
    try:
        result = pipeline.run()
    except Exception as exc:  # noqa: BLE001 - warehouse/source could not even open: report, then fail
        log.exception("run failed")
        reporter.update({"status": "failed", "phase": "finalize",
                         "error": {"type": type(exc).__name__, "message": str(exc)}})
        return EXIT_FAILED
    fault_point("before_report")
    reporter.update(final_payload(result))
    return EXIT_COMPLETED if result.status == "completed" else EXIT_FAILED


def run_from_file(path: Path) -> int:
    """`run --config`: validate, then run with a stdout reporter."""
    reporter = StdoutReporter()
    try:
        config = parse_config(path.read_text())
    except OSError as exc:
        reporter.update({"status": "failed", "error": {"type": "ConfigError", "message": str(exc)}})
        return EXIT_INVALID_CONFIG
    except ConfigError as exc:
        reporter.update({"status": "failed", "error": {"type": "ConfigError", "message": str(exc),
                                                        "problems": exc.problems}})
        return EXIT_INVALID_CONFIG
    return execute(config, reporter)


def run_from_api() -> int:
    """API mode: fetch the config with the run token, report with heartbeats."""
    from etl_runner.client import ApiClient, ApiError

    missing = [v for v in ENV_VARS if not os.environ.get(v)]
    if missing:
        print(f"missing environment variables: {', '.join(missing)}", file=sys.stderr)
        return EXIT_INVALID_CONFIG
    client = ApiClient(os.environ["RUNNER_API_URL"], os.environ["RUNNER_TOKEN"])
    reporter = ApiReporter(client, os.environ["RUNNER_RUN_ID"], os.environ["RUNNER_DATA_SOURCE_ID"])
    try:
        raw = client.job_config(os.environ["RUNNER_DATA_SOURCE_ID"])
        config = parse_config(raw)
    except ConfigError as exc:
        log.error("%s", exc)
        _report_quietly(reporter, {"status": "failed", "error": {"type": "ConfigError", "message": str(exc)}})
        return EXIT_INVALID_CONFIG
    except ApiError as exc:
        log.error("cannot fetch the job config: %s", exc)
        _report_quietly(reporter, {"status": "failed", "error": {"type": "ApiError", "message": str(exc)}})
        return EXIT_FAILED
    heartbeat = Heartbeat(reporter, config.options.heartbeat_seconds).start()
    try:
        return execute(config, reporter, heartbeat)
    finally:
        heartbeat.stop()


def _report_quietly(reporter: Reporter, payload: dict) -> None:
    try:
        reporter.update(payload)
    except Exception as exc:  # noqa: BLE001 - nothing more to do if the API is gone
        log.error("could not report failure: %s", exc)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(stream=sys.stderr, level=os.environ.get("RUNNER_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        from etl_runner.warm_server import serve

        return serve(str(args.socket))
    if args.command == "run":
        return run_from_file(args.config)
    if args.command == "validate":
        try:
            parse_config(args.config.read_text())
        except ConfigError as exc:
            print(str(exc), file=sys.stderr)
            return EXIT_INVALID_CONFIG
        print("config is valid")
        return EXIT_COMPLETED
    if args.command == "schema":
        print(json.dumps(json_schema(), indent=2))
        return EXIT_COMPLETED
    return run_from_api()
