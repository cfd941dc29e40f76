"""Every request's id on its log lines and in its answer, its duration in the metrics, and
one `request_handled` line at its end.

A plain ASGI middleware: Starlette's `BaseHTTPMiddleware` (`@app.middleware("http")`) passes
every body through a task and a memory stream, which cost most of a small request's time
(docs/performance.md).
"""

from __future__ import annotations

import itertools
import logging
import os
import time
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from patronage.api.metrics import Metrics

log = structlog.get_logger(__name__)


class RequestIds:
    """Request ids unique across processes: a random prefix per process and a counter (a
    random id per request cost a system call each)."""

    def __init__(self) -> None:
        self.reset()
        os.register_at_fork(after_in_child=self.reset)

    def reset(self) -> None:
        self._prefix = os.urandom(8).hex()
        self._counter = itertools.count()

    def next(self) -> str:
        return f"{self._prefix}{next(self._counter):016x}"


request_ids = RequestIds()


ID_HEADER = b"x-request-id"


def _given_id(scope: Scope) -> str:
    """The caller's request id, if it sent one (ASGI header names are lower case)."""
    headers: list[tuple[bytes, bytes]] = scope["headers"]
    for name, value in headers:
        if name == ID_HEADER:
            return value.decode("latin-1")[:64]
    return ""


def route_of(scope: Scope) -> str:
    """The matched route's template (never the raw path: ids would explode the labels)."""
    return str(getattr(scope.get("route"), "path", "unmatched"))


class RequestLog:
    def __init__(self, app: ASGIApp, metrics: Metrics, log_level: str = "INFO") -> None:
        self.app = app
        self.metrics = metrics
        # Above INFO (the service's PATRONAGE_LOG_LEVEL, as configure_logging filters) no
        # `request_handled` line is written, so none is made: structlog binds a logger for
        # every line it is asked for, dropped or not, a few microseconds a request.
        self.logs_each = logging.getLevelName(log_level) <= logging.INFO

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _given_id(scope) or request_ids.next()
        structlog.contextvars.bind_contextvars(request_id=rid)
        started = time.perf_counter()
        status = 500
        rid_header = (ID_HEADER, rid.encode("latin-1"))

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [h for h in message.get("headers", ()) if h[0].lower() != ID_HEADER]
                headers.append(rid_header)
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
            self._handled(scope, status, time.perf_counter() - started)
        finally:
            structlog.contextvars.unbind_contextvars("request_id")

    def _handled(self, scope: Scope, status: int, elapsed: float) -> None:
        method, route = str(scope["method"]), route_of(scope)
        self.metrics.request_timed(method, route, status, elapsed)
        if not self.logs_each:
            return
        state: dict[str, Any] = scope.get("state") or {}
        log.info(
            "request_handled",
            method=method[:16],
            path=scope["path"],
            status=status,
            duration_ms=round(elapsed * 1000, 1),
            # Set by the webhook endpoint on request.state, for one event to be followed.
            **state.get("log_context", {}),
        )
