"""When a periodic chore of the ask path's memory is due: a campaign check, a bandit sample,
a view-count flush, a ticker's reload (application/ask_memory.py runs them in the
background; without it, the request that finds one due runs it)."""

from __future__ import annotations

import time
from collections.abc import Callable


class Interval:
    """Due once `seconds` have passed on `clock` since the chore was last done."""

    def __init__(
        self,
        seconds: float,
        clock: Callable[[], float] = time.monotonic,
        last: float = float("-inf"),  # never done: due at once
    ) -> None:
        self.seconds = seconds
        self.clock = clock
        self.last = last

    @classmethod
    def started(cls, seconds: float, clock: Callable[[], float] = time.monotonic) -> Interval:
        """First due a full interval from now, as though the chore were just done."""
        return cls(seconds, clock, last=clock())

    def due(self) -> bool:
        return self.passed(self.last)

    def passed(self, since: float) -> bool:
        """Whether an interval has passed since `since` (a time of this clock)."""
        return self.clock() - since >= self.seconds

    def done(self) -> None:
        self.last = self.clock()
