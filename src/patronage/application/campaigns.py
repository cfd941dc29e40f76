"""Campaign commands, their history, and the in-memory catalogue the ask endpoint reads.

The catalogue answers every ask from memory. It is refreshed at once after each command in
this process, and at most once a checking interval it asks the store whether another process
changed a campaign: one cheap `max_notification_id` query, then only the new notifications.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEvent
from eventsourcing.utils import get_topic

from patronage.application.interval import Interval
from patronage.application.ledger import Ledger, UnitOfWork, in_one_transaction
from patronage.asks.selection import Shortlists, in_priority_order
from patronage.domain.campaign import (
    Campaign,
    CampaignRuleError,
    CampaignSpec,
    Targeting,
    Variant,
    campaign_id_for,
)
from patronage.domain.money import Money

CAMPAIGN_TOPICS = tuple(
    get_topic(value)
    for value in vars(Campaign).values()
    if isinstance(value, type) and issubclass(value, Campaign.Event) and value is not Campaign.Event
)
_PAGE = 500


class UnknownCampaignError(LookupError):
    def __init__(self, code: str) -> None:
        super().__init__(f"no campaign {code!r}")
        self.code = code


class CampaignCatalogue:
    """Every campaign's latest spec, in memory, kept fresh from the notification log."""

    def __init__(self, ledger: Ledger, checking: Interval) -> None:
        self._ledger = ledger
        self._checking = checking
        self._lock = threading.Lock()
        self._specs: dict[UUID, CampaignSpec] = {}
        self._shortlists = Shortlists.of(())
        self._position = 0
        # False once a background thread refreshes (application/ask_memory.py): reading
        # the specs then never touches the database.
        self.inline_refresh = True

    def refresh(self) -> None:
        """Load the campaigns changed since the last refresh (by any process)."""
        with self._lock:
            head = self._ledger.head()
            changed: set[UUID] = set()
            while self._position < head:
                page = self._ledger.recorder.select_notifications(
                    start=self._position,
                    limit=_PAGE,
                    stop=head,
                    topics=CAMPAIGN_TOPICS,
                    inclusive_of_start=False,
                )
                changed.update(n.originator_id for n in page)  # type: ignore[misc]
                self._position = page[-1].id if len(page) == _PAGE else head
            for campaign_id in changed:
                self._specs[campaign_id] = self._ledger.get_typed(campaign_id, Campaign).spec()
            if changed:
                self._shortlists = Shortlists.of(in_priority_order(self._specs.values()))
            self._checking.done()

    def refresh_if_due(self) -> None:
        if self._checking.due():
            self.refresh()

    def specs(self) -> tuple[CampaignSpec, ...]:
        """All campaigns, highest priority first (ties: by code, so the order is stable)."""
        return self.shortlists().ordered

    def shortlists(self) -> Shortlists:
        """The campaigns, with each section's shortlist (`Shortlists`)."""
        if self.inline_refresh:
            self.refresh_if_due()
        return self._shortlists

    def get(self, code: str) -> CampaignSpec | None:
        if self.inline_refresh:
            self.refresh_if_due()
        return self._specs.get(campaign_id_for(code))


@dataclass(frozen=True)
class CampaignSettings:
    """What staff set when they create or retarget a campaign; its variants, schedule
    and status change by commands of their own."""

    code: str
    name: str
    priority: int
    targeting: Targeting
    goal: Money | None = None


@dataclass(frozen=True)
class HistoryEntry:
    """One recorded change to a campaign, for staff: the event's name and version, who
    made it, and its attributes (amounts as text)."""

    version: int
    at: datetime
    change: str
    by: str
    details: dict[str, Any]


def _details(event: DomainEvent) -> dict[str, Any]:
    hidden = {"originator_id", "originator_version", "timestamp", "by", "originator_topic"}
    return {
        key: str(value) if isinstance(value, Money) else value
        for key, value in vars(event).items()
        if key not in hidden
    }


class Campaigns:
    """Commands that change campaigns, each through a unit of work (like every other
    service's); each records who made the change."""

    def __init__(self, ledger: Ledger, catalogue: CampaignCatalogue) -> None:
        self.ledger = ledger
        self.catalogue = catalogue

    @staticmethod
    def _load(unit: UnitOfWork | Ledger, code: str) -> Campaign:
        campaign = unit.get_or_none(campaign_id_for(code), Campaign)
        if campaign is None:
            raise UnknownCampaignError(code)
        return campaign

    def _change(self, code: str, change: Callable[[Campaign], None]) -> CampaignSpec:
        def work(unit: UnitOfWork) -> CampaignSpec:
            campaign = self._load(unit, code)
            change(campaign)
            return campaign.spec()

        spec = in_one_transaction(self.ledger, work)
        self.catalogue.refresh()
        return spec

    def create(self, settings: CampaignSettings, variants: Iterable[Variant], by: str) -> UUID:
        variants = tuple(variants)  # read again if a concurrent save makes the unit retry

        def work(unit: UnitOfWork) -> UUID:
            if unit.get_or_none(campaign_id_for(settings.code), Campaign) is not None:
                raise CampaignRuleError(f"campaign {settings.code!r} already exists")
            campaign = Campaign.create(
                settings.code,
                settings.name,
                settings.priority,
                settings.targeting,
                settings.goal,
                by,
            )
            for variant in variants:
                campaign.add_variant(variant, by)
            unit.add(campaign)
            return campaign.id

        campaign_id = in_one_transaction(self.ledger, work)
        self.catalogue.refresh()
        return campaign_id

    def retarget(self, settings: CampaignSettings, by: str) -> CampaignSpec:
        return self._change(
            settings.code,
            lambda c: c.retarget(
                settings.name, settings.priority, settings.targeting, settings.goal, by
            ),
        )

    def add_variant(self, code: str, variant: Variant, by: str) -> CampaignSpec:
        return self._change(code, lambda c: c.add_variant(variant, by))

    def edit_copy(self, code: str, variant: Variant, by: str) -> CampaignSpec:
        return self._change(code, lambda c: c.edit_copy(variant, by))

    def retire_variant(self, code: str, name: str, by: str) -> CampaignSpec:
        return self._change(code, lambda c: c.retire_variant(name, by))

    def schedule(
        self, code: str, starts_at: datetime | None, ends_at: datetime | None, by: str
    ) -> CampaignSpec:
        return self._change(code, lambda c: c.schedule(starts_at, ends_at, by))

    def start(self, code: str, by: str) -> CampaignSpec:
        return self._change(code, lambda c: c.start(by))

    def pause(self, code: str, by: str) -> CampaignSpec:
        return self._change(code, lambda c: c.pause(by))

    def end(self, code: str, by: str) -> CampaignSpec:
        return self._change(code, lambda c: c.end(by))

    def history(self, code: str) -> list[HistoryEntry]:
        """Every change to a campaign, oldest first, with who made it."""
        self._load(self.ledger, code)
        events = [
            e
            for e in self.ledger.repository.event_store.get(campaign_id_for(code))
            if isinstance(e, DomainEvent)
        ]
        return [
            HistoryEntry(
                version=e.originator_version,
                at=e.timestamp,
                change=type(e).__name__,
                by=str(getattr(e, "by", "")),
                details=_details(e),
            )
            for e in events
        ]
