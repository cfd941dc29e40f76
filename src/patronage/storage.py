"""PostgreSQL recorders that fail fast while the database is down.

The library retries each recorder call ten times, each waiting up to the pool's timeout for
a connection: one call could hold a thread for close to a minute in an outage, and a
burst of webhooks filled the thread pool. Here each call is tried twice, so a request
answers 503 within two pool timeouts and Stripe delivers again later.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresFactory,
    PostgresTrackingRecorder,
)
from eventsourcing.utils import get_topic, retry

ATTEMPTS = 2
RETRY_WAIT_SECONDS = 0.2


def _again(method: Callable[..., Any]) -> Callable[..., Any]:
    """A library recorder method without its own retry, retried ATTEMPTS times instead."""
    undecorated: Callable[..., Any] = getattr(method, "__wrapped__")  # noqa: B009
    return retry((InterfaceError, OperationalError), ATTEMPTS, RETRY_WAIT_SECONDS)(undecorated)  # type: ignore[no-any-return]


class FailFastAggregateRecorder(PostgresAggregateRecorder):
    """The snapshots' recorder: every aggregate read asks it first."""

    insert_events = _again(PostgresAggregateRecorder.insert_events)
    select_events = _again(PostgresAggregateRecorder.select_events)


class FailFastApplicationRecorder(PostgresApplicationRecorder):
    insert_events = _again(PostgresApplicationRecorder.insert_events)
    select_events = _again(PostgresApplicationRecorder.select_events)
    select_notifications = _again(PostgresApplicationRecorder.select_notifications)
    max_notification_id = _again(PostgresApplicationRecorder.max_notification_id)


class FailFastTrackingRecorder(PostgresTrackingRecorder):
    insert_tracking = _again(PostgresTrackingRecorder.insert_tracking)
    max_tracking_id = _again(PostgresTrackingRecorder.max_tracking_id)
    has_tracking_id = _again(PostgresTrackingRecorder.has_tracking_id)


class FailFastFactory(PostgresFactory):
    aggregate_recorder_class = FailFastAggregateRecorder
    application_recorder_class = FailFastApplicationRecorder
    tracking_recorder_class = FailFastTrackingRecorder


def fail_fast_env() -> dict[str, str]:
    """The library setting that selects these recorders (the factory's class names them)."""
    return {"PERSISTENCE_MODULE": get_topic(FailFastFactory)}
