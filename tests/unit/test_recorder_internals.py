"""The eventsourcing internals projections/recorders.py and storage.py rely on, checked by
name and signature: an upgrade of the library that moves any of them fails here, loudly,
before a view silently stops tracking its position or a webhook's data keys stop being
saved with its events. Re-read those modules against the new version, then update these
checks."""

from __future__ import annotations

import inspect
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.postgres import (
    PostgresApplicationRecorder,
    PostgresRecorder,
    PostgresTrackingRecorder,
)
from eventsourcing.projection import ProjectionRunner
from eventsourcing.sqlite import (
    SQLiteApplicationRecorder,
    SQLiteDatastore,
    SQLiteFactory,
    SQLiteTrackingRecorder,
)

from patronage.application.ledger import Ledger
from patronage.projections.recorders import datastore_of, open_store, store_class
from patronage.projections.store import ViewTx
from patronage.projections.ticker import SCHEMA

CHECKED_VERSION = "9.5.6"


def _parameters(function: object) -> list[str]:
    return list(inspect.signature(function).parameters)  # type: ignore[arg-type]


def test_the_library_is_the_version_these_checks_were_written_for() -> None:
    assert version("eventsourcing") == CHECKED_VERSION, (
        "eventsourcing changed: re-check projections/recorders.py against it"
    )


@pytest.mark.parametrize(
    ("recorder", "cursor"), [(SQLiteTrackingRecorder, "c"), (PostgresTrackingRecorder, "curs")]
)
def test_private_tracking_methods_keep_their_signatures(recorder: Any, cursor: str) -> None:
    assert _parameters(recorder._insert_tracking) == ["self", cursor, "tracking"]
    assert _parameters(recorder._max_tracking_id) == ["self", "application_name", cursor]


def test_insert_events_hands_its_keyword_arguments_to_the_hooks_storage_uses() -> None:
    """storage.py inserts data keys in `_insert_stored_events` (PostgreSQL, inside the
    pipeline's error handling) and `_insert_events` (SQLite), given as `data_keys=`."""
    postgres = inspect.getsource(PostgresApplicationRecorder.insert_events)
    assert "self._insert_stored_events(curs, stored_events, **kwargs)" in postgres
    assert postgres.index("_insert_stored_events") < postgres.index("pipeline.sync()")
    sqlite = inspect.getsource(SQLiteApplicationRecorder.insert_events)
    assert "self._insert_events(c, stored_events, **kwargs)" in sqlite


def test_sqlite_recorder_keeps_its_statements_in_attributes(tmp_path: Path) -> None:
    recorder = SQLiteTrackingRecorder(SQLiteDatastore(str(tmp_path / "db.sqlite3")))
    # Single-row tracking: the only form whose INSERT ... RETURNING refuses a repeat.
    assert recorder.datastore.single_row_tracking
    assert "RETURNING notification_id" in recorder.insert_tracking_statement
    assert recorder.select_max_tracking_id_statement.startswith("SELECT MAX(notification_id)")
    assert recorder.table_migration_identifier == "__migration__"
    assert _parameters(recorder.construct_create_table_statements) == []


def test_postgres_recorder_takes_a_tracking_table_and_lists_its_create_statements() -> None:
    assert "tracking_table_name" in _parameters(PostgresTrackingRecorder.__init__)
    assert "self.sql_create_statements" in inspect.getsource(PostgresRecorder.__init__)
    assert "self.table_migration_identifier" in inspect.getsource(PostgresTrackingRecorder.__init__)


def test_factory_and_runner_construct_a_view_from_its_class_and_datastore() -> None:
    # Why store_class makes a class per view: the library passes nothing but the datastore.
    assert "tracking_recorder_class(datastore=self.datastore)" in inspect.getsource(
        SQLiteFactory.tracking_recorder
    )
    assert "view_class" in _parameters(ProjectionRunner.__init__)


def test_a_view_store_built_on_them_applies_a_position_once(tmp_path: Path) -> None:
    datastore = SQLiteDatastore(str(tmp_path / "v.db"))
    store = open_store(SCHEMA, postgres=False, datastore=datastore)
    assert isinstance(store, store_class(SCHEMA, postgres=False))

    def change(tx: ViewTx) -> None:
        tx.run("INSERT INTO {backers} VALUES ('spring', 's1')")

    store.apply(Tracking("Ledger", 7), change)
    with pytest.raises(IntegrityError):
        store.apply(Tracking("Ledger", 7), change)
    assert store.position("Ledger") == 7
    with store.transaction(commit=False) as cursor:
        assert store.position_in(cursor, "Ledger") == 7
    with store.read() as tx:
        assert tx.value("SELECT COUNT(*) FROM {backers}") == 1


def test_views_share_the_pool_of_the_applications_recorder(tmp_path: Path) -> None:
    ledger = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                         "SQLITE_DBNAME": str(tmp_path / "l.db")})  # fmt: skip
    try:
        assert isinstance(datastore_of(ledger), SQLiteDatastore)
    finally:
        ledger.close()
    assert "self.datastore = datastore" in inspect.getsource(PostgresRecorder.__init__)
