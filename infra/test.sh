#!/usr/bin/env bash
# Set everything up, then run every check: ruff, mypy --strict, and the whole test suite
# (unit, integration on SQLite and PostgreSQL, end-to-end with localstripe and Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
bash infra/setup.sh
bash infra/postgres.sh

echo "==> ruff"
.venv/bin/ruff check src tests bench
.venv/bin/ruff format --check src tests bench
echo "==> import contracts (lint-imports)"
.venv/bin/lint-imports
echo "==> mypy --strict"
.venv/bin/mypy src
echo "==> pytest"
# Two workers: the suite is mostly waiting on servers and databases.
.venv/bin/pytest -n "${PATRONAGE_TEST_WORKERS:-2}" "$@"
