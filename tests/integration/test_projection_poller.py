"""SQLite: the service keeps the views itself with an in-process poller, started and
stopped by the app's lifespan; reads after a staff action wait for it (read-your-writes)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError, Tracking
from fastapi.testclient import TestClient

from patronage.api.app import create_app
from patronage.application.giving import RecordGift, SupporterDetails
from patronage.bootstrap import Patronage, bootstrap, rebuild_view
from patronage.config import Settings
from patronage.domain.gift import gift_id_for
from patronage.domain.money import Money
from patronage.domain.values import Attribution
from patronage.projections import supporters, ticker
from patronage.projections.polling import catch_up, pending
from tests.support.projections import expected, seed_many

STAFF = {"Authorization": "Bearer staff-key-for-tests"}


def _give(patronage: Patronage, n: int) -> None:
    patronage.giving.record_gift(
        RecordGift(
            f"pi_live_{n}",
            SupporterDetails(email=f"live{n}@example.org", name="Live"),
            Money(700, "GBP"),
            datetime(2026, 5, 1, tzinfo=UTC),
            Attribution(campaign="spring"),
        )
    )


@pytest.mark.parametrize("store", ["sqlite"])
def test_the_service_keeps_the_views_while_it_runs(patronage: Patronage) -> None:
    with TestClient(create_app(patronage)) as client:
        _give(patronage, 1)
        head = patronage.ledger.head()
        fresh = client.get("/staff/supporters", headers=STAFF, params={"after": head})
        assert fresh.status_code == 200
        assert [s["email"] for s in fresh.json()["items"]] == ["l***@example.org"]
        patronage.views.wait("ticker", head, timeout=5)
        assert client.get("/ticker/spring").json()["supporters"] == 1
        poller_threads = [t for t in threading.enumerate() if t.name == "projections"]
        assert len(poller_threads) == 1
    assert not poller_threads[0].is_alive()


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_read_your_writes_times_out_with_503_when_no_runner_follows(
    settings: Settings, tmp_path: Path
) -> None:
    quick = settings.model_copy(update={"read_your_writes_timeout_seconds": 0.2})
    patronage = bootstrap(quick)
    try:
        _give(patronage, 1)
        client = TestClient(create_app(patronage))  # no lifespan: nothing keeps the views
        response = client.get(
            "/staff/supporters", headers=STAFF, params={"after": patronage.ledger.head()}
        )
        assert response.status_code == 503
        assert response.headers["retry-after"] == "1"
    finally:
        patronage.close()


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_an_event_is_applied_once_even_when_offered_twice(patronage: Patronage) -> None:
    _give(patronage, 1)
    projection = patronage.views.projection("ticker")
    catch_up(patronage.ledger, projection)
    first = patronage.ledger.recorder.select_notifications(start=1, limit=10)
    gift_received = next(n for n in first if n.topic.endswith("Gift.Received"))
    event = patronage.ledger.mapper.to_domain_event(gift_received)
    with pytest.raises(IntegrityError):
        projection.process_event(event, Tracking("Ledger", gift_received.id))
    assert ticker.raised(patronage.views.ticker, "spring").amounts == [Money(700, "GBP")]


@pytest.mark.parametrize("store", ["sqlite"])
def test_rebuild_on_sqlite_while_the_service_polls_and_writes(patronage: Patronage) -> None:
    seed_many(patronage.ledger, supporters=60, gifts_each=5)
    with TestClient(create_app(patronage)) as client:
        patronage.views.wait("supporters", patronage.ledger.head(), timeout=30)
        writer = threading.Thread(target=lambda: [_give(patronage, n) for n in range(20)])
        writer.start()
        rebuild_view(patronage.settings, "supporters")
        writer.join()
        head = patronage.ledger.head()
        body = client.get(
            "/staff/supporters", headers=STAFF, params={"after": head, "limit": 500}
        ).json()
        assert body["total"] == 80
    store = patronage.views.supporters
    assert pending(patronage.ledger, store, patronage.views.projection("supporters").topics) == 0
    want = expected(patronage.ledger, 2026).supporters
    page = supporters.search(store, limit=500, year=2026)
    assert {
        r.supporter_id: (r.gift_count, {t.currency: t.net for t in r.lifetime}) for r in page.rows
    } == {
        sid: (w["gift_count"], {c: g - r - lost for c, (g, r, lost) in w["lifetime"].items()})
        for sid, w in want.items()
    }


@pytest.mark.parametrize("store", ["sqlite"])
def test_a_receipt_just_issued_is_in_the_register_read_after_it(patronage: Patronage) -> None:
    _give(patronage, 1)
    with TestClient(create_app(patronage)) as client:
        patronage.receipting.issue_single(gift_id_for("pi_live_1"))
        after = patronage.ledger.head()
        register = client.get("/staff/receipts", headers=STAFF, params={"after": after}).json()
        assert [(r["number"], r["status"]) for r in register["items"]] == [
            ("S2026-000001", "issued")
        ]
        waiting = client.get(
            "/staff/receipts/unreceipted", headers=STAFF, params={"tax_year": 2026, "after": after}
        )
        assert waiting.json() == []


class Stranger(Aggregate):
    """An aggregate no view knows, like the webhook inbox or a campaign."""

    @event("Appeared")
    def __init__(self, note: str) -> None:
        self.note = note


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_events_of_aggregates_no_view_knows_never_reach_the_views(patronage: Patronage) -> None:
    patronage.ledger.save(Stranger(note="webhook"))
    _give(patronage, 1)
    patronage.ledger.save(Stranger(note="campaign"))
    for name in patronage.views.stores:
        projection = patronage.views.projection(name)
        catch_up(patronage.ledger, projection)
        assert pending(patronage.ledger, projection.view, projection.topics) == 0
        patronage.views.wait(name, patronage.ledger.head(), timeout=1)
    assert patronage.views.raised("spring").supporters == 1
