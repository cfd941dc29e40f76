"""The audit trail: one aggregate per staff action, saved with the action's own changes."""

from __future__ import annotations

from eventsourcing.domain import Aggregate, event


class StaffAction(Aggregate):
    """Who did what to which subject; the time is the event's timestamp."""

    @event("Recorded")
    def __init__(self, actor: str, action: str, subject: str, details: dict[str, str]) -> None:
        self.actor = actor
        self.action = action
        self.subject = subject
        self.details = dict(details)
