"""Served asks per campaign variant: counted in memory, saved to the ledger in batches.

A process that dies loses at most `flush_seconds` of counts: acceptable for a rate, never
used for money.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import partial

from patronage.application.ledger import Ledger, retrying
from patronage.domain.impressions import DailyImpressions, impressions_id_for

MAX_DAYS = 400


def _today() -> date:
    return datetime.now(UTC).date()


class ImpressionCounter:
    def __init__(
        self,
        ledger: Ledger,
        flush_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        today: Callable[[], date] = _today,
    ) -> None:
        self._ledger = ledger
        self._flush_seconds = flush_seconds
        self._clock = clock
        self._today = today
        self._lock = threading.Lock()
        self._pending: Counter[tuple[date, str, str]] = Counter()
        self._flushed_at = clock()

    def record(self, campaign: str, variant: str) -> None:
        with self._lock:
            self._pending[(self._today(), campaign, variant)] += 1
        if self._clock() - self._flushed_at >= self._flush_seconds:
            self.flush()

    def flush(self) -> None:
        """Save the pending counts; on failure they stay pending for the next flush."""
        with self._lock:
            pending, self._pending = self._pending, Counter()
            self._flushed_at = self._clock()
        by_day: dict[tuple[date, str], dict[str, int]] = {}
        for (day, campaign, variant), n in pending.items():
            by_day.setdefault((day, campaign), {})[variant] = n
        for (day, campaign), views in by_day.items():
            try:
                retrying(partial(self._save, day, campaign, views))
            except Exception:
                with self._lock:
                    self._pending.update({(day, campaign, k): n for k, n in views.items()})
                raise

    def _save(self, day: date, campaign: str, views: dict[str, int]) -> None:
        tally = self._ledger.get_or_none(impressions_id_for(campaign, day), DailyImpressions)
        if tally is None:
            tally = DailyImpressions(campaign, day)
        tally.count(views)
        self._ledger.save(tally)

    def views(self, campaign: str, since: date) -> Counter[str]:
        """Views per variant of a campaign from `since` to today, pending counts included."""
        self.flush()
        today = self._today()
        start = max(since, today - timedelta(days=MAX_DAYS))
        total: Counter[str] = Counter()
        for offset in range((today - start).days + 1):
            day = start + timedelta(days=offset)
            tally = self._ledger.get_or_none(impressions_id_for(campaign, day), DailyImpressions)
            if tally is not None:
                total.update(tally.views)
        return total
