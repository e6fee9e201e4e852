#!/usr/bin/env bash
# Browser tests: Debian's headless Chromium plus Playwright for Python (never `playwright install`,
# which would download a browser build of its own). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/chromium ]; then
  if ! apt-cache policy chromium 2>/dev/null | grep -q "Candidate: [0-9]"; then
    apt-get update -qq
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi
pw_version=$(grep -E '^playwright==' requirements-dev.txt | cut -d= -f3)
if ! .venv/bin/python -c "import playwright, importlib.metadata as m; assert m.version('playwright') == '$pw_version'" 2>/dev/null; then
  .venv/bin/pip install -q "playwright==$pw_version"
fi
