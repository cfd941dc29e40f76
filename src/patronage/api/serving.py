"""How the service runs uvicorn: `patronage serve`, the demo, the tests' servers and the
benchmark's reference endpoint all pass these options."""

from __future__ import annotations

from typing import Any

UVICORN_OPTIONS: dict[str, Any] = {
    # Logging is the service's own (logs.py): uvicorn's records go through its processors.
    "log_config": None,
    # One line per request is the request log's `request_handled`, with its request id.
    # uvicorn's access line repeated it without the id, with the client's address and port
    # and the raw query (both kept out of the logs), and cost every request the formatting
    # of both even when its level was off.
    "access_log": False,
}
