#!/usr/bin/env bash
# Creates .venv (if missing) and installs the pinned requirements file given as $1 into it.
# Re-running is cheap: pip skips what is already installed at the pinned version.
set -euo pipefail
cd "$(dirname "$0")/.."
REQS="${1:-requirements.txt}"
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$REQS"
