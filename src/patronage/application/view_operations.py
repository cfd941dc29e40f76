"""What operators see of the views and may do to them: each view's position, lag and the
event it is stuck on, and skipping that event with a trail (projections/faults.py)."""

from __future__ import annotations

from dataclasses import dataclass

from patronage.application.ledger import Ledger, retrying
from patronage.domain.text import refuse_control_characters
from patronage.domain.view_skip import SkippedViewEvent, skip_id_for
from patronage.projections.catalog import Views, projection_class
from patronage.projections.faults import Fault, check_waiting_for
from patronage.projections.polling import PENDING_CAP


@dataclass(frozen=True)
class ViewState:
    name: str
    position: int
    head: int
    pending: int  # counted up to PENDING_CAP
    fault: Fault | None

    @property
    def pending_capped(self) -> bool:
        return self.pending >= PENDING_CAP


class ViewOperations:
    def __init__(self, ledger: Ledger, views: Views) -> None:
        self.ledger = ledger
        self.views = views

    def states(self) -> list[ViewState]:
        head = self.ledger.head()
        faults = self.views.faults.all()
        return [
            ViewState(
                name=name,
                position=store.position(self.ledger.name),
                head=head,
                pending=self.views.lag(name),
                fault=faults.get(name),
            )
            for name, store in self.views.stores.items()
        ]

    def skip(self, view: str, notification_id: int, by: str, reason: str) -> SkippedViewEvent:
        """Skip the event view `view` waits for: the trail first (who, why, the view's error),
        then the view moves past it. UnknownViewError, NotStuckError (it waits for another
        event, or none), or ValueError for an empty reason."""
        topics = projection_class(view).topics
        if not reason.strip():
            raise ValueError("say why the event is skipped")
        refuse_control_characters(reason)
        check_waiting_for(self.ledger, self.views.stores[view], topics, notification_id)
        fault = self.views.faults.get(view)
        stuck_here = fault is not None and fault.notification_id == notification_id

        def record() -> SkippedViewEvent:
            trail = self.ledger.get_or_none(skip_id_for(view, notification_id), SkippedViewEvent)
            if trail is None:  # a repeated skip (after a failure to move the view) reuses it
                trail = SkippedViewEvent(
                    view=view,
                    notification_id=notification_id,
                    topic=fault.topic if fault and stuck_here else "",
                    error=fault.error if fault and stuck_here else "",
                    by=by,
                    reason=reason.strip(),
                )
                self.ledger.save(trail)
            return trail

        trail = retrying(record)
        self.views.skip(view, notification_id)
        return trail
