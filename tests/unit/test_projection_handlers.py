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
