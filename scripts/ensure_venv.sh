#!/usr/bin/env bash
# Create .venv and install the pinned requirements; re-install only when a requirements file changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "Creating virtualenv in .venv"
  "$PYTHON" -m venv .venv
  .venv/bin/pip install --quiet --upgrade pip
fi
stamp=.venv/.requirements.sha256
want=$(cat requirements.txt requirements-dev.txt etl_runner/requirements.txt | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "Installing requirements"
  .venv/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
  echo "$want" > "$stamp"
fi
