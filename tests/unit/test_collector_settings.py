"""A process that catches views up collects cyclic garbage less often (polling.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from patronage.projections.polling import CATCH_UP_GC_THRESHOLD, collect_less_often


@pytest.fixture
def thresholds() -> Iterator[tuple[int, int, int]]:
    before = gc.get_threshold()
    yield before
    gc.set_threshold(*before)


def test_only_the_youngest_generation_is_collected_less_often(
    thresholds: tuple[int, int, int],
) -> None:
    collect_less_often()
    assert gc.get_threshold() == (CATCH_UP_GC_THRESHOLD, *thresholds[1:])
    assert thresholds[0] < CATCH_UP_GC_THRESHOLD, "less often than Python's default"
