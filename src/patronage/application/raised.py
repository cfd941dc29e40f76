"""Money raised per campaign for the ask's ticker, held in memory.

Reloaded from the views at most once a refresh interval per campaign and currency, so an
ask reads no database; a ticker moves within that time of a gift (the public ticker
endpoint is cached for about as long). Once a background thread refreshes it
(application/ask_memory.py), an ask reads the database only for a campaign and currency
never loaded before.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from patronage.application.interval import Interval
from patronage.application.performance import RaisedForCampaign
from patronage.domain.money import Money


class RaisedCache:
    def __init__(self, source: RaisedForCampaign, refreshing: Interval) -> None:
        self._source = source
        self._refreshing = refreshing  # per key: when it was loaded
        self._lock = threading.Lock()
        self._cached: dict[tuple[str, str], tuple[float, Money]] = {}
        self.inline_refresh = True

    def raised(self, campaign: str, currency: str) -> Money:
        key = (campaign, currency)
        with self._lock:
            loaded = self._cached.get(key)
        if loaded is None or (self.inline_refresh and self._stale(loaded)):
            return self._load(key)
        return loaded[1]

    def refresh_due(self, keys: Iterable[tuple[str, str]]) -> None:
        """Reload each (campaign, currency) loaded longest ago or never (the background's)."""
        for key in keys:
            with self._lock:
                loaded = self._cached.get(key)
            if loaded is None or self._stale(loaded):
                self._load(key)

    def _stale(self, loaded: tuple[float, Money]) -> bool:
        return self._refreshing.passed(loaded[0])

    def _load(self, key: tuple[str, str]) -> Money:
        amount = self._source.raised(*key)
        with self._lock:
            self._cached[key] = (self._refreshing.clock(), amount)
        return amount
