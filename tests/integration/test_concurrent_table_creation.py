"""PostgreSQL: processes that start at once (the service and its workers, several receipt
issuers) create a schema's tables one after another, under one advisory lock (storage.py's
`CREATION_LOCK`). Unserialised, the library's `CREATE OR REPLACE FUNCTION` of one process
failed with "tuple concurrently updated" while another created the same tables."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from patronage.application.keys import key_store_for
from patronage.application.ledger import Ledger
from patronage.bootstrap import eventsourcing_env
from patronage.config import Settings
from patronage.storage import CREATION_LOCK, DATA_KEYS_TABLE
from tests.support.polling import eventually
from tests.support.stores import POSTGRES_URL

pytestmark = pytest.mark.postgres

STARTING_AT_ONCE = 6


@pytest.fixture
def store(request: pytest.FixtureRequest) -> str:
    return "postgres"


def _ledger(settings: Settings) -> Ledger:
    return Ledger(env=eventsourcing_env(settings))


def _exists(schema: str, table: str) -> bool:
    with psycopg.connect(POSTGRES_URL) as conn:
        found = conn.execute("SELECT to_regclass(%s) IS NOT NULL", [f'"{schema}".{table}'])
        return bool(found.fetchone()[0])  # type: ignore[index]


def _waiting_for_the_lock(schema: str) -> bool:
    # An advisory lock's two keys show as classid and objid (unsigned).
    with psycopg.connect(POSTGRES_URL) as conn:
        waiting = conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            " AND objid::bigint = hashtext(%s)::bigint & 4294967295",
            [schema],
        )
        return bool(waiting.fetchone()[0])  # type: ignore[index]


def _created_only_once_the_lock_is_free(
    create: Callable[[], object], schema: str, table: str
) -> None:
    """`create` waits while another session holds the schema's creation lock, and creates
    `table` once it is released."""
    holder = psycopg.connect(POSTGRES_URL)
    try:
        holder.execute(CREATION_LOCK, [schema])
        with ThreadPoolExecutor(1) as pool:
            creation = pool.submit(create)
            eventually(lambda: _waiting_for_the_lock(schema), "the creator to wait for the lock")
            assert not creation.done()
            assert not _exists(schema, table)
            holder.commit()
            creation.result(timeout=60)
    finally:
        holder.close()
    assert _exists(schema, table)


def test_the_ledgers_tables_are_created_under_the_lock(settings: Settings) -> None:
    def create() -> None:
        _ledger(settings).close()

    _created_only_once_the_lock_is_free(create, settings.database_schema, "ledger_events")


def test_the_data_key_table_is_created_under_the_lock(settings: Settings) -> None:
    ledger = _ledger(settings)
    schema = settings.database_schema
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'DROP TABLE "{schema}".{DATA_KEYS_TABLE}')
    try:
        _created_only_once_the_lock_is_free(
            lambda: key_store_for(ledger.recorder, None, create_table=True),
            schema,
            DATA_KEYS_TABLE,
        )
    finally:
        ledger.close()


def test_ledgers_starting_at_once_on_a_new_schema_all_start(settings: Settings) -> None:
    start = threading.Barrier(STARTING_AT_ONCE)

    def start_ledger() -> Ledger:
        start.wait()
        return _ledger(settings)

    with ThreadPoolExecutor(STARTING_AT_ONCE) as pool:
        ledgers = list(pool.map(lambda _: start_ledger(), range(STARTING_AT_ONCE)))
    try:
        first = ledgers[0]
        assert first.identity_key == ledgers[-1].identity_key  # one key table, one key
    finally:
        for ledger in ledgers:
            ledger.close()
