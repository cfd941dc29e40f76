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
# Python may keep compiled modules during the run, whatever the environment says (this project's
# machines set PYTHONDONTWRITEBYTECODE=1): else each worker compiles again, and rewrites the
# asserts of, every test module and every pytest plugin (schemathesis, hypothesis, anyio), and
# every process a test starts compiles the sources. One collection first writes them all once,
# so that the four workers load them (about 40 s less on a fresh clone).
unset PYTHONDONTWRITEBYTECODE
.venv/bin/pytest --collect-only -q "$@" > /dev/null
# Four workers on two cores: much of the suite waits on servers, browsers and databases
# (an outage test waits out two outages); worksteal keeps the long tests from ending last.
.venv/bin/pytest -n "${PATRONAGE_TEST_WORKERS:-4}" --dist worksteal "$@"
