"""SQLite: the service keeps the views itself with an in-process poller, started and
stopped by the app's lifespan; reads after a staff action wait for it (read-your-writes)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError, StoredEvent, Tracking
from fastapi.testclient import TestClient

from patronage.api.app import create_app
from patronage.application.giving import RecordGift, SupporterDetails
from patronage.bootstrap import Patronage, bootstrap, rebuild_view
from patronage.config import Settings
from patronage.domain.gift import gift_id_for
from patronage.domain.money import Money
from patronage.domain.values import Attribution
from patronage.projections import supporters, ticker
from patronage.projections.polling import SharedRead, catch_up, pending
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


def _views_match_the_ledger(patronage: Patronage) -> None:
    for name in patronage.views.stores:
        projection = patronage.views.projection(name)
        assert pending(patronage.ledger, projection.view, projection.topics) == 0, name
    want = expected(patronage.ledger, 2026).supporters
    rows = supporters.search(patronage.views.supporters, limit=500, year=2026).rows
    assert {r.supporter_id: r.gift_count for r in rows} == {
        sid: w["gift_count"] for sid, w in want.items()
    }


@pytest.mark.parametrize("store", ["sqlite"])
def test_a_poll_round_reads_the_ledger_once_for_the_views_at_its_head(
    patronage: Patronage, monkeypatch: pytest.MonkeyPatch
) -> None:
    poller = patronage.views.poller(0.1)
    _give(patronage, 1)
    poller.poll_once()
    for n in range(2, 5):
        _give(patronage, n)
    reads: list[int] = []
    recorder = patronage.ledger.recorder
    select = recorder.select_notifications
    monkeypatch.setattr(
        recorder, "select_notifications", lambda **kw: reads.append(kw["start"]) or select(**kw)
    )
    poller.poll_once()
    assert len(reads) == 1  # four views, one read of the events they follow
    _views_match_the_ledger(patronage)
    assert patronage.views.raised("spring").supporters == 4


@pytest.mark.parametrize("store", ["sqlite"])
def test_views_at_different_positions_each_get_all_their_events_from_a_round(
    patronage: Patronage,
) -> None:
    seed_many(patronage.ledger, supporters=12, gifts_each=3)
    middle = patronage.ledger.head() // 2
    catch_up(patronage.ledger, patronage.views.projection("supporters"), stop=middle)
    catch_up(patronage.ledger, patronage.views.projection("ticker"))
    patronage.views.poller(0.1).poll_once()
    _views_match_the_ledger(patronage)


@pytest.mark.parametrize("store", ["sqlite"])
def test_a_shared_read_serves_a_view_only_where_it_covers_all_its_events(
    patronage: Patronage,
) -> None:
    seed_many(patronage.ledger, supporters=4, gifts_each=2)
    topics = patronage.views.projection("ticker").topics
    head = patronage.ledger.head()
    shared = SharedRead(patronage.ledger, topics, after=2)
    assert shared.for_view(topics, after=1) is None  # behind where the read started
    page, events = shared.for_view(topics, after=2) or ((), [])
    assert [n.id for n in page] == [
        n.id
        for n in patronage.ledger.recorder.select_notifications(start=3, limit=head, topics=topics)
    ]
    assert events is not None and len(events) == len(page) > 0
    assert shared.for_view(topics, after=head) == ([], [])
    cut_short = SharedRead(patronage.ledger, topics, after=0, page_size=2)
    assert cut_short.for_view(topics, after=0) is None  # more events than it read


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


@pytest.mark.parametrize("store", ["sqlite"])
def test_an_event_that_does_not_decode_stops_each_view_that_follows_it_there(
    patronage: Patronage,
) -> None:
    _give(patronage, 1)
    received = next(
        n
        for n in patronage.ledger.recorder.select_notifications(start=1, limit=20)
        if n.topic.endswith("Gift.Received")
    )
    patronage.ledger.recorder.insert_events(
        [StoredEvent(uuid4(), 1, received.topic, b"not an event")]
    )
    unreadable = patronage.ledger.head()
    _give(patronage, 2)
    topics = patronage.views.projection("ticker").topics
    assert SharedRead(patronage.ledger, topics, after=0).events is None
    patronage.views.poller(60).poll_once()
    for name in ("ticker", "totals", "supporters", "register"):
        fault = patronage.views.faults.get(name)
        assert fault is not None and fault.notification_id == unreadable, name
        assert patronage.views.stores[name].position("Ledger") < unreadable
    assert patronage.views.raised("spring").supporters == 1  # the gift before it, applied
    patronage.views.skip("ticker", unreadable)  # an operator's decision (audited by the caller)
    patronage.views.poller(60).poll_once()
    assert patronage.views.faults.get("ticker") is None
    assert patronage.views.raised("spring").supporters == 2
