"""The ask from memory, on both stores: while the background refresh runs, answering asks
opens no database transaction at all (no Ledger read, no view read, no view-count write);
what asks show changes when a refresh runs, and the views they counted are kept."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

from fastapi.testclient import TestClient

from patronage.api.app import create_app
from patronage.application.campaigns import CampaignSettings
from patronage.application.giving import RecordGift, SupporterDetails
from patronage.bootstrap import Patronage, bootstrap
from patronage.config import Settings
from patronage.domain.campaign import Targeting
from patronage.domain.money import Money
from patronage.domain.values import Attribution
from patronage.projections.recorders import datastore_of
from tests.support.campaigns import variant
from tests.support.projections import catch_up_all

ASK = {"page": {"article_id": "a-1"}, "reader": {"reader_id": "r-1", "country": "US"}}


@contextmanager
def database_calls(patronage: Patronage) -> Iterator[list[str]]:
    """Every transaction or pooled connection the process opens inside the block (the
    Ledger, the views and the view counts all go through this one datastore)."""
    datastore: Any = datastore_of(patronage.ledger)
    calls: list[str] = []
    names = [n for n in ("transaction", "get_connection") if hasattr(datastore, n)]
    originals = {name: getattr(datastore, name) for name in names}

    def counting(name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            return originals[name](*args, **kwargs)

        return call

    for name in names:
        setattr(datastore, name, counting(name))
    try:
        yield calls
    finally:
        for name, original in originals.items():
            setattr(datastore, name, original)


def start_campaign(patronage: Patronage, code: str, goal: bool) -> None:
    patronage.campaigns.create(
        CampaignSettings(
            code, code.title(), 1, Targeting(), Money(1_000_000, "USD") if goal else None
        ),
        [variant("control")],
        by="test",
    )
    patronage.campaigns.start(code, by="test")


def test_asks_open_no_transaction_while_the_memory_is_refreshed_in_the_background(
    settings: Settings,
) -> None:
    # The ticker from the first cent (PATRONAGE_TICKER_FROM_BP=0): its refresh is the subject.
    quiet = settings.model_copy(update={"campaign_check_seconds": 0.0, "ticker_from_bp": 0})
    patronage = bootstrap(quiet)
    try:
        start_campaign(patronage, "spring", goal=True)
        memory = patronage.ask_memory
        memory.take_over()
        memory.refresh()
        client = TestClient(create_app(patronage))  # no lifespan: this test refreshes
        head = patronage.ledger.head()
        with database_calls(patronage) as calls:
            answers = [client.post("/asks", json=ASK).json() for _ in range(50)]
        assert calls == []
        assert {a["kind"] for a in answers} == {"ask"}
        assert answers[0]["ask"]["ticker"]["raised"]["minor"] == 0
        memory.impressions.flush()
        assert patronage.impressions.views("spring", date.today()) == {"control": 50}
        assert patronage.ledger.head() == head  # counting views wrote nothing to the Ledger
    finally:
        patronage.close()


def test_a_refresh_brings_new_campaigns_and_money_raised_into_the_asks(
    settings: Settings,
) -> None:
    now = settings.model_copy(
        update={"campaign_check_seconds": 0.0, "ticker_refresh_seconds": 0.0, "ticker_from_bp": 0}
    )
    patronage = bootstrap(now)
    try:
        patronage.ask_memory.take_over()
        client = TestClient(create_app(patronage))
        other = bootstrap(now)  # another API process creates the campaign
        try:
            start_campaign(other, "autumn", goal=True)
        finally:
            other.close()
        assert client.post("/asks", json=ASK).json()["kind"] == "none"  # memory only
        patronage.ask_memory.refresh()
        assert client.post("/asks", json=ASK).json()["ask"]["ticker"]["raised"]["minor"] == 0
        patronage.giving.record_gift(
            RecordGift(
                payment_id="pi_autumn",
                supporter=SupporterDetails(email="ada@example.org", name="Ada"),
                amount=Money(2500, "USD"),
                received_at=datetime.now(UTC),
                attribution=Attribution(article_id="a-1", campaign="autumn", variant="control"),
            )
        )
        catch_up_all(patronage)
        assert client.post("/asks", json=ASK).json()["ask"]["ticker"]["raised"]["minor"] == 0
        patronage.ask_memory.refresh()
        assert client.post("/asks", json=ASK).json()["ask"]["ticker"]["raised"]["minor"] == 2500
    finally:
        patronage.close()
