"""structlog set-up: JSON lines whenever the output is not a terminal (a file, a pipe, a
container's log), readable console output in a terminal; never colour codes in a file.

A processor masks emails and drops anything that looks like a secret or card data, so that
no call site can leak them by accident.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
_SECRET_VALUE = re.compile(r"\b(sk|rk|whsec|pk)_(live|test)?_?[A-Za-z0-9]{6,}")
_CARD_NUMBER = re.compile(r"\b(?:\d[ -]?){13,19}\b")
_SENSITIVE_KEYS = {"password", "secret", "api_key", "card", "card_number", "cvc", "token",
                   "authorization", "stripe_signature", "client_secret"}  # fmt: skip


def mask_email(email: str) -> str:
    """j***@example.org: enough for staff to recognise, not enough to harvest."""
    return _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", email)


def _scrub_text(text: str) -> str:
    text = mask_email(text)
    text = _SECRET_VALUE.sub("[secret]", text)
    return _CARD_NUMBER.sub("[card]", text)


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return _scrub_text(value)
    if isinstance(value, dict):
        return {
            k: "[redacted]" if k.lower() in _SENSITIVE_KEYS else _scrub(v) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


def scrub_sensitive(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if key.lower() in _SENSITIVE_KEYS:
            event_dict[key] = "[redacted]"
        else:
            event_dict[key] = _scrub(event_dict[key])
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
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            scrub_sensitive,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        cache_logger_on_first_use=False,
    )
