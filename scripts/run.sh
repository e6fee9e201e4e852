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
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT
if $PY manage.py help run_scheduler >/dev/null 2>&1; then
  $PY manage.py run_scheduler &
  pids+=($!)
fi
$PY manage.py runserver 127.0.0.1:8000 &
pids+=($!)
echo "Platform on http://127.0.0.1:8000 (Ctrl-C to stop)"
wait -n "${pids[@]}"
