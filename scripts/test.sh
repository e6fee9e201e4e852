#!/usr/bin/env bash
# Install what the suite needs, then run it. `--django-only` runs only the Django-side tests
# (used by CI for the second pass with PostgreSQL as the app database). Extra args go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure_venv.sh
for installer in scripts/install_emulators.sh scripts/install_browser.sh; do
  if [ -f "$installer" ]; then bash "$installer"; fi
done
export PLATFORM_DATA_DIR="${PLATFORM_DATA_DIR:-$(mktemp -d /tmp/mlp-test-XXXXXX)}"
.venv/bin/ruff check .
.venv/bin/python manage.py makemigrations --check --dry-run >/dev/null || {
  echo "Model changes without migrations: run 'python manage.py makemigrations'" >&2; exit 1; }
if [ "${1:-}" = "--django-only" ]; then
  shift
  exec .venv/bin/python -m pytest ml_platform/tests "$@"
fi
exec .venv/bin/python -m pytest "$@"
