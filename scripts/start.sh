#!/usr/bin/env bash
# Installs Quorum into .venv and starts the portal on http://localhost:8501 with an embedded SQLite
# database in ./data; an empty database is seeded with the demo (accounts are printed below).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_venv.sh requirements.txt
.venv/bin/python cli.py demo --if-empty
exec .venv/bin/streamlit run serve.py --server.headless true --server.port "${PORT:-8501}" "$@"
