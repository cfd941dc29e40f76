"""Sliding-window counts and rate limits held in this process's memory.

Enough against card testing from one address or one browser on a single API process; with
several processes each keeps its own window, so the effective limit is limit x processes
(put a shared limiter, e.g. at the proxy, in front of a large deployment).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

_MAX_KEYS = 100_000  # forget the oldest windows rather than grow without bound


class WindowCounter:
    """How many times each key was counted in the last `window_seconds`."""

    def __init__(self, window_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._window = window_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._hits: dict[str, deque[float]] = {}

    def _current(self, key: str, now: float) -> deque[float]:
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self._window:
            hits.popleft()
        return hits

    def _add(self, hits: deque[float], now: float) -> None:
        hits.append(now)
        if len(self._hits) > _MAX_KEYS:
            self._hits.pop(next(iter(self._hits)))

    def add(self, key: str) -> int:
        """Count one more for `key`; returns its count in the window, this one included."""
        now = self._clock()
        with self._lock:
            hits = self._current(key, now)
            self._add(hits, now)
            return len(hits)

    def count(self, key: str) -> int:
        with self._lock:
            return len(self._current(key, self._clock()))

    def add_within(self, key: str, limit: int) -> float | None:
        """Count one more unless `limit` are in the window already: None if counted, else
        the seconds until the oldest leaves the window."""
        now = self._clock()
        with self._lock:
            hits = self._current(key, now)
            if len(hits) >= limit:
                return hits[0] + self._window - now
            self._add(hits, now)
            return None


class RateLimiter:
    def __init__(
        self, limit: int, window_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._limit = limit
        self._counts = WindowCounter(window_seconds, clock)

    def hit(self, key: str) -> float | None:
        """Count one attempt; None if allowed, else the seconds until the next is allowed."""
        return self._counts.add_within(key, self._limit)
