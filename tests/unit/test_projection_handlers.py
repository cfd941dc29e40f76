"""A view's handlers are chosen by event class, and their classes' topics filter the log."""

from __future__ import annotations

from typing import Any

import pytest
from eventsourcing.utils import get_topic

from patronage.domain.gift import Gift
from patronage.projections.base import Handlers, event_class
from patronage.projections.store import ViewTx
from patronage.projections.totals import TotalsProjection


def test_handlers_run_by_class_in_the_order_registered() -> None:
    seen: list[str] = []
    first, second = Handlers(), Handlers()
    first.on(Gift, "Refunded")(lambda _tx, _e: seen.append("facts"))
    second.extend(first)
    second.on(Gift, "Refunded")(lambda _tx, _e: seen.append("view"))

    refunded: Any = object.__new__(event_class(Gift, "Refunded"))
    received: Any = object.__new__(event_class(Gift, "Received"))
    tx: Any = ViewTx(cursor=None, render=str)
    second.dispatch(tx, refunded)
    second.dispatch(tx, received)  # no handler: nothing runs

    assert seen == ["facts", "view"]
    assert second.topics == (get_topic(event_class(Gift, "Refunded")),)


def test_a_misspelt_event_fails_at_registration() -> None:
    with pytest.raises(TypeError, match="Gift has no event named 'Refundd'"):
        Handlers().on(Gift, "Refundd")


def test_a_view_follows_exactly_the_topics_of_its_event_classes() -> None:
    assert get_topic(event_class(Gift, "ReceivedAtCorrected")) in TotalsProjection.topics
    assert all(":" in topic for topic in TotalsProjection.topics)
    assert not any("InboxEvent" in topic for topic in TotalsProjection.topics)


class _Recorded:
    """A fold that records what it was given and when it wrote."""

    def __init__(self, log: list[str]) -> None:
        self.log = log
        self.events = 0

    def add(self, _event: Any) -> None:
        self.events += 1

    def write(self, _tx: ViewTx) -> None:
        self.log.append(f"fold of {self.events}")


def test_a_page_folds_each_run_of_its_events_and_keeps_log_order() -> None:
    log: list[str] = []
    handlers = Handlers()
    handlers.on(Gift, "Received")(lambda _tx, _e: log.append("received alone"))
    handlers.on(Gift, "Refunded")(lambda _tx, _e: log.append("refunded"))
    handlers.fold(Gift, "Received")(lambda: _Recorded(log))
    received: Any = object.__new__(event_class(Gift, "Received"))
    refunded: Any = object.__new__(event_class(Gift, "Refunded"))
    tx: Any = ViewTx(cursor=None, render=str)

    handlers.dispatch_all(tx, [received, received, refunded, received])
    assert log == ["fold of 2", "refunded", "fold of 1"]

    log.clear()
    handlers.dispatch(tx, received)  # an event alone still goes through its handlers
    assert log == ["received alone"]


def test_a_fold_needs_the_handlers_it_stands_for() -> None:
    with pytest.raises(TypeError, match=r"folds Gift\.Refunded, which has no handler"):
        Handlers().fold(Gift, "Refunded")(_Recorded)
