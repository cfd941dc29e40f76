"""How many times each variant of a campaign was served on one day (UTC).

Counted in memory by each API process and saved here in batches, so a busy article page
costs no write per view; one aggregate per campaign and day keeps every replay short.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from patronage.domain.identity import natural_id


def impressions_id_for(campaign: str, day: date) -> UUID:
    return natural_id("impressions", f"{campaign}:{day.isoformat()}")


class DailyImpressions(Aggregate):
    @staticmethod
    def create_id(campaign: str, day: date) -> UUID:
        return impressions_id_for(campaign, day)

    @event("Opened")
    def __init__(self, campaign: str, day: date) -> None:
        self.campaign = campaign
        self.day = day
        self.views: dict[str, int] = {}

    def count(self, views: dict[str, int]) -> None:
        batch = {variant: n for variant, n in views.items() if n > 0}
        if batch:
            self._counted(views=batch)

    @event("Counted")
    def _counted(self, views: dict[str, int]) -> None:
        for variant, n in views.items():
            self.views[variant] = self.views.get(variant, 0) + n
