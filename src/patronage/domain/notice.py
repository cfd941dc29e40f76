"""Emails to supporters that are not receipts (a thank-you, a failed renewal's notice), and
how far the sender has read the event log.

A notice is claimed by creating it (its id comes from what it is about, so two senders
collide and one wins), then marked sent or failed: it is sent at most once, and a crash
between claiming and sending leaves it claimed and unsent, which the log shows.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from patronage.domain.identity import natural_id

NOTICE_CURSOR_ID = natural_id("notice-cursor", "supporter-notices")


def notice_id_for(kind: str, about: str) -> UUID:
    return natural_id("supporter-notice", f"{kind}:{about}")


class SupporterNotice(Aggregate):
    @staticmethod
    def create_id(kind: str, about: str) -> UUID:
        return notice_id_for(kind, about)

    @event("Claimed")
    def __init__(self, kind: str, about: str, supporter_id: UUID, at: datetime) -> None:
        self.kind = kind
        self.about = about
        self.supporter_id = supporter_id
        self.sent_at: datetime | None = None
        self.error = ""

    @event("Sent")
    def sent(self, to: str, at: datetime) -> None:
        """`to` is the masked address, never the full one."""
        self.sent_at = at

    @event("Failed")
    def failed(self, error: str, at: datetime) -> None:
        self.error = error


class NoticeCursor(Aggregate):
    """The last event-log position the notice sender has dealt with."""

    @staticmethod
    def create_id() -> UUID:
        return NOTICE_CURSOR_ID

    @event("Started")
    def __init__(self, position: int) -> None:
        self.position = position

    @event("Advanced")
    def advance(self, position: int) -> None:
        self.position = position
