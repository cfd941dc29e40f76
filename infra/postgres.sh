#!/usr/bin/env bash
# Make sure the local PostgreSQL that the tests use answers on 127.0.0.1:5432; start the
# Debian cluster if it is installed but stopped. Under CI=true an unreachable server fails.
set -uo pipefail
ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
if ready; then exit 0; fi
if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
  echo "==> starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
  for _ in $(seq 1 60); do ready && exit 0; sleep 0.5; done
fi
if [ "${CI:-}" = "true" ]; then
  echo "PostgreSQL is not reachable on 127.0.0.1:5432 and CI=true: failing" >&2
  exit 1
fi
echo "warning: PostgreSQL is not reachable on 127.0.0.1:5432; its tests will be skipped" >&2
