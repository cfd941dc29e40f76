"""How the service runs uvicorn: `patronage serve`, the demo and the benchmark's reference
endpoint through `serve`, the tests' servers (threads of the test process) with its options."""

from __future__ import annotations

from typing import Any

import uvicorn
from fastapi import FastAPI

from patronage.collector import collect_less_often

UVICORN_OPTIONS: dict[str, Any] = {
    # Logging is the service's own (logs.py): uvicorn's records go through its processors.
    "log_config": None,
    # One line per request is the request log's `request_handled`, with its request id.
    # uvicorn's access line repeated it without the id, with the client's address and port
    # and the raw query (both kept out of the logs), and cost every request the formatting
    # of both even when its level was off.
    "access_log": False,
}


def serve(app: FastAPI, host: str, port: int) -> None:
    """Run `app` in this process until it is stopped. The process collects cyclic garbage
    less often: under a burst of webhooks the requests in flight hold their events and
    aggregates past the collector's youngest generation, and at Python's default it walked
    them again and again (a fifth of the API's CPU a webhook, docs/performance.md)."""
    collect_less_often()
    uvicorn.run(app, host=host, port=port, **UVICORN_OPTIONS)
