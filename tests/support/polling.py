"""The one way tests wait: poll a check until it holds, with a deadline.

Tests never sleep to let something happen; they ask, again and again, whether it has
happened, and fail with what they waited for when the deadline passes or when waiting is
pointless (the process that was to do it has exited).
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import httpx

from tests.support import http

T = TypeVar("T")

DEADLINE_SECONDS = 60.0  # generous: it bounds only a failing wait, and the machine may be busy
INTERVAL_SECONDS = 0.05  # between tries: often enough to be prompt, rarely enough to be cheap

Abort = Callable[[], str | None]  # why waiting is pointless now, or None to keep waiting


def eventually(
    check: Callable[[], T],
    what: str,
    *,
    timeout: float = DEADLINE_SECONDS,
    abort: Abort | None = None,
) -> T:
    """Call `check` until it returns something truthy, and return that.

    AssertionError naming `what` at the deadline, or as soon as `abort` gives a reason."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        reason = abort() if abort is not None else None
        if reason is not None:
            raise AssertionError(f"{reason} before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(INTERVAL_SECONDS)  # the polling interval, not a synchronisation


def exited(process: subprocess.Popen[bytes]) -> Abort:
    """Give up waiting once `process` has exited."""
    return lambda: None if process.poll() is None else f"process exited ({process.returncode})"


def stopped(thread: threading.Thread) -> Abort:
    """Give up waiting once `thread` has ended."""
    return lambda: None if thread.is_alive() else f"thread {thread.name} ended"


def answers(url: str) -> bool:
    """Whether a server answers at `url` (with any HTTP status)."""
    try:
        http.get(url, timeout=1.0)
    except httpx.TransportError:
        return False
    return True


def refuses(url: str) -> bool:
    """Whether nothing listens at `url` any more."""
    return not answers(url)
