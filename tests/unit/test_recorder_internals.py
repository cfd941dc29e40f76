"""The eventsourcing internals projections/recorders.py (the views' stores) and storage.py
(the Ledger's recorders, save steps and bulk read) rely on, checked by name, signature and
use: an upgrade of the library that moves any of them fails here, loudly, naming the module
to fix, before a view silently stops tracking its position, a webhook's data keys stop
being saved with its events, or a save stops taking snapshots. Re-read that module against
the new version, then update these checks."""

from __future__ import annotations

import inspect
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresDatastore,
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
from patronage.bootstrap import Patronage
from patronage.projections.recorders import datastore_of, open_store, store_class
from patronage.projections.store import ViewTx
from patronage.projections.ticker import SCHEMA
from patronage.storage import events_table_of, save_collected, select_stored_events

CHECKED_VERSION = "9.5.6"
VIEWS = "eventsourcing changed: fix src/patronage/projections/recorders.py (the views' stores)"
STORAGE = (
    "eventsourcing changed: fix src/patronage/storage.py (the Ledger's recorders, its save"
    " steps and its bulk read)"
)
WORKER = "eventsourcing changed: fix src/patronage/projections/worker.py (its LISTEN)"


def _parameters(function: object) -> list[str]:
    return list(inspect.signature(function).parameters)  # type: ignore[arg-type]


def test_the_library_is_the_version_these_checks_were_written_for() -> None:
    assert version("eventsourcing") == CHECKED_VERSION, (
        f"eventsourcing is no longer {CHECKED_VERSION}: re-check the modules that lean on its"
        " internals against it: src/patronage/storage.py (the Ledger's recorders, save steps"
        " and bulk read), src/patronage/projections/recorders.py (the views' stores) and"
        " src/patronage/projections/worker.py (its LISTEN); then update this module"
    )


@pytest.mark.parametrize(
    ("recorder", "cursor"), [(SQLiteTrackingRecorder, "c"), (PostgresTrackingRecorder, "curs")]
)
def test_private_tracking_methods_keep_their_signatures(recorder: Any, cursor: str) -> None:
    assert _parameters(recorder._insert_tracking) == ["self", cursor, "tracking"], VIEWS
    assert _parameters(recorder._max_tracking_id) == ["self", "application_name", cursor], VIEWS


def test_insert_events_hands_its_keyword_arguments_to_the_hooks_storage_uses() -> None:
    """storage.py inserts data keys in `_insert_stored_events` (PostgreSQL, inside the
    pipeline's error handling) and `_insert_events` (SQLite), given as `data_keys=`."""
    postgres = inspect.getsource(PostgresApplicationRecorder.insert_events)
    assert "self._insert_stored_events(curs, stored_events, **kwargs)" in postgres, STORAGE
    assert postgres.index("_insert_stored_events") < postgres.index("pipeline.sync()"), STORAGE
    sqlite = inspect.getsource(SQLiteApplicationRecorder.insert_events)
    assert "self._insert_events(c, stored_events, **kwargs)" in sqlite, STORAGE


def test_the_postgres_insert_steps_storage_repeats_are_the_lock_the_notify_and_the_insert() -> None:
    """storage.py replaces the PostgreSQL application recorder's `_insert_stored_events` with
    the same steps and a binary insert of the same columns: a step added there is missed."""
    steps = inspect.getsource(PostgresApplicationRecorder._insert_stored_events)
    body = [line.strip() for line in steps.splitlines()[-3:]]
    assert body == [
        "self._lock_table(curs)",
        "self._notify_channel(curs)",
        "super()._insert_stored_events(curs, stored_events, **kwargs)",
    ], STORAGE
    insert = inspect.getsource(PostgresAggregateRecorder._insert_stored_events)
    assert "self.insert_events_statement" in insert and "curs.execute(" in insert, STORAGE


@pytest.mark.parametrize(
    ("hook", "cursor"),
    [
        (PostgresApplicationRecorder._insert_stored_events, "curs"),
        (SQLiteApplicationRecorder._insert_events, "c"),
    ],
)
def test_the_insert_hooks_storage_overrides_take_a_cursor_events_and_keywords(
    hook: Any, cursor: str
) -> None:
    parameters = list(inspect.signature(hook).parameters.values())
    assert [p.name for p in parameters[:3]] == ["self", cursor, "stored_events"], STORAGE
    assert len(parameters) == 4, STORAGE
    assert parameters[3].kind is inspect.Parameter.VAR_KEYWORD, STORAGE


@pytest.mark.parametrize(
    "method",
    [
        PostgresAggregateRecorder.insert_events,
        PostgresAggregateRecorder.select_events,
        PostgresApplicationRecorder.insert_events,
        PostgresApplicationRecorder.select_events,
        PostgresApplicationRecorder.select_notifications,
        PostgresApplicationRecorder.max_notification_id,
        PostgresTrackingRecorder.insert_tracking,
        PostgresTrackingRecorder.max_tracking_id,
        PostgresTrackingRecorder.has_tracking_id,
    ],
)
def test_the_methods_storage_retries_fewer_times_unwrap_from_the_librarys_retry(
    method: Any,
) -> None:
    # storage.py's `_again` retries the undecorated method instead of the library's ten times.
    assert callable(getattr(method, "__wrapped__", None)), STORAGE


@pytest.mark.parametrize(
    "recorder", [PostgresAggregateRecorder, PostgresApplicationRecorder, PostgresTrackingRecorder]
)
def test_creation_runs_the_hook_storage_locks_in_inside_its_transaction(recorder: Any) -> None:
    # storage.py's `SerialCreation` takes its lock first in `_create_table(curs)`: the
    # transaction the library creates the tables, indexes and functions in.
    assert _parameters(recorder._create_table) == ["self", "curs"], STORAGE
    creation = inspect.getsource(PostgresRecorder.create_table)
    assert "self._create_table(curs)" in creation, STORAGE
    assert creation.rindex("transaction(commit=True)") < creation.index("self._create_table"), (
        STORAGE
    )


def test_the_save_steps_storage_calls_keep_their_signatures_and_order() -> None:
    """storage.save_collected is Application.save, step by step: the same steps, the same
    arguments, in the same order (its deprecated `notify`, a no-op, left out)."""
    assert _parameters(Application._record) == ["self", "processing_event"], STORAGE
    assert _parameters(Application._take_snapshots) == ["self", "processing_event"], STORAGE
    assert _parameters(Application._notify) == ["self", "recordings"], STORAGE
    steps = [
        "processing_event.collect_events(*objs, **kwargs)",
        "recordings = self._record(processing_event)",
        "self._take_snapshots(processing_event)",
        "self._notify(recordings)",
        "self.notify(processing_event.events)",
    ]
    save = inspect.getsource(Application.save)
    assert all(step in save for step in steps), STORAGE
    assert [save.index(step) for step in steps] == sorted(save.index(s) for s in steps), STORAGE


def test_a_processing_event_has_the_fields_storage_collects_into() -> None:
    collected: ProcessingEvent[Any] = ProcessingEvent()
    assert collected.events == [], STORAGE
    assert collected.aggregates == {}, STORAGE
    assert collected.saved_kwargs == {}, STORAGE
    assert collected.tracking is None, STORAGE
    assert _parameters(ProcessingEvent.collect_events) == ["self", "objs", "kwargs"], STORAGE


class _Counter(Aggregate):
    """A small aggregate for the save steps' check."""

    def __init__(self) -> None:
        self.count = 0

    @event("Counted")
    def count_one(self) -> None:
        self.count += 1


class _SnapshottingApp(Application[Any]):
    snapshotting_intervals = {_Counter: 2}


def test_save_collected_records_and_snapshots_as_the_librarys_save() -> None:
    app = _SnapshottingApp()
    counter = _Counter()
    counter.count_one()
    recordings = save_collected(app, counter, None)
    assert [r.domain_event.originator_version for r in recordings] == [1, 2], STORAGE
    assert app.snapshots is not None
    assert [s.originator_version for s in app.snapshots.get(counter.id)] == [2], STORAGE
    assert app.repository.get(counter.id).count == 1, STORAGE


class _Probe(Aggregate):
    """An aggregate to find again by the events table's columns."""


def test_the_events_table_has_the_columns_storage_selects(patronage: Patronage) -> None:
    ledger = patronage.ledger
    probe = _Probe()
    ledger.save(probe)
    try:
        rows = select_stored_events(ledger.recorder, [probe.id])
    except Exception as error:  # a renamed table or column: the statement fails
        pytest.fail(f"{STORAGE}: {error!r}")
    assert [(str(r["originator_id"]).replace("-", ""), r["originator_version"]) for r in rows] == [
        (probe.id.hex, 1)
    ], STORAGE
    assert rows[0]["topic"].endswith("_Probe.Created"), STORAGE
    assert bytes(rows[0]["state"]), STORAGE
    # The key rotation rewrites the table by this name (Ledger.rotate_cipher_key).
    recorder: Any = ledger.recorder
    with recorder.datastore.transaction(commit=False) as cursor:
        cursor.execute(f"SELECT COUNT(*) AS n FROM {events_table_of(recorder)}")  # noqa: S608
        assert tuple(dict(cursor.fetchone()).values()) == (1,), STORAGE


def test_a_postgres_recorder_names_the_channel_the_worker_listens_on() -> None:
    assert "self.channel_name = " in inspect.getsource(PostgresApplicationRecorder.__init__), WORKER
    assert _parameters(PostgresDatastore.get_connection) == ["self"], WORKER


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
