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
