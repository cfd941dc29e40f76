"""The store layer of every view: SQL written once, run on SQLite or PostgreSQL.

A view is a set of tables plus a tracking table, all named after the view. Each event is
applied in one transaction that first advances the tracking position (the library's
single-row tracking refuses a position already applied) and then changes the rows, so an
event is counted exactly once whatever crashes or restarts.

SQL in the views uses `:name` parameters and `{table}` placeholders; `Dialect` turns them
into each store's form (PostgreSQL: `%(name)s` and schema-qualified names). Upserts use
`INSERT INTO {t} AS cur ... ON CONFLICT ... DO UPDATE SET x = cur.x + excluded.x`, which
both stores accept.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from eventsourcing.persistence import (
    InfrastructureFactory,
    IntegrityError,
    OperationalError,
    ProgrammingError,
    Tracking,
    TrackingRecorder,
)
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder
from eventsourcing.utils import Environment, strtobool

Row = dict[str, Any]
CREATE_ATTEMPTS = 5
_PARAM = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")


@dataclass(frozen=True)
class Index:
    """A secondary index `<table>_<name>` on a view's table."""

    table: str
    name: str
    columns: str


@dataclass(frozen=True)
class ViewSchema:
    """A view's tables: logical name -> DDL (with `{name}` placeholders), and indexes."""

    name: str
    tables: Mapping[str, str]
    indexes: tuple[Index, ...] = ()


@dataclass(frozen=True)
class Dialect:
    """Names and parameters of one store. `schema` is PostgreSQL's, None on SQLite.

    A view's logical table `gifts` is stored as `v_<view>_gifts<suffix>`: views never share
    a table, and a rebuild builds under a fresh suffix before swapping the names.
    """

    view: str
    schema: str | None
    suffix: str = ""

    @property
    def is_postgres(self) -> bool:
        return self.schema is not None

    def bare(self, table: str) -> str:
        return f"v_{self.view}_{table}{self.suffix}"

    def qualified(self, table: str) -> str:
        return self.qualify(self.bare(table))

    def qualify(self, name: str) -> str:
        return f'"{self.schema}"."{name}"' if self.schema else f'"{name}"'

    def index_name(self, index: Index) -> str:
        return f"{self.bare(index.table)}_{index.name}"

    def create_index(self, index: Index) -> str:
        return (
            f'CREATE INDEX IF NOT EXISTS "{self.index_name(index)}"'
            f" ON {self.qualified(index.table)} ({index.columns})"
        )

    def render(self, sql: str, tables: Mapping[str, str]) -> str:
        """`{table}` to its name in this store, `:name` to its parameter style."""
        text = sql.format(**{table: self.qualified(table) for table in tables})
        return _PARAM.sub(r"%(\1)s", text) if self.is_postgres else text


class ViewTx:
    """One open transaction of a view: run statements, read rows back."""

    def __init__(self, cursor: Any, render: Callable[[str], str]) -> None:
        self._cursor = cursor
        self._render = render

    def run(self, sql: str, **params: Any) -> None:
        self._cursor.execute(self._render(sql), params)

    def all(self, sql: str, **params: Any) -> list[Row]:
        self._cursor.execute(self._render(sql), params)
        return [dict(row) for row in self._cursor.fetchall()]

    def one(self, sql: str, **params: Any) -> Row | None:
        rows = self.all(sql, **params)
        return rows[0] if rows else None

    def value(self, sql: str, **params: Any) -> Any:
        row = self.one(sql, **params)
        return None if row is None else next(iter(row.values()))


class ViewStore(TrackingRecorder):
    """What every view's store offers, on either database (see the two classes below)."""

    schema: ClassVar[ViewSchema]
    dialect: Dialect
    _factory: Any = None  # the factory of the pool this store opened itself, if any

    if TYPE_CHECKING:  # provided by the library's SQLite and PostgreSQL recorders
        datastore: Any
        table_migration_identifier: str

        def _insert_tracking(self, cursor: Any, tracking: Tracking) -> None: ...
        def _max_tracking_id(self, application_name: str, cursor: Any) -> int | None: ...

    tracking_table: ClassVar[str] = "tracking"

    def create_table(self) -> None:
        """Create the view's tables, unless they exist already.

        The service and a worker may start at the same moment: the library's creation is
        not safe against that (a deadlock, a duplicate), so a lost race is tried again, by
        when the winner's tables exist. Existing tables are left alone, so starting a
        process never takes locks that a running worker needs; a changed schema is
        deployed with `patronage projections rebuild`."""
        for attempt in range(1, CREATE_ATTEMPTS + 1):
            if self._has_tables():
                return
            try:
                super().create_table()  # type: ignore[misc]  # the library's recorder
                return
            except (IntegrityError, OperationalError):
                if attempt == CREATE_ATTEMPTS:
                    raise

    def _has_tables(self) -> bool:
        # The library records this row in the transaction that creates the tables.
        try:
            return self.max_tracking_id(self.table_migration_identifier) is not None
        except (OperationalError, ProgrammingError):  # no tracking table yet
            return False

    def _tables(self) -> dict[str, str]:
        return {**self.schema.tables, self.tracking_table: ""}

    def render(self, sql: str) -> str:
        return self.dialect.render(sql, self._tables())

    def view_ddl(self) -> list[str]:
        tables = [self.render(ddl) for ddl in self.schema.tables.values()]
        return tables + [self.dialect.create_index(index) for index in self.schema.indexes]

    def _transaction(self, *, commit: bool) -> AbstractContextManager[Any]:
        """A transaction on the view's database (both datastores have the same call)."""
        cm: AbstractContextManager[Any] = self.datastore.transaction(commit=commit)
        return cm

    def apply(self, tracking: Tracking, change: Callable[[ViewTx], None]) -> None:
        """Advance the position and change the rows in one transaction, or neither."""
        with self._transaction(commit=True) as cursor:
            self.apply_in(cursor, tracking, change)

    def apply_in(self, cursor: Any, tracking: Tracking, change: Callable[[ViewTx], None]) -> None:
        """Apply within an open transaction. The tracking insert comes first: it takes the
        write lock, and an event already applied fails there (IntegrityError) before any
        row is touched."""
        self._insert_tracking(cursor, tracking)
        change(ViewTx(cursor, self.render))

    @contextmanager
    def read(self) -> Iterator[ViewTx]:
        """A read-only transaction: the rows a reader sees are of one moment."""
        with self._transaction(commit=False) as cursor:
            yield ViewTx(cursor, self.render)

    def position(self, application_name: str) -> int:
        return self.max_tracking_id(application_name) or 0

    def close(self) -> None:
        if self._factory is not None:
            self._factory.close()


class SQLiteViewStore(ViewStore, SQLiteTrackingRecorder):
    """A view in the Ledger's SQLite file, with its own tracking table.

    The library's SQLite tracking table is one per database and keyed by application name
    only, so every view would share one position: each view gets `<view>_tracking` instead.
    """

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


class PostgresViewStore(ViewStore, PostgresTrackingRecorder):
    """A view in the Ledger's PostgreSQL schema (POSTGRES_SCHEMA), tracking in `<view>_tracking`."""

    def __init__(self, datastore: PostgresDatastore, *, suffix: str = "", **kwargs: Any) -> None:
        self.dialect = Dialect(self.schema.name, schema=datastore.schema or "public", suffix=suffix)
        kwargs["tracking_table_name"] = self.dialect.bare(self.tracking_table)
        super().__init__(datastore, **kwargs)
        from psycopg.sql import SQL

        self.sql_create_statements.extend(SQL(ddl).format() for ddl in self.view_ddl())


_classes: dict[tuple[str, bool], type[ViewStore]] = {}


def store_class(schema: ViewSchema, postgres: bool) -> type[ViewStore]:
    """The concrete store class of a view (the library's factory constructs it by class)."""
    key = (schema.name, postgres)
    if key not in _classes:
        base: type[ViewStore] = PostgresViewStore if postgres else SQLiteViewStore
        title = schema.name.title().replace("_", "")
        _classes[key] = type(f"{title}{base.__name__}", (base,), {"schema": schema})
    return _classes[key]


def small_pool(env: Mapping[str, str]) -> dict[str, str]:
    """The environment for a process that needs few connections (a worker, a rebuild):
    a catching-up or following view uses two or three, and the server's connections are
    shared with every API process."""
    return {**env, "POSTGRES_POOL_SIZE": "2", "POSTGRES_MAX_OVERFLOW": "2"}


def open_store(
    schema: ViewSchema, env: Mapping[str, str], suffix: str = "", datastore: Any = None
) -> ViewStore:
    """A view's store on the Ledger's database, its tables created if missing (unless the
    environment's CREATE_TABLE says not to).

    With `datastore` (the Ledger's own), the view shares the Ledger's connection pool: one
    pool per API process however many views it reads. Without, it opens its own pool."""
    postgres = env.get("PERSISTENCE_MODULE") == "eventsourcing.postgres"
    factory = None
    if datastore is None:
        factory = InfrastructureFactory[TrackingRecorder].construct(
            env=Environment(schema.name, dict(env))
        )
        datastore = factory.datastore  # type: ignore[attr-defined]
    store = store_class(schema, postgres)(datastore, suffix=suffix)  # type: ignore[call-arg]
    if strtobool(env.get("CREATE_TABLE", "yes")):  # off in production: `patronage setup`
        store.create_table()
    store._factory = factory  # closed with the store, when the store opened it
    return store


def iter_tables(schema: ViewSchema) -> Iterator[str]:
    """Every table a view owns (logical names), its tracking table included."""
    yield from schema.tables
    yield ViewStore.tracking_table
