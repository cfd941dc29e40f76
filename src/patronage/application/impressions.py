"""Served asks per campaign variant: counted in memory, added to a counter table in batches.

View counts are not money facts, so they stay out of the Ledger: the table beside the views
(projections/impressions.py) takes one small transaction per flush. A process that dies
loses at most a flush interval of counts: acceptable for a rate, never used for money. And
counting never fails an ask: a failed write is logged and its counts wait for the next flush.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Protocol

import structlog

from patronage.application.interval import Interval

log = structlog.get_logger(__name__)

Key = tuple[date, str, str]  # (UTC day, campaign, variant)


class ViewCounts(Protocol):
    def add(self, counts: Mapping[Key, int]) -> None:
        """Add these views to the stored counts, all or none."""
        ...

    def views(self, campaign: str, since: date) -> Mapping[str, int]:
        """Stored views per variant of `campaign` from `since` on."""
        ...


def _today() -> date:
    return datetime.now(UTC).date()


class ImpressionCounter:
    def __init__(
        self,
        counts: ViewCounts,
        flushing: Interval,  # first due a full interval after the start (Interval.started)
        today: Callable[[], date] = _today,
    ) -> None:
        self._counts = counts
        self._flushing = flushing
        self._today = today
        self._lock = threading.Lock()
        self._pending: Counter[Key] = Counter()
        # False once a background thread flushes (application/ask_memory.py): counting a
        # view then never touches a database.
        self.inline_refresh = True

    def record(self, campaign: str, variant: str) -> None:
        """Count one served ask, flushing when due (unless flushed in the background);
        never raises."""
        with self._lock:
            self._pending[(self._today(), campaign, variant)] += 1
        if self.inline_refresh:
            self.flush_if_due()

    def flush_if_due(self) -> None:
        """Flush when the interval has passed; a failure is logged, never raised."""
        with self._lock:
            due = self._flushing.due()
        if due:
            try:
                self.flush()
            except Exception:
                log.warning("impressions_flush_failed", exc_info=True)

    def flush(self) -> None:
        """Save the pending counts; on failure they stay pending for the next flush."""
        with self._lock:
            pending, self._pending = self._pending, Counter()
            self._flushing.done()  # a failing store is tried once per interval
        if not pending:
            return
        try:
            self._counts.add(pending)
        except Exception:
            with self._lock:
                self._pending.update(pending)
            raise

    def views(self, campaign: str, since: date) -> Counter[str]:
        """Views per variant of a campaign from `since` to today, pending counts included."""
        total = Counter(self._counts.views(campaign, since))
        with self._lock:
            for (day, code, variant), n in self._pending.items():
                if code == campaign and day >= since:
                    total[variant] += n
        return total
