#!/usr/bin/env bash
# Set everything up, then run Patronage on the embedded SQLite store with its demo:
# localstripe as the payment provider on loopback, a sample campaign and an article page.
set -euo pipefail
cd "$(dirname "$0")/.."
PATRONAGE_SKIP_BROWSER=1 bash infra/setup.sh
exec .venv/bin/patronage demo "$@"
