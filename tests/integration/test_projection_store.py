"""The view store layer: opened by several processes at once on a new database."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from eventsourcing.persistence import InfrastructureFactory, TrackingRecorder
from eventsourcing.utils import Environment

from patronage.bootstrap import eventsourcing_env
from patronage.config import Settings
from patronage.projections.catalog import PROJECTIONS
from patronage.projections.recorders import open_store, small_pool
from patronage.projections.store import COPY_ROWS, ViewSchema


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_many_openers_of_a_new_view_race_safely(settings: Settings) -> None:
    env = small_pool(eventsourcing_env(settings))

    def open_all(_: int) -> list[int]:
        # Each opener has its own pool, like the API and the workers starting together.
        factory = InfrastructureFactory[TrackingRecorder].construct(env=Environment("t", env))
        try:
            datastore = factory.datastore  # type: ignore[attr-defined]
            return [
                open_store(p.schema, postgres=settings.uses_postgres, datastore=datastore).position(
                    "Ledger"
                )
                for p in PROJECTIONS.values()
            ]
        finally:
            factory.close()

    with ThreadPoolExecutor(max_workers=3) as pool:
        opened = list(pool.map(open_all, range(3)))
    assert opened == [[0, 0, 0, 0]] * 3


ROWS = ViewSchema(
    "rows_test",
    {"items": "CREATE TABLE IF NOT EXISTS {items} (id INTEGER PRIMARY KEY, label TEXT NOT NULL)"},
)


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_rows_insert_alike_below_and_from_the_copy_threshold(settings: Settings) -> None:
    """A few rows go in one INSERT, a run of rows by COPY on PostgreSQL: the same rows."""
    factory = InfrastructureFactory[TrackingRecorder].construct(
        env=Environment("t", small_pool(eventsourcing_env(settings)))
    )
    try:
        datastore = factory.datastore  # type: ignore[attr-defined]
        view = open_store(ROWS, postgres=settings.uses_postgres, datastore=datastore)
        few = [{"id": n, "label": f"few {n}"} for n in range(3)]
        many = [{"id": n, "label": f"many {n}"} for n in range(10, 10 + COPY_ROWS)]
        with view.transaction(commit=True) as cursor:
            view.tx(cursor).insert_rows("items", few)
            view.tx(cursor).insert_rows("items", many)
        with view.read() as tx:
            stored = tx.all("SELECT id, label FROM {items} ORDER BY id")
        assert [(r["id"], r["label"]) for r in stored] == [
            (row["id"], row["label"]) for row in few + many
        ]
    finally:
        factory.close()
