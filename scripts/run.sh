#!/usr/bin/env bash
# Start the platform on embedded defaults: SQLite, DuckDB, local secrets, local scheduler, subprocess runner.
# Serves http://127.0.0.1:8000 and runs the local scheduler beside it; Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure_venv.sh
export DEBUG="${DEBUG:-true}"
PY=.venv/bin/python
$PY manage.py migrate --noinput
$PY manage.py ensure_local_admin
if $PY manage.py help load_demo >/dev/null 2>&1; then
  $PY manage.py load_demo --if-missing
fi
pids=()
cleanup() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}" ${warm_pid:-}; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT
# Warm runner server: imports the runner once and forks a child per run (etl_runner/warm_server.py).
# Optional: if it is not running, runs start cold, so it is not among the processes `wait -n` watches.
export RUNNER_WARM_SOCKET="${RUNNER_WARM_SOCKET:-$(realpath -m "${PLATFORM_DATA_DIR:-var}")/runner.sock}"
mkdir -p "$(dirname "$RUNNER_WARM_SOCKET")"
$PY -m etl_runner serve --socket "$RUNNER_WARM_SOCKET" &
warm_pid=$!
if $PY manage.py help run_scheduler >/dev/null 2>&1; then
  $PY manage.py run_scheduler &
  pids+=($!)
fi
$PY manage.py runserver 127.0.0.1:8000 &
pids+=($!)
echo "Platform on http://127.0.0.1:8000 (Ctrl-C to stop)"
wait -n "${pids[@]}"
