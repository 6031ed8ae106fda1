#!/usr/bin/env bash
# Installs what the tests need and runs the whole suite (what CI runs through .ci/run):
#  - .venv with requirements-dev.txt;
#  - Debian's chromium for the browser tests (apt-get when missing);
#  - the machine's PostgreSQL on 127.0.0.1:5432 (started when installed but down); the suite then runs
#    every storage test on SQLite and on PostgreSQL, and fails rather than skips if PostgreSQL is absent
#    while QUORUM_REQUIRE_POSTGRES=1 (the default here);
#  - an S3 endpoint: the tests start moto in server mode on loopback themselves.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh tests/core -x`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_venv.sh requirements-dev.txt
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -r requirements-nodeps.txt

if ! command -v chromium >/dev/null 2>&1; then
  echo "installing Debian's chromium for the browser tests ..."
  export DEBIAN_FRONTEND=noninteractive
  (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "warning: could not install chromium"
fi

pg_ready() { .venv/bin/python - <<'PY' >/dev/null 2>&1
import psycopg
psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres", connect_timeout=3).close()
PY
}
if ! pg_ready; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "starting PostgreSQL ..."
    for v in /etc/postgresql/*; do pg_ctlcluster --skip-systemctl-redirect "$(basename "$v")" main start || true; done
    for _ in $(seq 1 30); do pg_ready && break; sleep 1; done
  fi
fi
export QUORUM_REQUIRE_POSTGRES="${QUORUM_REQUIRE_POSTGRES:-1}"
export QUORUM_REQUIRE_BROWSER="${QUORUM_REQUIRE_BROWSER:-1}"
export QUORUM_TEST_POSTGRES_URL="${QUORUM_TEST_POSTGRES_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/postgres}"
exec .venv/bin/python -m pytest "$@"
