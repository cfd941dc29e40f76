"""PostgreSQL: the Ledger's reads of a list of aggregates, the data keys' statements and the
views' writes go by key even before the tables have statistics (a new or restored database,
or autovacuum off), where the planner guessed that a list of keys matched much of a table
and scanned all of it (storage.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any
from uuid import UUID

import pytest
from psycopg.sql import SQL, Composed, Identifier

from patronage.bootstrap import Patronage
from patronage.storage import (
    INDEX_LOOKUPS,
    by_key,
    events_of,
    select_stored_events,
    which_exist,
)

ROWS = 5000
ASKED = 100


def _plan(cursor: Any, statement: Composed, ids: list[UUID]) -> str:
    cursor.execute(SQL("EXPLAIN ") + statement, [ids])
    return "\n".join(str(next(iter(row.values()))) for row in cursor.fetchall())


def _by_primary_key(plan: str) -> bool:
    return "Seq Scan" not in plan and "ledger_events_pkey" in plan


@pytest.fixture
def unanalysed(patronage: Patronage) -> tuple[Any, str, str, list[UUID]]:
    """The Ledger's events table with many rows and no statistics, and some of its ids."""
    datastore = patronage.ledger.recorder.datastore
    schema, table = datastore.schema, patronage.ledger.recorder.events_table_name
    with datastore.transaction(commit=True) as cursor:
        # Kept so on a server whose autovacuum would analyse it meanwhile.
        cursor.execute(
            SQL("ALTER TABLE {}.{} SET (autovacuum_enabled = false)").format(
                Identifier(schema), Identifier(table)
            )
        )
        cursor.execute(
            SQL(
                "INSERT INTO {}.{} (originator_id, originator_version, topic, state)"
                " SELECT gen_random_uuid(), 1, 'x', '\\x00'::bytea FROM generate_series(1, %s)"
            ).format(Identifier(schema), Identifier(table)),
            [ROWS],
        )
        cursor.execute(
            SQL("SELECT originator_id FROM {}.{} LIMIT %s").format(
                Identifier(schema), Identifier(table)
            ),
            [ASKED],
        )
        ids = [row["originator_id"] for row in cursor.fetchall()]
        cursor.execute(
            "SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [f'"{schema}".{table}']
        )
        assert cursor.fetchone()["reltuples"] < 0  # never analysed
    return datastore, schema, table, ids


@pytest.mark.parametrize("store", ["postgres"])
def test_the_ledgers_reads_by_id_use_the_primary_key_without_statistics(
    unanalysed: tuple[Any, str, str, list[UUID]],
) -> None:
    datastore, schema, table, ids = unanalysed
    with datastore.transaction(commit=False) as cursor:
        # Left to its guesses, the planner scans the whole table for the bulk read.
        assert "Seq Scan" in _plan(cursor, events_of(schema, table), ids)
        # The save's question is one probe of the primary key per id, settings or not.
        assert _by_primary_key(_plan(cursor, which_exist(schema, table, "uuid"), ids))
        cursor.execute(which_exist(schema, table, "uuid"), [[*ids[:3], UUID(int=7)]])
        assert {row["originator_id"] for row in cursor.fetchall()} == set(ids[:3])
    with by_key(datastore)(commit=False) as cursor:
        assert _by_primary_key(_plan(cursor, events_of(schema, table), ids))
        cursor.execute(events_of(schema, table), [ids[:2]])
        assert {row["originator_id"] for row in cursor.fetchall()} == set(ids[:2])


class _Recording:
    """A datastore whose transactions note every statement they run (and run it)."""

    def __init__(self, datastore: Any) -> None:
        self.schema = datastore.schema
        self._datastore = datastore
        self.statements: list[Any] = []

    @contextmanager
    def transaction(self, *, commit: bool) -> Iterator[Any]:
        with self._datastore.transaction(commit=commit) as cursor:
            yield _NotingCursor(cursor, self.statements)


class _NotingCursor:
    def __init__(self, cursor: Any, noted: list[Any]) -> None:
        self._cursor, self._noted = cursor, noted

    def execute(self, statement: Any, *args: Any) -> Any:
        self._noted.append(statement)
        return self._cursor.execute(statement, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


@pytest.mark.parametrize("store", ["postgres"])
def test_the_ledgers_bulk_read_runs_after_the_settings(
    unanalysed: tuple[Any, str, str, list[UUID]],
) -> None:
    datastore, _schema, table, ids = unanalysed
    recording = _Recording(datastore)
    rows = select_stored_events(
        SimpleNamespace(datastore=recording, events_table_name=table), ids[:2]
    )
    assert {row["originator_id"] for row in rows} == set(ids[:2])
    assert recording.statements[0] == INDEX_LOOKUPS


def _seqscan(transaction: Any, commit: bool) -> str:
    with transaction(commit=commit) as cursor:
        cursor.execute("SHOW enable_seqscan")
        return str(next(iter(cursor.fetchone().values())))


@pytest.mark.parametrize("store", ["postgres"])
def test_the_data_keys_and_the_views_writes_find_rows_by_key(patronage: Patronage) -> None:
    datastore = patronage.ledger.recorder.datastore
    assert _seqscan(datastore.transaction, commit=False) == "on"  # the settings are local
    assert _seqscan(by_key(datastore), commit=False) == "off"
    assert _seqscan(by_key(datastore), commit=True) == "off"
    assert _seqscan(datastore.transaction, commit=False) == "on"
    for name, view in patronage.views.stores.items():
        assert _seqscan(view.transaction, commit=True) == "off", name
        assert _seqscan(view.transaction, commit=False) == "on", name  # staff pages' reads
    keys = patronage.ledger.keys
    assert _seqscan(keys._transaction, commit=False) == "off"
