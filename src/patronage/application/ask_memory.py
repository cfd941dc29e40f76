"""What an ask reads, kept in memory and refreshed by a background thread.

While it runs, answering an ask reads no database and counting its view writes none: the
campaigns, the tickers' money raised, the bandit's scores and the pending view counts are
in memory, and this thread refreshes each on its own interval (campaign checks, ticker
refresh, hourly bandit sample, view-count flush). Without it (a script, a test without the
app's lifespan) each refreshes itself on the request that finds it due.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import structlog

from patronage.application.allocation import BanditScores
from patronage.application.campaigns import CampaignCatalogue
from patronage.application.impressions import ImpressionCounter
from patronage.application.performance import GiftsPerVariant
from patronage.application.raised import RaisedCache
from patronage.application.sweeper import Sweeper

log = structlog.get_logger(__name__)

# How often the thread looks whether something is due; each part keeps its own interval.
TICK_SECONDS = 0.25


@dataclass(eq=False)
class AskMemory:
    catalogue: CampaignCatalogue
    raised: RaisedCache
    bandit: BanditScores
    gifts: GiftsPerVariant
    impressions: ImpressionCounter

    def take_over(self) -> None:
        """From now on only `refresh` reads and writes the stores; asks read memory."""
        for part in (self.catalogue, self.raised, self.bandit, self.impressions):
            part.inline_refresh = False

    def refresh(self) -> None:
        """Refresh whatever is due: campaigns, then the goals' tickers, the bandit's sample
        and the view counts' flush."""
        self.catalogue.refresh_if_due()
        specs = self.catalogue.specs()
        goals = [(s.code, s.goal.currency) for s in specs if s.goal is not None]
        self.raised.refresh_due(goals)
        self.bandit.sample_if_due(specs, self.gifts)
        self.impressions.flush_if_due()

    @contextmanager
    def running(self) -> Iterator[None]:
        """Refresh in a background thread while the block runs; flush the counts after."""
        self.take_over()
        try:
            self.refresh()  # warm: the first asks find everything loaded
        except Exception as error:  # a store down at start: the thread tries again
            log.warning("ask_memory_refresh_failed", error=repr(error))
        refresher = Sweeper(self.refresh, TICK_SECONDS, name="ask-memory")
        refresher.start()
        try:
            yield
        finally:
            refresher.stop()
