"""The webhook inbox: every Stripe event we accepted, kept in the event store, and what
became of it.

An inbox event's id comes from Stripe's event id, so a repeated delivery collides on
creation and records nothing. A waitlist, one per missing counterpart ("payment:pi_123"),
holds the ids of the inbox events parked until that counterpart is in the ledger.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from patronage.domain.errors import DomainError
from patronage.domain.identity import natural_id


def inbox_event_id_for(event_id: str) -> UUID:
    return natural_id("stripe-event", event_id)


def waitlist_id_for(key: str) -> UUID:
    return natural_id("inbox-waitlist", key)


class InboxStatus(StrEnum):
    RECEIVED = "received"  # recorded, not applied yet
    APPLIED = "applied"  # its commands are in the ledger
    PARKED = "parked"  # waiting for a counterpart (a refund before its payment)
    IGNORED = "ignored"  # nothing to book, and why
    FAILED = "failed"  # a rule or the payload refused it; staff can replay after a fix
    SKIPPED = "skipped"  # an admin decided it is never applied (who and why in the history)


SKIPPABLE = (InboxStatus.PARKED, InboxStatus.FAILED)


class InboxEvent(Aggregate):
    @staticmethod
    def create_id(event_id: str) -> UUID:
        return inbox_event_id_for(event_id)

    @event("Received")
    def __init__(
        self,
        event_id: str,
        event_type: str,
        api_version: str,
        livemode: bool,
        created: datetime,
        payload_json: str,
        source: str = "webhook",
    ) -> None:
        self.event_id = event_id
        self.event_type = event_type
        self.api_version = api_version
        self.livemode = livemode
        self.created = created
        self.payload_json = payload_json
        self.source = source
        self.status = InboxStatus.RECEIVED
        self.detail = ""  # what was applied, what it waits for, why ignored or failed
        self.payload_reduced = False

    @property
    def payload(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.payload_json)
        return parsed

    def reduce_payload(self, reduced_json: str) -> None:
        """Keep only `reduced_json` (the payload without the person) from now on."""
        if not self.payload_reduced:
            self._payload_reduced(payload_json=reduced_json)

    @event("PayloadReduced")
    def _payload_reduced(self, payload_json: str) -> None:
        self.payload_json = payload_json
        self.payload_reduced = True

    @property
    def waiting_for(self) -> str:
        return self.detail if self.status == InboxStatus.PARKED else ""

    def _is(self, status: InboxStatus, detail: str) -> bool:
        return self.status == status and self.detail == detail

    def mark_applied(self, outcome: str) -> None:
        """Applied, with what it did; applying it again (a replay) keeps the first outcome."""
        if self.status != InboxStatus.APPLIED:
            self._applied(outcome=outcome)

    @event("Applied")
    def _applied(self, outcome: str) -> None:
        self.status = InboxStatus.APPLIED
        self.detail = outcome

    def park(self, waiting_for: str) -> None:
        if not self._is(InboxStatus.PARKED, waiting_for):
            self._parked(waiting_for=waiting_for)

    @event("Parked")
    def _parked(self, waiting_for: str) -> None:
        self.status = InboxStatus.PARKED
        self.detail = waiting_for

    def ignore(self, reason: str) -> None:
        if not self._is(InboxStatus.IGNORED, reason):
            self._ignored(reason=reason)

    @event("Ignored")
    def _ignored(self, reason: str) -> None:
        self.status = InboxStatus.IGNORED
        self.detail = reason

    def fail(self, error: str) -> None:
        if not self._is(InboxStatus.FAILED, error):
            self._failed(error=error)

    @event("Failed")
    def _failed(self, error: str) -> None:
        self.status = InboxStatus.FAILED
        self.detail = error

    def skip(self, actor: str, reason: str) -> None:
        """Never apply this event: it waits for something that will not come, or fails for
        good. Only a parked or failed event may be skipped."""
        if self.status not in SKIPPABLE:
            raise InboxEventNotSkippableError(
                f"{self.event_id} is {self.status.value}; only a parked or failed event "
                "can be skipped"
            )
        self._skipped(actor=actor, reason=reason)

    @event("Skipped")
    def _skipped(self, actor: str, reason: str) -> None:
        self.status = InboxStatus.SKIPPED
        self.detail = f"skipped by {actor}: {reason}"


class InboxEventNotSkippableError(DomainError):
    """Skipping is for parked or failed events; the others are settled or about to be."""


class Waitlist(Aggregate):
    """The inbox events waiting for one counterpart, e.g. "payment:pi_123"."""

    @staticmethod
    def create_id(key: str) -> UUID:
        return waitlist_id_for(key)

    @event("Opened")
    def __init__(self, key: str) -> None:
        self.key = key
        self.event_ids: list[str] = []

    def add(self, event_id: str) -> None:
        if event_id not in self.event_ids:
            self._event_parked(event_id=event_id)

    @event("EventParked")
    def _event_parked(self, event_id: str) -> None:
        self.event_ids.append(event_id)

    def remove(self, event_id: str) -> None:
        if event_id in self.event_ids:
            self._event_released(event_id=event_id)

    @event("EventReleased")
    def _event_released(self, event_id: str) -> None:
        self.event_ids.remove(event_id)
