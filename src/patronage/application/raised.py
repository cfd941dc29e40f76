"""Money raised per campaign for the ask's ticker, held in memory.

Reloaded from the views at most every `refresh_seconds` per campaign and currency, so an
ask reads no database; a ticker moves within that time of a gift (the public ticker
endpoint is cached for about as long).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from patronage.application.performance import RaisedForCampaign
from patronage.domain.money import Money


class RaisedCache:
    def __init__(
        self,
        source: RaisedForCampaign,
        refresh_seconds: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._refresh_seconds = refresh_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: dict[tuple[str, str], tuple[float, Money]] = {}

    def raised(self, campaign: str, currency: str) -> Money:
        key = (campaign, currency)
        with self._lock:
            loaded = self._cached.get(key)
            if loaded is None or self._clock() - loaded[0] >= self._refresh_seconds:
                loaded = (self._clock(), self._source.raised(campaign, currency))
                self._cached[key] = loaded
            return loaded[1]
