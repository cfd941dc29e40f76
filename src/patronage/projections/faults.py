"""A view stuck on an event: the failing event and its error, kept for operators, with a
back-off before the next attempt, and skipping it on an operator's word.

A view applies events strictly in order, so an event it cannot apply stops it. Retrying at
once, forever, only burns the database; nothing showed which event or why. Now each runner
records the failure here (one row per view), waits longer after each attempt, and clears
the row once the view is past the event. An operator who decides the event can never apply
skips it (`patronage projections skip`, `POST /staff/projections/{view}/skip`): the view's
position moves past that one event, and the ledger records who skipped what and why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from eventsourcing.persistence import IntegrityError, Tracking

from patronage.domain.records import from_attributes
from patronage.projections.errors import EventFailedError
from patronage.projections.polling import select_after
from patronage.projections.store import ViewSchema, ViewStore

log = structlog.get_logger(__name__)

FIRST_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 300.0

FAULTS = ViewSchema(
    name="faults",
    tables={
        # A row per view stuck on an event: which event, why, and when it is tried again.
        "stuck": """CREATE TABLE IF NOT EXISTS {stuck} (
            view_name TEXT PRIMARY KEY,
            notification_id BIGINT NOT NULL,
            topic TEXT NOT NULL,
            error TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            first_failed_at TEXT NOT NULL,
            last_failed_at TEXT NOT NULL,
            next_attempt_at TEXT NOT NULL)"""
    },
)


class NotStuckError(LookupError):
    """A skip named an event that is not the one the view is waiting to apply."""


def backoff(attempts: int) -> float:
    """Seconds to wait after the `attempts`-th failure on the same event: 1, 2, 4 ... 300."""
    return float(min(FIRST_BACKOFF_SECONDS * 2 ** min(attempts - 1, 20), MAX_BACKOFF_SECONDS))


@dataclass(frozen=True)
class Fault:
    view: str
    notification_id: int
    topic: str
    error: str
    attempts: int
    first_failed_at: datetime
    last_failed_at: datetime
    next_attempt_at: datetime

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> Fault:
        return cls(
            view=row["view_name"],
            notification_id=int(row["notification_id"]),
            topic=row["topic"],
            error=row["error"],
            attempts=int(row["attempts"]),
            first_failed_at=datetime.fromisoformat(row["first_failed_at"]),
            last_failed_at=datetime.fromisoformat(row["last_failed_at"]),
            next_attempt_at=datetime.fromisoformat(row["next_attempt_at"]),
        )


class FaultLog:
    """The stuck events of every view, one row per view, in the views' database."""

    def __init__(self, store: ViewStore) -> None:
        self.store = store

    def record(self, failure: EventFailedError, now: datetime | None = None) -> Fault:
        """Count one more failed attempt on the event (the first, if the view was stuck on
        another one before) and set when to try again."""
        now = now or datetime.now(UTC)
        previous = self.get(failure.view)
        same = previous is not None and previous.notification_id == failure.notification_id
        attempts = previous.attempts + 1 if same and previous else 1
        first = previous.first_failed_at if same and previous else now
        # The failing event as the failure names it (view, position, topic, error), and
        # when to try it again.
        fault = from_attributes(
            Fault,
            failure,
            attempts=attempts,
            first_failed_at=first,
            last_failed_at=now,
            next_attempt_at=now + timedelta(seconds=backoff(attempts)),
        )

        with self.store.write() as tx:
            tx.run("DELETE FROM {stuck} WHERE view_name = :view", view=fault.view)
            tx.run(
                "INSERT INTO {stuck} VALUES (:view, :notification_id, :topic, :error, "
                ":attempts, :first_failed_at, :last_failed_at, :next_attempt_at)",
                view=fault.view,
                notification_id=fault.notification_id,
                topic=fault.topic[:300],
                error=fault.error,
                attempts=fault.attempts,
                first_failed_at=fault.first_failed_at.isoformat(),
                last_failed_at=fault.last_failed_at.isoformat(),
                next_attempt_at=fault.next_attempt_at.isoformat(),
            )

        log.error("projection_event_failed", view=fault.view, notification_id=fault.notification_id,
                  topic=fault.topic, error=fault.error, attempts=fault.attempts,
                  next_attempt_at=fault.next_attempt_at.isoformat())  # fmt: skip
        return fault

    def get(self, view: str) -> Fault | None:
        with self.store.read() as tx:
            row = tx.one("SELECT * FROM {stuck} WHERE view_name = :view", view=view)
        return None if row is None else Fault.of(row)

    def all(self) -> dict[str, Fault]:
        with self.store.read() as tx:
            rows = tx.all("SELECT * FROM {stuck} ORDER BY view_name")
        return {row["view_name"]: Fault.of(row) for row in rows}

    def clear(self, view: str, passed: int | None = None) -> None:
        """Forget the view's fault (only if it is at or before `passed`, when given)."""

        with self.store.write() as tx:
            if passed is None:
                tx.run("DELETE FROM {stuck} WHERE view_name = :view", view=view)
            else:
                tx.run(
                    "DELETE FROM {stuck} WHERE view_name = :view AND notification_id <= :passed",
                    view=view,
                    passed=passed,
                )


def check_waiting_for(
    ledger: Any, store: ViewStore, topics: Sequence[str], notification_id: int
) -> None:
    """Return if `notification_id` is the next event the view would apply, else
    NotStuckError saying which one it waits for."""
    pending = select_after(ledger, topics, store.position(ledger.name), limit=1)
    if not pending or pending[0].id != notification_id:
        waiting = f"event {pending[0].id}" if pending else "no event"
        raise NotStuckError(
            f"view {store.schema.name} waits for {waiting}, not event {notification_id}"
        )


def skip_event(ledger: Any, store: ViewStore, topics: Sequence[str], notification_id: int) -> None:
    """Move the view past `notification_id`, which must be the next event it would apply,
    without applying it. A view already past it (a race with its runner) is left as is."""
    check_waiting_for(ledger, store, topics, notification_id)
    try:
        store.apply(Tracking(ledger.name, notification_id), lambda _tx: None)
    except IntegrityError:
        if store.position(ledger.name) < notification_id:
            raise
