"""The Ledger's recorders: the library's, with two changes.

- On PostgreSQL they fail fast while the database is down. The library retries each
  recorder call ten times, each waiting up to the pool's timeout for a connection: one call
  could hold a thread for close to a minute in an outage, and a burst of webhooks filled
  the thread pool. Here each call is tried twice, so a request answers 503 within two pool
  timeouts and Stripe delivers again later.
- On both stores, `insert_events(..., data_keys={subject: stored key})` also inserts the
  data keys of the subjects those events create (application/keys.py) in the same
  transaction, through the library's hooks for that (`_insert_events` on SQLite and
  `_insert_stored_events` on PostgreSQL, where its process recorders insert tracking
  records): one commit for a webhook's effect and keys.
  A subject that has a key already makes the whole insert fail with IntegrityError.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresFactory,
    PostgresTrackingRecorder,
)
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteFactory
from eventsourcing.utils import get_topic, retry
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

# Subject -> data key (application/keys.py), beside the events in the same database.
DATA_KEYS_TABLE = "patronage_data_keys"

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
    stores_data_keys = True
    insert_events = _again(PostgresApplicationRecorder.insert_events)
    select_events = _again(PostgresApplicationRecorder.select_events)
    select_notifications = _again(PostgresApplicationRecorder.select_notifications)
    max_notification_id = _again(PostgresApplicationRecorder.max_notification_id)

    def _insert_stored_events(
        self,
        curs: Cursor[DictRow],
        stored_events: Sequence[StoredEvent],
        *,
        data_keys: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super()._insert_stored_events(curs, stored_events, **kwargs)
        if data_keys:
            # The events' own failure (a duplicate, a conflict) is raised here as itself:
            # queued behind it, the keys' statement would fail as "pipeline aborted", an
            # OperationalError, which reads as the database being down. A key that exists
            # already fails at the library's own sync, after this, as IntegrityError.
            with curs.connection.pipeline() as pipeline:
                pipeline.sync()
            # One statement, so that a key that exists fails as a unique violation (rows of
            # an executemany after a failed one fail as "pipeline aborted"), on its own
            # cursor: the library reads the events' notification ids from `curs`.
            rows = SQL(", ").join([SQL("(%s, %s)")] * len(data_keys))
            insert = SQL("INSERT INTO {}.{} (subject, key) VALUES {}").format(
                Identifier(self.datastore.schema), Identifier(DATA_KEYS_TABLE), rows
            )
            with curs.connection.cursor() as keys_cursor:
                keys_cursor.execute(insert, [value for row in data_keys.items() for value in row])


class FailFastTrackingRecorder(PostgresTrackingRecorder):
    insert_tracking = _again(PostgresTrackingRecorder.insert_tracking)
    max_tracking_id = _again(PostgresTrackingRecorder.max_tracking_id)
    has_tracking_id = _again(PostgresTrackingRecorder.has_tracking_id)


class FailFastFactory(PostgresFactory):
    aggregate_recorder_class = FailFastAggregateRecorder
    application_recorder_class = FailFastApplicationRecorder
    tracking_recorder_class = FailFastTrackingRecorder


class KeyedSQLiteApplicationRecorder(SQLiteApplicationRecorder):
    stores_data_keys = True

    def _insert_events(
        self,
        c: SQLiteCursor,
        stored_events: Sequence[StoredEvent],
        *,
        data_keys: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> Sequence[int] | None:
        if data_keys:
            c.executemany(
                f"INSERT INTO {DATA_KEYS_TABLE} (subject, key) VALUES (?, ?)",  # noqa: S608 - a constant
                list(data_keys.items()),
            )
        return super()._insert_events(c, stored_events, **kwargs)


class KeyedSQLiteFactory(SQLiteFactory):
    application_recorder_class = KeyedSQLiteApplicationRecorder


def fail_fast_env() -> dict[str, str]:
    """The library setting that selects the PostgreSQL recorders (the factory's class
    names them)."""
    return {"PERSISTENCE_MODULE": get_topic(FailFastFactory)}


def sqlite_env() -> dict[str, str]:
    """The library setting that selects the SQLite recorders."""
    return {"PERSISTENCE_MODULE": get_topic(KeyedSQLiteFactory)}
