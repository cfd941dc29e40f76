"""The Ledger's storage: the library's recorders with three changes, and the save and bulk read
steps that lean on the library's internals. With projections/recorders.py (the views'), the
only module that does; tests/unit/test_recorder_internals.py fails loudly, naming the module
to fix, when an upgrade of the library moves any of them.

- On PostgreSQL the recorders fail fast while the database is down. The library retries each
  recorder call ten times, each waiting up to the pool's timeout for a connection: one call
  could hold a thread for close to a minute in an outage, and a burst of webhooks filled
  the thread pool. Here each call is tried twice (the library's methods unwrapped from its
  `retry` through `__wrapped__`), so a request answers 503 within two pool timeouts and
  Stripe delivers again later.
- On every store (the in-memory one's recorder included, for service tests),
  `insert_events(..., data_keys={subject: stored key})` also inserts the
  data keys of the subjects those events create (application/keys.py) in the same
  transaction, through the library's private hooks for that (`_insert_events` on SQLite and
  `_insert_stored_events` on PostgreSQL, where its process recorders insert tracking
  records): one commit for a webhook's effect and keys.
  A subject that has a key already makes the whole insert fail with IntegrityError.
- On PostgreSQL the recorders create their tables under one advisory lock per schema
  (`CREATION_LOCK`, as the data key table is created): processes that start at once create
  them one after another instead of failing on each other's half-made catalog rows.
- `insert_events(..., watch=[ids], present=set())` also tells which of the watched aggregates
  have events once the insert is done, read inside the same transaction, after the table's
  write lock is taken (PostgreSQL's EXCLUSIVE lock, SQLite's one writer): an event another
  transaction commits under those ids is either seen, or commits after this one. The inbox
  watches the waitlists its events provide for (application/inbox.py), which saves each new
  event a read after its save.
- `save_collected` is the library's `Application.save`, step by step (its private `_record`,
  `_take_snapshots` and `_notify`), collecting through a subclass of its `ProcessingEvent`
  that tells aggregates by class: the library offers no hook for either.
- `select_stored_events` reads a batch of aggregates' stored events in one query, by SQL on
  the library's events table (`events_table_name`; columns originator_id,
  originator_version, topic, state): its recorders read one aggregate per query;
  `decode_all` decodes such a batch (and a view's page) with the application's own mapper,
  many events at once where it can.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any
from uuid import UUID

from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    ApplicationRecorder,
    IntegrityError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
    Recording,
    StoredEvent,
)
from eventsourcing.popo import POPOApplicationRecorder, POPOFactory
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresFactory,
    PostgresRecorder,
    PostgresTrackingRecorder,
)
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteFactory
from eventsourcing.utils import get_topic, retry
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier

# Subject -> data key (application/keys.py), beside the events in the same database.
DATA_KEYS_TABLE = "patronage_data_keys"

ATTEMPTS = 2
RETRY_WAIT_SECONDS = 0.2


def _again(method: Callable[..., Any]) -> Callable[..., Any]:
    """A library recorder method without its own retry, retried ATTEMPTS times instead."""
    undecorated: Callable[..., Any] = getattr(method, "__wrapped__")  # noqa: B009
    return retry((InterfaceError, OperationalError), ATTEMPTS, RETRY_WAIT_SECONDS)(undecorated)  # type: ignore[no-any-return]


# Taken first in every transaction that creates a schema's tables: processes that start at
# once (the service and its workers, several issuers) create them one after another.
# Unserialised, the library's statements raced each other's catalog rows: its
# `CREATE OR REPLACE FUNCTION` failed with "tuple concurrently updated", and concurrent
# `CREATE TABLE IF NOT EXISTS` can fail as a unique violation of the catalog's own index.
CREATION_LOCK = "SELECT pg_advisory_xact_lock(hashtext('patronage tables'), hashtext(%s))"


@contextmanager
def creating(datastore: Any) -> Iterator[Any]:
    """A transaction that creates tables in `datastore`'s schema, serialised with every
    other creator of that schema's tables."""
    with datastore.transaction(commit=True) as cursor:
        cursor.execute(CREATION_LOCK, [datastore.schema])
        yield cursor


class SerialCreation(PostgresRecorder):
    """A library recorder whose tables are created under `CREATION_LOCK`."""

    def create_table(self) -> None:
        # The library creates its composite type (the events' recorder has one) in a
        # transaction of its own before the rest, outside the lock, ignoring a type that
        # exists; one created by a concurrent creator meanwhile fails instead, as a unique
        # violation or as "relation ... already exists", and the second attempt finds it.
        try:
            super().create_table()
        except (IntegrityError, ProgrammingError) as error:
            if isinstance(error, ProgrammingError) and "already exists" not in str(error):
                raise
            super().create_table()

    def _create_table(self, curs: Cursor[DictRow]) -> None:
        curs.execute(CREATION_LOCK, [self.datastore.schema])
        super()._create_table(curs)


class FailFastAggregateRecorder(SerialCreation, PostgresAggregateRecorder):
    """The snapshots' recorder: every aggregate read asks it first."""

    insert_events = _again(PostgresAggregateRecorder.insert_events)
    select_events = _again(PostgresAggregateRecorder.select_events)


class FailFastApplicationRecorder(SerialCreation, PostgresApplicationRecorder):
    stores_data_keys = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        datastore = self.datastore
        self._insert_columns = insert_columns(
            datastore.schema, self.events_table_name, datastore.originator_id_type
        )

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
        watch: Sequence[UUID] = (),
        present: set[UUID] | None = None,
        **kwargs: Any,
    ) -> None:
        # The library's own steps (`PostgresApplicationRecorder._insert_stored_events`): the
        # table's lock and the NOTIFY, then the insert, whose notification ids it fetches
        # from `curs` afterwards. Its insert sends the events as one array of a composite
        # type, which psycopg writes out as text in Python (every event's state escaped by a
        # regular expression: a tenth of the API's CPU under a burst of webhooks, in the
        # committer's locked section); here the columns go as four arrays in binary
        # (`insert_columns`).
        self._lock_table(curs)
        self._notify_channel(curs)
        curs.execute(
            self._insert_columns,
            [
                [e.originator_id for e in stored_events],
                [e.originator_version for e in stored_events],
                [e.topic for e in stored_events],
                [e.state for e in stored_events],
            ],
            binary=True,
        )
        if data_keys or watch:
            # The events' own failure (a duplicate, a conflict) is raised here as itself:
            # queued behind it, the statements below would fail as "pipeline aborted", an
            # OperationalError, which reads as the database being down. A key that exists
            # already fails at the library's own sync, after this, as IntegrityError.
            with curs.connection.pipeline() as pipeline:
                pipeline.sync()
        if watch and present is not None:
            # Under the table's lock, which the library took above.
            with curs.connection.cursor() as watch_cursor:
                datastore = self.datastore
                exist = which_exist(
                    datastore.schema, self.events_table_name, datastore.originator_id_type
                )
                watch_cursor.execute(exist, [list(watch)])
                present.update(row["originator_id"] for row in watch_cursor.fetchall())
        if data_keys:
            # One statement, so that a key that exists fails as a unique violation (rows of
            # an executemany after a failed one fail as "pipeline aborted"), on its own
            # cursor: the library reads the events' notification ids from `curs`.
            rows = SQL(", ").join([SQL("(%s, %s)")] * len(data_keys))
            insert = SQL("INSERT INTO {}.{} (subject, key) VALUES {}").format(
                Identifier(self.datastore.schema), Identifier(DATA_KEYS_TABLE), rows
            )
            with curs.connection.cursor() as keys_cursor:
                keys_cursor.execute(insert, [value for row in data_keys.items() for value in row])


class FailFastTrackingRecorder(SerialCreation, PostgresTrackingRecorder):
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
        watch: Sequence[UUID] = (),
        present: set[UUID] | None = None,
        **kwargs: Any,
    ) -> Sequence[int] | None:
        if data_keys:
            c.executemany(
                f"INSERT INTO {DATA_KEYS_TABLE} (subject, key) VALUES (?, ?)",  # noqa: S608 - a constant
                list(data_keys.items()),
            )
        ids = super()._insert_events(c, stored_events, **kwargs)
        if watch and present is not None and stored_events:
            # After this transaction's first insert: it holds the database's one write lock.
            marks = ",".join("?" * len(watch))
            c.execute(
                f"SELECT DISTINCT originator_id FROM {self.events_table_name}"  # noqa: S608 - the library's table name and placeholders only
                f" WHERE originator_id IN ({marks})",
                [i.hex for i in watch],
            )
            present.update(UUID(row[0]) for row in c.fetchall())
        return ids


class KeyedSQLiteFactory(SQLiteFactory):
    application_recorder_class = KeyedSQLiteApplicationRecorder


class KeyedPOPOApplicationRecorder(POPOApplicationRecorder):
    """The library's in-memory store (service tests), with its data keys beside its events
    as the SQL stores keep them: inserted with the events under the recorder's lock, or not
    at all, so that concurrent saves behave as on a database."""

    stores_data_keys = True

    def __init__(self) -> None:
        super().__init__()
        self.data_keys: dict[str, str] = {}

    def _insert_events(
        self,
        stored_events: Sequence[StoredEvent],
        *,
        data_keys: Mapping[str, str] | None = None,
        watch: Sequence[UUID] = (),
        present: set[UUID] | None = None,
        **kwargs: Any,
    ) -> Sequence[int] | None:
        with self._database_lock:  # reentrant: the library's own insert takes it again
            if data_keys and not self.data_keys.keys().isdisjoint(data_keys):
                raise IntegrityError("a subject of these events has a data key already")
            ids = super()._insert_events(stored_events, **kwargs)
            self.data_keys.update(data_keys or {})
            if watch and present is not None:
                present.update(i for i in watch if self.select_events(i, limit=1))
            return ids


class KeyedPOPOFactory(POPOFactory):
    def application_recorder(self) -> ApplicationRecorder:
        return KeyedPOPOApplicationRecorder()


def fail_fast_env() -> dict[str, str]:
    """The library setting that selects the PostgreSQL recorders (the factory's class
    names them)."""
    return {"PERSISTENCE_MODULE": get_topic(FailFastFactory)}


def sqlite_env() -> dict[str, str]:
    """The library setting that selects the SQLite recorders."""
    return {"PERSISTENCE_MODULE": get_topic(KeyedSQLiteFactory)}


def memory_env() -> dict[str, str]:
    """The library setting that selects the in-memory recorders."""
    return {"PERSISTENCE_MODULE": get_topic(KeyedPOPOFactory)}


class _Collected(ProcessingEvent[UUID]):
    """The library's collection of what a save writes, telling an aggregate by its class:
    the library asks two runtime Protocols of each object, some 50 microseconds on Python
    3.11, a quarter of year end's CPU for its 200,000 aggregates. Anything else (events
    saved as such) goes the library's way, in the order given."""

    def collect_events(self, *objs: Any, **kwargs: Any) -> None:
        for obj in objs:  # in the order given, as the library does
            if isinstance(obj, Aggregate):
                self.events.extend(obj.collect_events())
                self.aggregates[obj.id] = obj
            else:
                super().collect_events(obj)
        self.saved_kwargs.update(kwargs)


def save_collected(
    application: Application[UUID], *objs: Any, **kwargs: Any
) -> list[Recording[UUID]]:
    """The library's `save`, step by step (the pinned version's own steps; its deprecated
    `notify`, a no-op here, left out), collecting through `_Collected`."""
    processing_event = _Collected()
    processing_event.collect_events(*objs, **kwargs)
    recordings = application._record(processing_event)
    application._take_snapshots(processing_event)
    application._notify(recordings)
    return recordings


def events_table_of(recorder: object) -> str:
    """The qualified name of a recorder's events table, on either store."""
    table: str = getattr(recorder, "events_table_name")  # noqa: B009  (both stores have it)
    if isinstance(recorder, PostgresRecorder):
        return f'"{recorder.datastore.schema}".{table}'
    return table


# PostgreSQL's reads of a few aggregates by id go by the primary key, never a scan of the
# whole table. Without statistics (a new or restored database before its first ANALYZE, or
# autovacuum off) it guesses that a list of ids matches a large share of the table: under a
# burst of webhooks it scanned the table on every read (half of its CPU per webhook,
# docs/performance.md), and past some size it would compile those plans (JIT) as well.
# So the bulk read, the data keys' statements and the views' writes run after these
# settings, each in a transaction of its own (`by_key`) ...
INDEX_LOOKUPS = "SET LOCAL enable_seqscan = off; SET LOCAL jit = off"


def by_key(datastore: Any) -> Callable[..., AbstractContextManager[Any]]:
    """A PostgreSQL datastore's `transaction(commit=...)`, for statements that find their
    rows by key: each transaction starts with `INDEX_LOOKUPS`."""

    @contextmanager
    def transaction(*, commit: bool) -> Iterator[Any]:
        with datastore.transaction(commit=commit) as cursor:
            cursor.execute(INDEX_LOOKUPS)
            yield cursor

    return transaction


def insert_columns(schema: str, table: str, id_type: str) -> Composed:
    """The events' insert: a column each, as four arrays sent in binary (`%b`: with `%s`
    psycopg dumps a list as text in Python, every state hex-encoded and escaped)."""
    insert = (
        "INSERT INTO {}.{} (originator_id, originator_version, topic, state)"
        " SELECT * FROM unnest(%b::{}[], %b::bigint[], %b::text[], %b::bytea[])"
        " RETURNING notification_id"
    )
    return SQL(insert).format(Identifier(schema), Identifier(table), Identifier(id_type))


def events_of(schema: str, table: str) -> Composed:
    """The stored events of a list of aggregates (`%b`: their ids, in binary), by aggregate
    then version; run after `INDEX_LOOKUPS`."""
    select = (
        "SELECT originator_id, originator_version, topic, state FROM {}.{}"
        " WHERE originator_id = ANY(%b) ORDER BY originator_id, originator_version"
    )
    return SQL(select).format(Identifier(schema), Identifier(table))


def which_exist(schema: str, table: str, id_type: str) -> Composed:
    """... and the save's question, which of these aggregates (`%b`) exist, is asked as one
    probe of the primary key per id, a plan no estimate changes (it runs inside the save's
    transaction, which other statements share)."""
    select = (
        "SELECT watched.id AS originator_id FROM unnest(%b::{}[]) AS watched(id)"
        " CROSS JOIN LATERAL (SELECT 1 FROM {}.{} WHERE originator_id = watched.id"
        " LIMIT 1) AS found"
    )
    return SQL(select).format(Identifier(id_type), Identifier(schema), Identifier(table))


def select_stored_events(recorder: Any, ids: Sequence[UUID]) -> list[Any]:
    """The stored events of these aggregates, in one query, by aggregate then version: rows
    with the columns originator_id, originator_version, topic and state."""
    datastore = recorder.datastore
    table = recorder.events_table_name
    columns = "originator_id, originator_version, topic, state"
    if hasattr(datastore, "schema"):  # PostgreSQL
        with by_key(datastore)(commit=False) as cursor:
            cursor.execute(events_of(datastore.schema, table), [list(ids)])
            return list(cursor.fetchall())
    marks = ",".join("?" * len(ids))
    with datastore.transaction(commit=False) as cursor:
        cursor.execute(
            f"SELECT {columns} FROM {table} WHERE originator_id IN ({marks})"  # noqa: S608 - the library's table name and placeholders only
            " ORDER BY originator_id, originator_version",
            [i.hex for i in ids],
        )
        return list(cursor.fetchall())


def decode_all(application: Application[UUID], stored: Sequence[StoredEvent]) -> list[Any]:
    """Stored events decoded, many at once where the application's mapper can: the Ledger's
    (application/sealing.py) then reads the data keys of their sealed fields in one query,
    where one by one each new subject's event read its own."""
    mapper: Any = application.mapper
    if hasattr(mapper, "to_domain_events"):
        return list(mapper.to_domain_events(stored))
    return [mapper.to_domain_event(s) for s in stored]
