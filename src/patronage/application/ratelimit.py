"""Sliding-window rate limits held in this process's memory.

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


class RateLimiter:
    def __init__(
        self, limit: int, window_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._limit = limit
        self._window = window_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._hits: dict[str, deque[float]] = {}

    def wait(self, key: str) -> float | None:
        """None if an attempt would be allowed now, else the seconds until one is."""
        now = self._clock()
        with self._lock:
            hits = self._recent(key, now)
            return hits[0] + self._window - now if len(hits) >= self._limit else None

    def hit(self, key: str) -> float | None:
        """Count one attempt; None if allowed, else the seconds until the next is allowed."""
        now = self._clock()
        with self._lock:
            hits = self._recent(key, now)
            if len(hits) >= self._limit:
                return hits[0] + self._window - now
            hits.append(now)
            if len(self._hits) > _MAX_KEYS:
                self._hits.pop(next(iter(self._hits)))
            return None

    def _recent(self, key: str, now: float) -> deque[float]:
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self._window:
            hits.popleft()
        return hits
