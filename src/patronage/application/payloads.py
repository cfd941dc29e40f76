"""Kept Stripe payloads: whole while they may be needed, then reduced to what the ledger
needs (the event without the person) and their data key deleted, so the full payload is gone
from the store too (application/sealing.py).

Payloads of events still parked, waiting or failed are kept whole: applying or replaying
them needs every field. They are reduced by the first sweep after they are applied.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

import structlog

from patronage.application.inbox import Inbox
from patronage.application.ledger import Ledger, UnitOfWork, in_one_transaction
from patronage.application.sealing import payload_subject
from patronage.domain.inbox import InboxEvent, InboxStatus, inbox_event_id_for
from patronage.payments.reduction import reduced_payload_json

log = structlog.get_logger(__name__)

DONE = (InboxStatus.APPLIED, InboxStatus.IGNORED)


@dataclass(frozen=True)
class Sweep:
    examined: int
    reduced: int


class StripePayloads:
    def __init__(self, ledger: Ledger, inbox: Inbox) -> None:
        self.ledger = ledger
        self.inbox = inbox

    def reduce(self, event_id: str) -> bool:
        """Reduce one kept payload now; True if it was whole until now."""

        def work(unit: UnitOfWork) -> bool:
            inbox_event = unit.get_typed(inbox_event_id_for(event_id), InboxEvent)
            was_whole = not inbox_event.payload_reduced
            inbox_event.reduce_payload(reduced_payload_json(inbox_event.payload))
            return was_whole

        was_whole = in_one_transaction(self.ledger, work)
        # After the reduced payload is saved: a crash in between leaves a key that the next
        # call (it is safe to repeat) deletes.
        self.ledger.keys.delete(payload_subject(inbox_event_id_for(event_id)))
        return was_whole

    def _sweep(
        self, statuses: Iterable[InboxStatus], wanted: Callable[[InboxEvent], bool]
    ) -> Sweep:
        examined = reduced = 0
        for event_id in self.inbox.event_ids(statuses):
            examined += 1
            inbox_event = self.inbox.get(event_id)
            if inbox_event is not None and not inbox_event.payload_reduced and wanted(inbox_event):
                reduced += self.reduce(event_id)
        return Sweep(examined=examined, reduced=reduced)

    def reduce_older_than(self, cutoff: datetime) -> Sweep:
        """Reduce the payloads of applied or ignored events recorded before `cutoff`."""
        sweep = self._sweep(DONE, lambda e: e.created_on < cutoff)
        log.info("stripe_payloads_reduced", examined=sweep.examined, reduced=sweep.reduced)
        return sweep

    def reduce_mentioning(self, needles: set[str]) -> Sweep:
        """Reduce every payload that names one of `needles` (ids, customer ids, emails),
        whatever its status: for erasure, which must not wait for retention."""
        wanted = {n for n in needles if n}
        return self._sweep((), lambda e: any(n in e.payload_json.lower() for n in wanted))
