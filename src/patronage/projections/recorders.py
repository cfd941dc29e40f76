"""The views' stores as the library's tracking recorders: with storage.py (the Ledger's),
the only module that leans on eventsourcing 9.5.6's internals.

The library offers no public way to apply a view's rows in the transaction that advances
its position (its own examples call the private `_insert_tracking`, and `_max_tracking_id`
reads it in that transaction), nor to give each view its own tracking table on SQLite (the
statements are attributes its `__init__` sets: `insert_tracking_statement`,
`select_max_tracking_id_statement`, `construct_create_table_statements`) or PostgreSQL (its
`tracking_table_name` argument, its `sql_create_statements` list), and its factory
constructs a view's recorder from a class with only the datastore (so each view needs a
class carrying its schema, made below at run time). A view shares the Ledger's pool through
its recorder's `datastore`. tests/unit/test_recorder_internals.py fails loudly, naming this
module, when an upgrade of the library moves any of them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError, OperationalError, ProgrammingError, Tracking
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder

from patronage.projections.store import Dialect, ViewSchema, ViewStore
from patronage.storage import FailFastTrackingRecorder, by_key

CREATE_ATTEMPTS = 5


class LibraryStore(ViewStore):
    """What both stores take from the library's recorder next in their MRO."""

    if TYPE_CHECKING:  # set or defined by the library's SQLite and PostgreSQL recorders
        datastore: Any
        table_migration_identifier: str

        def _insert_tracking(self, cursor: Any, tracking: Tracking) -> None: ...
        def _max_tracking_id(self, application_name: str, cursor: Any) -> int | None: ...

    def transaction(self, *, commit: bool) -> AbstractContextManager[Any]:
        cm: AbstractContextManager[Any] = self.datastore.transaction(commit=commit)
        return cm

    def track_in(self, cursor: Any, tracking: Tracking) -> None:
        self._insert_tracking(cursor, tracking)

    def position_in(self, cursor: Any, application_name: str) -> int:
        return self._max_tracking_id(application_name, cursor) or 0

    def create_table(self) -> None:
        """Create the view's tables, unless they exist already.

        The service and a worker may start at the same moment: the library's creation is
        not safe against that (a deadlock, a duplicate). On PostgreSQL creators take turns
        under storage.py's creation lock, and the one that waited finds the tables made
        (its tracking recorder reads their state before the lock); on SQLite another
        opener's lock fails the creation outright. Either way a lost race is tried again,
        by when the winner's tables exist. Existing tables are left alone, so starting a
        process never takes locks that a running worker needs; a changed schema is
        deployed with `patronage projections rebuild`."""
        for attempt in range(1, CREATE_ATTEMPTS + 1):
            if self._has_tables():
                return
            try:
                super().create_table()  # type: ignore[misc]  # the library's recorder
                return
            except (IntegrityError, OperationalError, sqlite3.OperationalError):
                # Another opener holds SQLite's lock ("database is locked", raised unwrapped
                # while connecting): try again once it has created the tables.
                if attempt == CREATE_ATTEMPTS:
                    raise

    def _has_tables(self) -> bool:
        # The library records this row in the transaction that creates the tables.
        try:
            return self.max_tracking_id(self.table_migration_identifier) is not None
        except (OperationalError, ProgrammingError, sqlite3.OperationalError):
            return False  # no tracking table yet, or SQLite locked by another opener


class SQLiteViewStore(LibraryStore, SQLiteTrackingRecorder):
    """A view in the Ledger's SQLite file, with its own tracking table.

    The library's SQLite tracking table is one per database and keyed by application name
    only, so every view would share one position: each view gets `<view>_tracking` instead.
    """

    # A view's transaction holds SQLite's one write lock, which every webhook's save waits
    # for: a catch-up keeps each transaction short rather than large.
    events_per_transaction = 500

    def __init__(self, datastore: SQLiteDatastore, *, suffix: str = "", **kwargs: Any) -> None:
        self.dialect = Dialect(self.schema.name, schema=None, suffix=suffix)
        super().__init__(datastore, **kwargs)
        table = self.dialect.qualified(self.tracking_table)
        self.insert_tracking_statement = (
            f"INSERT INTO {table} VALUES (:application_name, :notification_id) "
            "ON CONFLICT (application_name) DO UPDATE "
            "SET notification_id = :notification_id "
            f"WHERE {table}.notification_id < :notification_id "
            "RETURNING notification_id"
        )
        self.select_max_tracking_id_statement = (
            f"SELECT MAX(notification_id) FROM {table} WHERE application_name=?"
        )

    def construct_create_table_statements(self) -> list[str]:
        table = self.dialect.qualified(self.tracking_table)
        return [
            f"CREATE TABLE IF NOT EXISTS {table} (application_name TEXT, "
            "notification_id INTEGER, PRIMARY KEY (application_name)) WITHOUT ROWID",
            *self.view_ddl(),
        ]


class PostgresViewStore(LibraryStore, FailFastTrackingRecorder):
    """A view in the Ledger's PostgreSQL schema (POSTGRES_SCHEMA), tracking in `<view>_tracking`."""

    def __init__(self, datastore: PostgresDatastore, *, suffix: str = "", **kwargs: Any) -> None:
        self.dialect = Dialect(self.schema.name, schema=datastore.schema or "public", suffix=suffix)
        kwargs["tracking_table_name"] = self.dialect.bare(self.tracking_table)
        super().__init__(datastore, **kwargs)
        from psycopg.sql import SQL

        self.sql_create_statements.extend(SQL(ddl).format() for ddl in self.view_ddl())

    def transaction(self, *, commit: bool) -> AbstractContextManager[Any]:
        # A view's writes apply events to rows found by key (storage.by_key); its reads for
        # staff pages keep the planner's own choices.
        return by_key(self.datastore)(commit=True) if commit else super().transaction(commit=False)


_classes: dict[tuple[str, bool], type[LibraryStore]] = {}


def store_class(schema: ViewSchema, postgres: bool) -> type[LibraryStore]:
    """The concrete store class of a view (the library's factory constructs it by class)."""
    key = (schema.name, postgres)
    if key not in _classes:
        base: type[LibraryStore] = PostgresViewStore if postgres else SQLiteViewStore
        title = schema.name.title().replace("_", "")
        _classes[key] = type(f"{title}{base.__name__}", (base,), {"schema": schema})
    return _classes[key]


def small_pool(env: Mapping[str, str]) -> dict[str, str]:
    """The environment for a process that needs few connections (a worker, a rebuild):
    a catching-up or following view uses two or three, and the server's connections are
    shared with every API process."""
    return {**env, "POSTGRES_POOL_SIZE": "2", "POSTGRES_MAX_OVERFLOW": "2"}


def datastore_of(application: Application[Any]) -> Any:
    """The connection pool of an application's recorder, for its views to share."""
    return application.recorder.datastore  # type: ignore[attr-defined]


def open_store(
    schema: ViewSchema, *, postgres: bool, datastore: Any, create: bool = True, suffix: str = ""
) -> ViewStore:
    """A view's store on the given datastore (the Ledger's pool), its tables created if
    missing when `create` (off in production: `patronage setup` creates them). Which
    database, whose pool and whether to create, the composition root decides."""
    store = store_class(schema, postgres)(datastore, suffix=suffix)  # type: ignore[call-arg]
    if create:
        store.create_table()
    return store
