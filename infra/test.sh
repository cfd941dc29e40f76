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
# Compiled once here: where the environment forbids writing bytecode (PYTHONDONTWRITEBYTECODE=1,
# as on this project's machines), every process a test starts would compile the sources again.
.venv/bin/python -m compileall -q src tests > /dev/null
# Four workers on two cores: much of the suite waits on servers, browsers and databases
# (an outage test waits out two outages); worksteal keeps the long tests from ending last.
.venv/bin/pytest -n "${PATRONAGE_TEST_WORKERS:-4}" --dist worksteal "$@"
