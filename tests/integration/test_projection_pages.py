"""Catch-up in pages, on both stores: a page of events is one transaction (rows and position
together), and two catch-ups racing over the same events still apply each once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.utils import get_topic

from patronage.application.giving import RecordGift, SupporterDetails
from patronage.bootstrap import Patronage
from patronage.domain.gift import Gift
from patronage.domain.money import Money
from patronage.domain.values import Attribution
from patronage.projections import ticker
from patronage.projections.errors import EventFailedError
from patronage.projections.polling import PAGE, catch_up
from patronage.projections.store import ViewStore

GIFTS = 30


def give(patronage: Patronage, count: int) -> None:
    for n in range(count):
        give_one(patronage, f"pi_page_{n}", 100 + n)


def give_one(patronage: Patronage, payment: str, minor: int) -> None:
    patronage.giving.record_gift(
        RecordGift(
            payment,
            SupporterDetails(email=f"{payment}@example.org", name="Page"),
            Money(minor, "USD"),
            datetime(2026, 5, 1, tzinfo=UTC),
            Attribution(campaign="spring"),
        )
    )


@contextmanager
def write_transactions(store: ViewStore) -> Iterator[list[int]]:
    """How many committing transactions the view's store opens inside the block."""
    original = store.transaction
    commits: list[int] = []

    def counting(*, commit: bool) -> AbstractContextManager[Any]:
        if commit:
            commits.append(1)
        return original(commit=commit)

    store.transaction = counting  # type: ignore[method-assign]
    try:
        yield commits
    finally:
        store.transaction = original  # type: ignore[method-assign]


class _CountingCursor:
    """A cursor that notes each statement it is given."""

    def __init__(self, cursor: Any, noted: list[str]) -> None:
        self._cursor, self._noted = cursor, noted

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        self._noted.append("execute")
        return self._cursor.execute(*args, **kwargs)

    def executemany(self, *args: Any, **kwargs: Any) -> Any:
        self._noted.append("executemany")
        return self._cursor.executemany(*args, **kwargs)

    def copy(self, *args: Any, **kwargs: Any) -> Any:
        self._noted.append("copy")
        return self._cursor.copy(*args, **kwargs)


@contextmanager
def write_statements(store: ViewStore) -> Iterator[list[str]]:
    """The statements the view's store runs in committing transactions inside the block."""
    original = store.transaction
    noted: list[str] = []

    @contextmanager
    def counting(*, commit: bool) -> Iterator[Any]:
        with original(commit=commit) as cursor:
            yield _CountingCursor(cursor, noted) if commit else cursor

    store.transaction = counting  # type: ignore[method-assign]
    try:
        yield noted
    finally:
        store.transaction = original  # type: ignore[method-assign]


def total(patronage: Patronage) -> list[Money]:
    return ticker.raised(patronage.views.ticker, "spring").amounts


def test_catching_up_applies_a_page_of_events_in_one_transaction(patronage: Patronage) -> None:
    give(patronage, GIFTS)
    projection = patronage.views.projection("ticker")
    with write_transactions(projection.view) as commits:
        position = catch_up(patronage.ledger, projection)
    assert len(commits) == 1
    assert position == projection.view.position(patronage.ledger.name) > 0
    assert total(patronage) == [Money(sum(100 + n for n in range(GIFTS)), "USD")]
    raised = ticker.raised(patronage.views.ticker, "spring")
    assert (raised.gifts, raised.supporters) == (GIFTS, GIFTS)


@pytest.mark.parametrize("view", ["supporters", "register", "totals", "ticker"])
def test_a_page_of_new_givers_first_gifts_takes_as_many_statements_for_thirty_as_for_three(
    patronage: Patronage, view: str
) -> None:
    # A burst of first gifts alternates each giver's registration and their gift: the views
    # that keep a row per supporter fold both into one run, or each gift became a run of one.
    projection = patronage.views.projection(view)
    statements = []
    for givers, payment in ((3, "pi_few"), (30, "pi_many")):
        for n in range(givers):
            give_one(patronage, f"{payment}_{n}", 100 + n)
        with write_statements(projection.view) as noted:
            catch_up(patronage.ledger, projection)
        statements.append(len(noted))
    assert statements[0] == statements[1]


@pytest.mark.parametrize(
    ("gifts_before", "page_size"), [(3, PAGE), (9, 4)], ids=["in one page", "in pages read ahead"]
)
def test_an_event_failing_inside_a_folded_run_is_named_and_those_before_it_applied(
    patronage: Patronage, gifts_before: int, page_size: int
) -> None:
    give(patronage, gifts_before)
    before_poison = patronage.ledger.head()
    give_one(patronage, "pi_page_poison", 2**70)  # no integer column holds it
    give_one(patronage, "pi_page_after", 100)
    projection = patronage.views.projection("ticker")

    with pytest.raises(EventFailedError) as failed:
        catch_up(patronage.ledger, projection, page_size=page_size)

    assert failed.value.notification_id > before_poison
    assert failed.value.topic.endswith("Gift.Received")
    assert projection.view.position(patronage.ledger.name) <= before_poison
    assert total(patronage) == [Money(sum(100 + n for n in range(gifts_before)), "USD")]
    # A thread that read ahead is done before the failure reaches the caller, who may close
    # the Ledger next.
    assert not [t for t in threading.enumerate() if t.name.startswith("read-ahead")]


def test_a_catch_up_of_many_pages_reads_each_next_page_ahead_and_applies_each_event_once(
    patronage: Patronage,
) -> None:
    give(patronage, GIFTS)
    projection = patronage.views.projection("ticker")
    with write_transactions(projection.view) as commits:
        position = catch_up(patronage.ledger, projection, page_size=7)
    assert len(commits) == 5, "pages of 7, 7, 7, 7 and 2 events"
    assert position == projection.view.position(patronage.ledger.name)
    assert total(patronage) == [Money(sum(100 + n for n in range(GIFTS)), "USD")]
    assert ticker.raised(patronage.views.ticker, "spring").gifts == GIFTS


def test_an_event_that_does_not_decode_in_a_page_read_ahead_stops_the_view_there(
    patronage: Patronage,
) -> None:
    give(patronage, 9)
    received = get_topic(vars(Gift)["Received"])
    garbage = StoredEvent(uuid4(), 1, received, b"not an event")
    patronage.ledger.recorder.insert_events([garbage])
    give_one(patronage, "pi_page_after", 100)
    projection = patronage.views.projection("ticker")

    with pytest.raises(Exception) as failed:  # whatever decoding raised
        catch_up(patronage.ledger, projection, page_size=4)

    assert not isinstance(failed.value, IntegrityError)
    assert total(patronage) == [Money(sum(100 + n for n in range(9)), "USD")], "up to it"


def test_two_catch_ups_racing_apply_each_event_once(patronage: Patronage) -> None:
    give(patronage, GIFTS)
    racers = [
        threading.Thread(
            target=catch_up, args=(patronage.ledger, patronage.views.projection("ticker"))
        )
        for _ in range(2)
    ]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    raised = ticker.raised(patronage.views.ticker, "spring")
    assert raised.amounts == [Money(sum(100 + n for n in range(GIFTS)), "USD")]
    assert raised.gifts == GIFTS
