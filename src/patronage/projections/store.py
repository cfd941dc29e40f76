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

import dataclasses
import functools
import re
from abc import abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, fields
from datetime import date, timedelta
from operator import itemgetter
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

from eventsourcing.persistence import Tracking, TrackingRecorder

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Row = dict[str, Any]
Shape = TypeVar("Shape", bound="DataclassInstance")
_PARAM = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")


def from_row(shape: type[Shape], row: Row, **columns: str) -> Shape:
    """A view's row as a dataclass: each field from the column of its name (or the column
    `columns` names for it). Whole numbers come back as int whatever the driver returns (a
    SUM is a Decimal on PostgreSQL), flags as bool, and an absent text as ""."""
    values: dict[str, Any] = {}
    for field in fields(shape):
        value = row[columns.get(field.name, field.name)]
        kind = field.type if isinstance(field.type, str) else field.type.__name__
        if kind == "int":
            value = int(value)
        elif kind == "bool":
            value = bool(value)
        elif kind == "str" and value is None:
            value = ""
        values[field.name] = value
    return shape(**values)


class Where:
    """A view query's WHERE clause, built a condition at a time with its parameters. A
    condition given a parameter that is None is left out (the filter was not asked for); no
    condition at all matches every row."""

    def __init__(self, *clauses: str, **params: Any) -> None:
        self.clauses = list(clauses)
        self.params: dict[str, Any] = params

    def add(self, clause: str, **params: Any) -> None:
        """`clause`, naming its parameters `:name`, unless one of their values is None."""
        if None not in params.values():
            self.clauses.append(clause)
            self.params.update(params)

    def equal(self, alias: str = "", /, **values: Any) -> None:
        """`column = value` (of the table `alias`, when given) for each value not None."""
        prefix = f"{alias}." if alias else ""
        for column, value in values.items():
            self.add(f"{prefix}{column} = :{column}", **{column: value})

    @property
    def sql(self) -> str:
        return " AND ".join(self.clauses) or "1 = 1"


@dataclass(frozen=True)
class DayRange:
    """Filters on the day something happened, from `since` to `until`, each day inclusive
    and either end open. Subclasses add their own filters after these two."""

    since: date | None = None
    until: date | None = None  # inclusive

    def days_of(self, column: str) -> Where:
        """The range on `column`, a day or an ISO timestamp (its text sorts by time)."""
        after_until = self.until and (self.until + timedelta(days=1)).isoformat()
        where = Where()
        where.add(f"{column} >= :since", since=self.since and self.since.isoformat())
        where.add(f"{column} < :until", until=after_until)
        return where


@dataclass(frozen=True)
class Takings:
    """Money in minor units of one currency: taken, refunded, and lost to disputes.
    Subclasses add what they count it by."""

    gross: int
    refunded: int
    lost: int

    @property
    def net(self) -> int:
        return self.gross - self.refunded - self.lost


@dataclass(frozen=True)
class Index:
    """A secondary index `<table>_<name>` on a view's table."""

    table: str
    name: str
    columns: str


@dataclass(frozen=True)
class ViewSchema:
    """A view's tables: logical name -> DDL (with `{name}` placeholders); and their
    secondary indexes, by table: index name -> its columns."""

    name: str
    tables: Mapping[str, str]
    indexes: Mapping[str, Mapping[str, str]] = dataclasses.field(default_factory=dict)

    def all_indexes(self) -> Iterator[Index]:
        for table, named in self.indexes.items():
            for name, columns in named.items():
                yield Index(table, name, columns)


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
        return _rendered(self, sql, tuple(tables))


# From this many rows an insert without a conflict clause goes by COPY (a catch-up's runs):
# a few rows (a worker following new events) go faster in one INSERT, since a COPY costs
# two round trips of its own.
COPY_ROWS = 100


# A view renders the same few statements on every transaction: a worker following a burst
# of webhooks spent a tenth of its time rendering them again.
@functools.lru_cache(maxsize=4096)
def _rendered(dialect: Dialect, sql: str, tables: tuple[str, ...]) -> str:
    text = sql.format(**{table: dialect.qualified(table) for table in tables})
    return _PARAM.sub(r"%(\1)s", text) if dialect.is_postgres else text


def adding(key: str, *columns: str) -> str:
    """The ON CONFLICT clause of an insert (`insert_rows`) that adds its `columns` to the
    existing row of the same `key` (its columns, comma-separated)."""
    sums = ", ".join(f"{column} = cur.{column} + excluded.{column}" for column in columns)
    return f"ON CONFLICT ({key}) DO UPDATE SET {sums}"


class Sums:
    """Rows by key whose amounts add up: what a run of events adds to a table, as one row
    per key, which an insert that updates on conflict (`adding`) requires."""

    def __init__(self) -> None:
        self._rows: dict[tuple[Any, ...], Row] = {}

    def add(self, key: Row, **amounts: int) -> None:
        values = tuple(key.values())
        row = self._rows.get(values)
        if row is None:
            row = self._rows[values] = key | dict.fromkeys(amounts, 0)
        for column, amount in amounts.items():
            row[column] += amount

    @property
    def rows(self) -> list[Row]:
        return list(self._rows.values())


def _array_type(values: list[Any]) -> str:
    """PostgreSQL's array type for a column's values: whole numbers or text (the views keep
    times as ISO text); the server casts them to the column's own type on insert."""
    first = next((value for value in values if value is not None), "")
    return "bigint[]" if isinstance(first, int) else "text[]"


def _column_arrays(rows: Sequence[Row], names: list[str]) -> tuple[str, dict[str, list[Any]]]:
    """PostgreSQL's parameters for `unnest`: one array per column, and their placeholders,
    sent in binary (psycopg's `%(name)b`), so text arrays need no quoting."""
    columns = {name: [row[name] for row in rows] for name in names}
    arrays = ", ".join(f"%({name})b::{_array_type(columns[name])}" for name in names)
    return arrays, columns


class ViewTx:
    """One open transaction of a view: run statements, read rows back."""

    def __init__(
        self, cursor: Any, render: Callable[[str], str], *, postgres: bool = False
    ) -> None:
        self._cursor = cursor
        self._render = render
        self._postgres = postgres

    def run(self, sql: str, **params: Any) -> None:
        self._cursor.execute(self._render(sql), params)

    def insert(self, table: str, **values: Any) -> None:
        """Insert one row into a view's table (its logical name), a value per column."""
        columns, params = ", ".join(values), ", ".join(f":{column}" for column in values)
        self.run(f"INSERT INTO {{{table}}} ({columns}) VALUES ({params})", **values)

    def insert_rows(self, table: str, rows: Sequence[Row], on_conflict: str = "") -> None:
        """Insert rows of the same columns with one statement, where `insert` makes one per
        row. `on_conflict` ends the statement; it names the existing row `cur`, and a
        statement that updates on conflict must be given one row per key."""
        if not rows:
            return
        names = list(rows[0])
        if self._postgres and not on_conflict and len(rows) >= COPY_ROWS:
            # COPY: the rows stream in, each formatted by psycopg's compiled code, where
            # dumping a column array is Python for every value.
            pick = itemgetter(*names)  # a row's values in column order (one: not a tuple)
            copy_in = f"COPY {{{table}}} ({', '.join(names)}) FROM STDIN"
            with self._cursor.copy(self._render(copy_in)) as copy:
                for row in rows:
                    values = pick(row)
                    copy.write_row(values if len(names) > 1 else (values,))
            return
        into = f"INSERT INTO {{{table}}} AS cur ({', '.join(names)})"
        if self._postgres:  # one parameter per column: the server unpacks the rows
            arrays, columns = _column_arrays(rows, names)
            sql = f"{into} SELECT * FROM unnest({arrays}) {on_conflict}"
            self._cursor.execute(self._render(sql), columns)
        else:  # SQLite binds each row to the one prepared statement
            values = ", ".join(f":{name}" for name in names)
            self._cursor.executemany(self._render(f"{into} VALUES ({values}) {on_conflict}"), rows)

    def update_rows(self, table: str, rows: Sequence[Row], key: str, assignments: str) -> None:
        """Update, with one statement, the row of `table` whose `key` column equals each
        given row's: `assignments` set columns from the existing row `cur` and the given
        row `v` ("n = cur.n + v.n"). One given row per key; a key with no row changes
        nothing."""
        if not rows:
            return
        names = list(rows[0])
        update = f"UPDATE {{{table}}} AS cur SET {assignments} FROM"
        match = f"WHERE cur.{key} = v.{key}"
        if self._postgres:  # one parameter per column, as `insert_rows`
            arrays, columns = _column_arrays(rows, names)
            given = f"unnest({arrays}) AS v({', '.join(names)})"
            self._cursor.execute(self._render(f"{update} {given} {match}"), columns)
        else:  # SQLite binds each row to the one prepared statement
            given = "(SELECT " + ", ".join(f":{name} AS {name}" for name in names) + ") AS v"
            self._cursor.executemany(self._render(f"{update} {given} {match}"), rows)

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
    """What every view's store offers, on either database. The concrete stores, which lean
    on the library's SQLite and PostgreSQL recorders, are in recorders.py."""

    schema: ClassVar[ViewSchema]
    dialect: Dialect
    tracking_table: ClassVar[str] = "tracking"
    # How many events a catch-up applies in one transaction: more makes fewer, larger
    # statements (folds, see base.py); a transaction stays short, so a worker stopped mid
    # catch-up loses little work.
    events_per_transaction: ClassVar[int] = 5000

    @abstractmethod
    def transaction(self, *, commit: bool) -> AbstractContextManager[Any]:
        """A transaction on the view's database; yields a cursor."""

    @abstractmethod
    def track_in(self, cursor: Any, tracking: Tracking) -> None:
        """Advance the view's position within an open transaction; IntegrityError when the
        position was applied already."""

    @abstractmethod
    def position_in(self, cursor: Any, application_name: str) -> int:
        """The view's position, read within an open transaction."""

    def _tables(self) -> dict[str, str]:
        return {**self.schema.tables, self.tracking_table: ""}

    def render(self, sql: str) -> str:
        return self.dialect.render(sql, self._tables())

    def tx(self, cursor: Any) -> ViewTx:
        """The view's statements within an open transaction of this store."""
        return ViewTx(cursor, self.render, postgres=self.dialect.is_postgres)

    def view_ddl(self) -> list[str]:
        tables = [self.render(ddl) for ddl in self.schema.tables.values()]
        return tables + [self.dialect.create_index(index) for index in self.schema.all_indexes()]

    def apply(self, tracking: Tracking, change: Callable[[ViewTx], None]) -> None:
        """Advance the position and change the rows in one transaction, or neither."""
        with self.transaction(commit=True) as cursor:
            self.apply_in(cursor, tracking, change)

    def apply_in(self, cursor: Any, tracking: Tracking, change: Callable[[ViewTx], None]) -> None:
        """Apply within an open transaction. The tracking insert comes first: it takes the
        write lock, and an event already applied fails there (IntegrityError) before any
        row is touched."""
        self.track_in(cursor, tracking)
        change(self.tx(cursor))

    @contextmanager
    def write(self) -> Iterator[ViewTx]:
        """A transaction that commits its changes, for tables no event feeds (counters)."""
        with self.transaction(commit=True) as cursor:
            yield self.tx(cursor)

    @contextmanager
    def read(self) -> Iterator[ViewTx]:
        """A read-only transaction: the rows a reader sees are of one moment."""
        with self.transaction(commit=False) as cursor:
            yield self.tx(cursor)

    def position(self, application_name: str) -> int:
        return self.max_tracking_id(application_name) or 0


class StoreOpener(Protocol):
    """Opens a view's store (under `suffix`, for a rebuild) on the database the composition
    root chose."""

    def __call__(self, schema: ViewSchema, suffix: str = "") -> ViewStore: ...


def iter_tables(schema: ViewSchema) -> Iterator[str]:
    """Every table a view owns (logical names), its tracking table included."""
    yield from schema.tables
    yield ViewStore.tracking_table
