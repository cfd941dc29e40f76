"""Scores for epsilon-greedy campaigns: views and revenue per variant, sampled hourly.

Sampling keeps the ask path free of database reads between samples, and keeps a variant's
share steady for an hour instead of swinging with every gift.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from patronage.application.impressions import ImpressionCounter
from patronage.application.interval import Interval
from patronage.application.performance import GiftsPerVariant
from patronage.asks.selection import Scores, VariantScore
from patronage.domain.campaign import Allocation, CampaignSpec

SAMPLE_SECONDS = 3600.0  # hourly


class BanditScores:
    def __init__(self, impressions: ImpressionCounter, currency: str, sampling: Interval) -> None:
        self._impressions = impressions
        self._currency = currency
        self._sampling = sampling
        self._lock = threading.Lock()
        self._scores: Scores = {}
        self.inline_refresh = True  # False: a background thread samples (ask_memory.py)

    def scores(self, specs: Iterable[CampaignSpec], gifts: GiftsPerVariant) -> Scores:
        """The latest sample, taken again once it is older than the sampling interval."""
        if self.inline_refresh:
            self.sample_if_due(specs, gifts)
        return self._scores

    def sample_if_due(self, specs: Iterable[CampaignSpec], gifts: GiftsPerVariant) -> None:
        with self._lock:
            if self._sampling.due():
                self._scores = self._sample(specs, gifts)
                self._sampling.done()

    def _sample(self, specs: Iterable[CampaignSpec], gifts: GiftsPerVariant) -> Scores:
        sampled: dict[str, dict[str, VariantScore]] = {}
        for spec in specs:
            if spec.targeting.allocation != Allocation.EPSILON_GREEDY or spec.created_on is None:
                continue
            views = self._impressions.views(spec.code, spec.created_on.date())
            given = gifts.gifts_per_variant(spec.code)
            sampled[spec.code] = {
                variant.name: VariantScore(
                    views=views.get(variant.name, 0),
                    revenue_minor=sum(
                        m.minor
                        for m in (given[variant.name].amounts if variant.name in given else ())
                        if m.currency == self._currency
                    ),
                )
                for variant in spec.variants
            }
        return sampled
