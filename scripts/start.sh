#!/usr/bin/env bash
# Installs Quorum into .venv and starts the portal with an embedded SQLite database in ./data; an empty
# database is seeded with the demo (accounts are printed below).
#
# It listens on 127.0.0.1 (this machine only) unless told otherwise: HOST=0.0.0.0 scripts/start.sh serves the
# whole network (change the demo passwords first, and put HTTPS in front). PORT picks the port (8501).
# QUORUM_DEV=1 shows error details in the browser (off otherwise: they can carry paths and data).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_venv.sh requirements.txt
umask 077  # the data folder, the database, uploads and exports: readable by this user only
HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-8501}"
dev_args=()
if [[ "${QUORUM_DEV:-}" == "1" ]]; then
  dev_args=(--client.showErrorDetails full)
fi
.venv/bin/python cli.py demo --if-empty
if [[ "$HOST" == "127.0.0.1" || "$HOST" == "localhost" || "$HOST" == "::1" ]]; then
  echo "Quorum listens on http://${HOST}:${PORT} (this machine only; HOST=0.0.0.0 to serve the network)"
else
  echo "Quorum listens on ${HOST}:${PORT} (reachable from the network: http://<this machine>:${PORT})"
fi
exec .venv/bin/streamlit run serve.py --server.headless true --server.address "$HOST" --server.port "$PORT" \
  ${dev_args[@]+"${dev_args[@]}"} "$@"
