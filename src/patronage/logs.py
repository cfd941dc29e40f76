"""structlog set-up: JSON lines whenever the output is not a terminal (a file, a pipe, a
container's log), readable console output in a terminal; never colour codes in a file.

A processor bounds and scrubs every value: each text is cut to a fixed length first, then
emails are masked and anything that looks like a secret or card data is dropped, so that no
call site can leak them by accident and no input can make logging slow. The standard
library's loggers (uvicorn's tracebacks among them) go through the same processors, so
every line is scrubbed and, in JSON, one object.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

# The longest text logged of one value, and of a traceback. Everything is cut to these
# BEFORE any pattern runs, so the work per log line is bounded whatever a caller sends.
MAX_TEXT_CHARS = 500
MAX_TRACEBACK_CHARS = 8000
MAX_ITEMS = 50  # of a list or dict value
MAX_DEPTH = 4  # of nested values

# An email's local part may only START where no local-part character precedes it: without
# the look-behind a long run of such characters with no "@" is rescanned from each of its
# positions (quadratic). With it, each run is scanned once.
_LOCAL = "A-Za-z0-9._%+-"
_EMAIL = re.compile(rf"(?<![{_LOCAL}])([{_LOCAL}])[{_LOCAL}]*@([A-Za-z0-9.-]+\.[A-Za-z]{{2,}})")
_SECRET_VALUE = re.compile(r"\b(sk|rk|whsec|pk)_(live|test)?_?[A-Za-z0-9]{6,}")
_CARD_NUMBER = re.compile(r"\b(?:\d[ -]?){13,19}\b")
# A link's secret in a query (`?token=...`: sign-in and cancellation links), as the server's
# access log line shows the path with its query.
_QUERY_TOKEN = re.compile(r"([?&]token=)[^&\s\"']+")
_SENSITIVE_KEYS = {"password", "secret", "api_key", "card", "card_number", "cvc", "token",
                   "authorization", "stripe_signature", "client_secret"}  # fmt: skip
_LONG_KEYS = {"exception", "stack"}
_HANDLER_MARK = "_patronage_handler"


def mask_email(email: str) -> str:
    """j***@example.org: enough for staff to recognise, not enough to harvest."""
    return _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", email)


def truncate(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}...[{len(text) - limit} more chars]"


def scrub_text(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """`text` cut to `limit` characters, then with emails masked and secrets and card numbers
    removed. Each pattern is linear in the (bounded) text."""
    text = truncate(text, limit)
    # Each pattern only where the text has the character it needs: most values of a log
    # line (paths, ids, statuses) have none, and every request writes one.
    if "@" in text:
        text = mask_email(text)
    if "_" in text:
        text = _SECRET_VALUE.sub("[secret]", text)
    if "token=" in text:
        text = _QUERY_TOKEN.sub(r"\1[secret]", text)
    return _CARD_NUMBER.sub("[card]", text)


def _scrub(value: Any, limit: int = MAX_TEXT_CHARS, depth: int = 0) -> Any:
    if isinstance(value, str):
        return scrub_text(value, limit)
    if isinstance(value, bytes | bytearray):
        return scrub_text(bytes(value[: limit + 1]).decode("utf-8", "replace"), limit)
    if depth >= MAX_DEPTH and isinstance(value, dict | list | tuple | set):
        return "[nested too deep]"
    if isinstance(value, dict):
        return {
            scrub_text(str(k), 100): "[redacted]"
            if str(k).lower() in _SENSITIVE_KEYS
            else _scrub(v, limit, depth + 1)
            for k, v in list(value.items())[:MAX_ITEMS]
        }
    if isinstance(value, list | tuple | set):
        return [_scrub(v, limit, depth + 1) for v in list(value)[:MAX_ITEMS]]
    if value is None or isinstance(value, bool | int | float):
        return value
    return scrub_text(repr(value), limit)  # anything else as its (bounded) text


def scrub_sensitive(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if key.lower() in _SENSITIVE_KEYS:
            event_dict[key] = "[redacted]"
        else:
            limit = MAX_TRACEBACK_CHARS if key in _LONG_KEYS else MAX_TEXT_CHARS
            event_dict[key] = _scrub(event_dict[key], limit)
    return event_dict


def output_is_terminal() -> bool:
    return sys.stdout.isatty()


def configure_logging(json_lines: bool | None = None, level: str = "INFO") -> None:
    """`json_lines` None: JSON unless standard output is a terminal."""
    terminal = output_is_terminal()
    if json_lines is None:
        json_lines = not terminal
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json_lines
        else structlog.dev.ConsoleRenderer(colors=terminal)
    )
    shared: list[Any] = [
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            *shared,
            structlog.processors.format_exc_info,
            scrub_sensitive,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        cache_logger_on_first_use=False,
    )
    _route_standard_logging(level, shared, renderer)


class _StandardOutput(logging.StreamHandler[TextIO]):
    """Writes to standard output as it is when a record comes, as structlog's own lines do:
    whoever replaced it since (a test's capture) gets the line, and a record from a thread
    that outlives a replaced stream (a mail server's) never meets a closed file."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stdout  # under the handler's lock: `handle` holds it
        super().emit(record)


def _route_standard_logging(level: str, shared: list[Any], renderer: Any) -> None:
    """Libraries log through the standard library (uvicorn's errors and tracebacks): format
    their records with the same processors, one line each in JSON."""
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            scrub_sensitive,
            renderer,
        ],
    )
    handler = _StandardOutput()
    handler.setFormatter(formatter)
    setattr(handler, _HANDLER_MARK, True)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.getLevelName(level))
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        # uvicorn's own handlers (with log_config=None there are none) never write raw text.
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    # httpx notes every request at INFO with its whole URL, query included (a search, a
    # token): only its warnings are kept.
    logging.getLogger("httpx").setLevel(logging.WARNING)
