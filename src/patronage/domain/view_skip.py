"""The trail of an operator skipping an event a view cannot apply.

A view never skips an event by itself: the people who decide it are named, with their
reason and the error the view gave, in the ledger that every audit reads.
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from patronage.domain.identity import natural_id


def skip_id_for(view: str, notification_id: int) -> UUID:
    return natural_id("view-skip", f"{view}:{notification_id}")


class SkippedViewEvent(Aggregate):
    @staticmethod
    def create_id(view: str, notification_id: int, **_: object) -> UUID:
        return skip_id_for(view, notification_id)

    @event("Recorded")
    def __init__(
        self, view: str, notification_id: int, topic: str, error: str, by: str, reason: str
    ) -> None:
        self.view = view
        self.notification_id = notification_id
        self.topic = topic
        self.error = error
        self.by = by
        self.reason = reason
