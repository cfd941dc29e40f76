"""The view store layer: opened by several processes at once on a new database."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from patronage.bootstrap import eventsourcing_env
from patronage.config import Settings
from patronage.projections.catalog import PROJECTIONS
from patronage.projections.recorders import open_store, small_pool


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_many_openers_of_a_new_view_race_safely(settings: Settings) -> None:
    env = small_pool(eventsourcing_env(settings))

    def open_all(_: int) -> list[int]:
        # Each opener has its own pool, like the API and the workers starting together.
        positions = []
        for projection in PROJECTIONS.values():
            store = open_store(projection.schema, env)
            try:
                positions.append(store.position("Ledger"))
            finally:
                store.close()
        return positions

    with ThreadPoolExecutor(max_workers=3) as pool:
        opened = list(pool.map(open_all, range(3)))
    assert opened == [[0, 0, 0, 0]] * 3
