"""Bulk work collects cyclic garbage less often (collector.py): a view worker and the
service's process for their whole life, a year end for its own duration."""

from __future__ import annotations

import gc
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest
from fastapi import FastAPI

from patronage.api.serving import serve
from patronage.collector import BULK_GC_THRESHOLD, collect_less_often, collecting_less_often


@pytest.fixture
def thresholds() -> Iterator[tuple[int, int, int]]:
    before = gc.get_threshold()
    yield before
    gc.set_threshold(*before)


def test_only_the_youngest_generation_is_collected_less_often(
    thresholds: tuple[int, int, int],
) -> None:
    collect_less_often()
    assert gc.get_threshold() == (BULK_GC_THRESHOLD, *thresholds[1:])
    assert thresholds[0] < BULK_GC_THRESHOLD, "less often than Python's default"


def test_a_piece_of_bulk_work_raises_the_threshold_and_puts_it_back(
    thresholds: tuple[int, int, int],
) -> None:
    with collecting_less_often():
        assert gc.get_threshold() == (BULK_GC_THRESHOLD, *thresholds[1:])
    assert gc.get_threshold() == thresholds


def test_it_is_put_back_even_when_the_work_fails(thresholds: tuple[int, int, int]) -> None:
    with pytest.raises(RuntimeError), collecting_less_often():
        raise RuntimeError("the database went away")
    assert gc.get_threshold() == thresholds


def test_overlapping_pieces_put_it_back_only_when_the_last_ends(
    thresholds: tuple[int, int, int],
) -> None:
    """Two year-end jobs of one API process, in two threads: the first to end must not
    put the default back under the other."""
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: list[int] = []

    def first() -> None:
        with collecting_less_often():
            first_in.set()
            second_in.wait()
        first_out.set()

    def second() -> None:
        first_in.wait()
        with collecting_less_often():
            second_in.set()
            first_out.wait()
            seen.append(gc.get_threshold()[0])

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == [BULK_GC_THRESHOLD]
    assert gc.get_threshold() == thresholds


def test_a_process_that_already_collects_less_often_keeps_its_setting(
    thresholds: tuple[int, int, int],
) -> None:
    gc.set_threshold(BULK_GC_THRESHOLD * 2, *thresholds[1:])
    with collecting_less_often():
        assert gc.get_threshold()[0] == BULK_GC_THRESHOLD * 2
    assert gc.get_threshold()[0] == BULK_GC_THRESHOLD * 2


def test_the_service_process_collects_less_often(thresholds: tuple[int, int, int]) -> None:
    """`serve` (patronage serve, the demo, the bench's reference) sets it before the app
    starts: the app's start records it, then fails, so that uvicorn stops at once."""
    seen: list[int] = []

    @asynccontextmanager
    async def starting(app: FastAPI) -> AsyncIterator[None]:
        seen.append(gc.get_threshold()[0])
        raise RuntimeError("stop here")
        yield

    with pytest.raises(SystemExit):
        serve(FastAPI(lifespan=starting), "127.0.0.1", 0)
    assert seen == [BULK_GC_THRESHOLD]
