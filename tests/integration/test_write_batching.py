"""Group commit on both stores: a batch is one transaction, and a duplicate, a conflict or a
failing write in one unit of a batch changes nothing for the others; a webhook's 2xx means
its event and effect are committed.

Batches are made exact without timing: the batcher under test gathers until it holds N
units (its wait bound is far beyond the test), and N threads each commit one.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import httpx
from eventsourcing.persistence import IntegrityError

from patronage.application.batching import CommitBatcher, Saved
from patronage.application.ledger import Ledger
from patronage.application.sealing import payload_subject
from patronage.bootstrap import Patronage, bootstrap
from patronage.config import Settings
from patronage.domain.gift import Gift, gift_id_for
from patronage.domain.inbox import InboxEvent, InboxStatus, Waitlist, inbox_event_id_for
from tests.support import http, stripe_events
from tests.support.servers import running_api
from tests.support.stores import writes_refused

WHEN = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
NO_TIMEOUT = 600.0  # the batch closes when full, long before this


def an_inbox_event(event_id: str) -> InboxEvent:
    return InboxEvent(
        event_id=event_id,
        event_type="test.event",
        api_version="2026-10-28.endive",
        livemode=False,
        created=WHEN,
        payload_json=f'{{"id": "{event_id}"}}',  # sealed with a data key made for it
    )


@contextmanager
def counted_inserts(ledger: Ledger) -> Iterator[list[int]]:
    """How many insert transactions the Ledger's recorder runs inside the block."""
    recorder: Any = ledger.recorder
    original = recorder.insert_events
    calls: list[int] = []

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original(*args, **kwargs)

    recorder.insert_events = counting
    try:
        yield calls
    finally:
        recorder.insert_events = original


def commit_together(
    batcher: CommitBatcher, units: Sequence[Sequence[Any]]
) -> list[BaseException | None]:
    """Commit each unit's events from its own thread, all at once; each one's outcome."""
    outcomes: list[BaseException | None] = [None] * len(units)

    def commit(index: int) -> None:
        try:
            batcher.commit(units[index])
        except Exception as error:
            outcomes[index] = error

    threads = [threading.Thread(target=commit, args=(i,)) for i in range(len(units))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def stored(ledger: Ledger, event_id: str) -> InboxEvent | None:
    return ledger.get_or_none(inbox_event_id_for(event_id), InboxEvent)


def save_together(
    batcher: CommitBatcher, units: Sequence[Sequence[Any]], watch: Sequence[UUID] = ()
) -> list[Saved | BaseException]:
    """Save each unit's events from one event loop, all at once (CommitBatcher.save, as the
    webhook does); each one's outcome."""

    async def all_at_once() -> list[Saved | BaseException]:
        saves = [batcher.save(unit, watch) for unit in units]
        return await asyncio.gather(*saves, return_exceptions=True)

    return asyncio.run(all_at_once())


def test_a_batch_of_units_is_one_transaction(patronage: Patronage) -> None:
    ledger = patronage.ledger
    batcher = CommitBatcher(ledger, max_batch=5, max_wait=NO_TIMEOUT)
    units = [an_inbox_event(f"evt_batch_{n}").collect_events() for n in range(5)]
    with counted_inserts(ledger) as inserts:
        outcomes = commit_together(batcher, units)
    batcher.close()
    assert outcomes == [None] * 5
    assert len(inserts) == 1
    assert all(stored(ledger, f"evt_batch_{n}") is not None for n in range(5))


def test_a_duplicate_in_a_batch_fails_alone(patronage: Patronage) -> None:
    ledger = patronage.ledger
    ledger.save(an_inbox_event("evt_known"))
    batcher = CommitBatcher(ledger, max_batch=4, max_wait=NO_TIMEOUT)
    units = [an_inbox_event(f"evt_new_{n}").collect_events() for n in range(3)]
    units.append(an_inbox_event("evt_known").collect_events())
    outcomes = commit_together(batcher, units)
    batcher.close()
    assert outcomes[:3] == [None, None, None]
    assert isinstance(outcomes[3], IntegrityError)
    assert all(stored(ledger, f"evt_new_{n}") is not None for n in range(3))
    known = stored(ledger, "evt_known")
    assert known is not None and known.version == 1


def test_two_units_changing_one_aggregate_in_a_batch_one_wins(patronage: Patronage) -> None:
    ledger = patronage.ledger
    ledger.save(an_inbox_event("evt_contended"))
    batcher = CommitBatcher(ledger, max_batch=3, max_wait=NO_TIMEOUT)
    first = ledger.get_typed(inbox_event_id_for("evt_contended"), InboxEvent)
    second = ledger.get_typed(inbox_event_id_for("evt_contended"), InboxEvent)
    first.ignore(reason="first")
    second.fail(error="second")
    units = [
        first.collect_events(),
        second.collect_events(),
        an_inbox_event("evt_bystander").collect_events(),
    ]
    outcomes = commit_together(batcher, units)
    batcher.close()
    assert sum(isinstance(o, IntegrityError) for o in outcomes[:2]) == 1
    assert outcomes[2] is None
    contended = stored(ledger, "evt_contended")
    assert contended is not None and contended.version == 2
    assert contended.status in (InboxStatus.IGNORED, InboxStatus.FAILED)
    assert stored(ledger, "evt_bystander") is not None


def test_a_write_the_store_refuses_fails_only_its_unit(
    patronage: Patronage, settings: Settings
) -> None:
    ledger = patronage.ledger
    refused = an_inbox_event("evt_refused")
    batcher = CommitBatcher(ledger, max_batch=3, max_wait=NO_TIMEOUT)
    units = [
        an_inbox_event("evt_fine_1").collect_events(),
        refused.collect_events(),
        an_inbox_event("evt_fine_2").collect_events(),
    ]
    with writes_refused(settings, refused.id, from_version=1):
        outcomes = commit_together(batcher, units)
    batcher.close()
    assert outcomes[0] is None and outcomes[2] is None
    assert outcomes[1] is not None
    assert stored(ledger, "evt_refused") is None
    assert stored(ledger, "evt_fine_1") is not None and stored(ledger, "evt_fine_2") is not None


def test_a_units_data_keys_commit_with_its_events_or_not_at_all(
    patronage: Patronage, settings: Settings
) -> None:
    """The keys that seal a new event's personal fields are inserted in the batch's own
    transaction: a unit that fails leaves no key behind, the others' payloads open."""
    ledger = patronage.ledger
    refused = an_inbox_event("evt_keyless")
    batcher = CommitBatcher(ledger, max_batch=2, max_wait=NO_TIMEOUT)
    units = [an_inbox_event("evt_keyed").collect_events(), refused.collect_events()]
    with writes_refused(settings, refused.id, from_version=1):
        outcomes = commit_together(batcher, units)
    batcher.close()
    assert outcomes[0] is None and outcomes[1] is not None
    assert not ledger.keys.any_stored([payload_subject(refused.id)])
    keyed = stored(ledger, "evt_keyed")
    assert keyed is not None and keyed.payload == {"id": "evt_keyed"}


@contextmanager
def _opened_elsewhere(settings: Settings) -> Iterator[Patronage]:
    other = bootstrap(settings)  # another process: none of this one's cached keys
    try:
        yield other
    finally:
        other.close()


def test_a_key_stored_before_its_events_seals_them(
    patronage: Patronage, settings: Settings
) -> None:
    """A key another process's failed save made outside any events' transaction: the
    batch's own new key collides with it, and the unit is sealed again with the stored one."""
    ledger = patronage.ledger
    late = an_inbox_event("evt_late")
    with _opened_elsewhere(settings) as other:
        stored_key = other.ledger.keys.get_or_create(payload_subject(late.id))
    batcher = CommitBatcher(ledger, max_batch=2, max_wait=NO_TIMEOUT)
    units = [late.collect_events(), an_inbox_event("evt_punctual").collect_events()]
    outcomes = commit_together(batcher, units)
    batcher.close()
    assert outcomes == [None, None]
    with _opened_elsewhere(settings) as fresh:
        found = stored(fresh.ledger, "evt_late")
        assert found is not None and found.payload == {"id": "evt_late"}
        assert fresh.ledger.keys.get(payload_subject(late.id)) == stored_key


def test_awaited_saves_share_a_transaction_and_a_duplicate_fails_alone(
    patronage: Patronage, settings: Settings
) -> None:
    """The event loop's saves (sealed by the committer) batch like the threads', and one
    unit's duplicate id fails that unit only."""
    ledger = patronage.ledger
    ledger.save(an_inbox_event("evt_awaited_known"))
    fresh = [an_inbox_event(f"evt_awaited_{n}").collect_events() for n in range(3)]
    batcher = CommitBatcher(ledger, max_batch=3, max_wait=NO_TIMEOUT)
    with counted_inserts(ledger) as inserts:
        outcomes = save_together(batcher, fresh)
    assert len(inserts) == 1
    assert all(isinstance(o, Saved) and o.position for o in outcomes), outcomes
    units = [
        an_inbox_event("evt_awaited_4").collect_events(),
        an_inbox_event("evt_awaited_known").collect_events(),
    ]
    batcher = CommitBatcher(ledger, max_batch=2, max_wait=NO_TIMEOUT)
    outcomes = save_together(batcher, units)
    batcher.close()
    assert isinstance(outcomes[0], Saved) and isinstance(outcomes[1], IntegrityError)
    assert all(stored(ledger, f"evt_awaited_{n}") is not None for n in (0, 1, 2, 4))
    known = stored(ledger, "evt_awaited_known")
    assert known is not None and known.version == 1
    # The payloads were sealed by the committer with keys stored in the same transaction.
    with _opened_elsewhere(settings) as other:
        opened = stored(other.ledger, "evt_awaited_4")
        assert opened is not None and opened.payload == {"id": "evt_awaited_4"}


def test_a_save_tells_which_watched_aggregates_have_events(patronage: Patronage) -> None:
    """Read in the save's own transaction, under the write lock: an aggregate committed
    before, and one this very batch creates, are there; one nobody made is not."""
    ledger = patronage.ledger
    there = Waitlist(key="payment:pi_there")
    ledger.save(there)
    made_now = Waitlist(key="payment:pi_made_now")
    nowhere = Waitlist.create_id("payment:pi_nowhere")
    batcher = CommitBatcher(ledger, max_batch=2, max_wait=NO_TIMEOUT)
    units = [made_now.collect_events(), an_inbox_event("evt_watching").collect_events()]
    outcomes = save_together(batcher, units, watch=[there.id, made_now.id, nowhere])
    batcher.close()
    assert all(isinstance(o, Saved) for o in outcomes), outcomes
    assert [o.present for o in outcomes if isinstance(o, Saved)] == [
        frozenset({there.id, made_now.id})
    ] * 2


def test_reads_of_a_batch_are_one_query_and_each_reader_changes_its_own(
    patronage: Patronage,
) -> None:
    ledger = patronage.ledger
    shared = an_inbox_event("evt_read_twice")
    ledger.save(shared)
    absent = inbox_event_id_for("evt_never_saved")
    batcher = CommitBatcher(ledger, max_batch=3, max_wait=NO_TIMEOUT)
    queries: list[int] = []
    get_many = ledger.get_many

    def counted(*args: Any) -> Any:
        queries.append(1)
        return get_many(*args)

    ledger.get_many = counted  # type: ignore[method-assign]

    async def three_readers() -> list[dict[UUID, Any]]:
        reads = [batcher.read([shared.id]), batcher.read([shared.id, absent]), batcher.read([])]
        return await asyncio.gather(*reads)

    try:
        first, second, nothing = asyncio.run(three_readers())
    finally:
        del ledger.get_many
        batcher.close()
    assert len(queries) == 1
    assert nothing == {} and set(second) == {shared.id}
    mine, theirs = first[shared.id], second[shared.id]
    assert mine is not theirs and mine.version == theirs.version == 1
    mine.ignore(reason="changed by the first reader only")
    assert theirs.status == InboxStatus.RECEIVED and not theirs.pending_events


def _payment_event(n: int) -> dict[str, Any]:
    email = f"batch{n}@example.org"
    obj = stripe_events.payment_intent(
        f"pi_batch_{n}", 1000 + n, stripe_events.our_metadata(email), email
    )
    return stripe_events.event("payment_intent.succeeded", obj, event_id=f"evt_batch_{n}")


def _deliver_all(url: str, bodies: list[str]) -> list[httpx.Response]:
    def deliver(body: str) -> httpx.Response:
        headers = {"Stripe-Signature": stripe_events.signature(body)}
        with http.client(base_url=url, timeout=60) as client:
            return client.post("/webhooks/stripe", content=body, headers=headers)

    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(deliver, bodies))


def test_concurrent_webhooks_with_duplicates_and_a_failure_each_get_their_own_outcome(
    settings: Settings,
) -> None:
    """Over real HTTP: unique payments, redeliveries of one of them, two events about one
    supporter (a concurrent change) and an event that fails to apply, all at once. Every
    2xx is committed (a fresh Ledger, on its own connections, finds it), and each payment
    is booked exactly once."""
    batched = settings.model_copy(update={"write_batch_max": 16, "write_batch_wait_seconds": 0.1})
    events = [_payment_event(n) for n in range(10)]
    twin = _payment_event(10)
    twin["data"]["object"]["id"] = "pi_batch_twin"
    twin["data"]["object"]["receipt_email"] = "batch0@example.org"
    twin["data"]["object"]["metadata"] = stripe_events.our_metadata("batch0@example.org")
    twin["id"] = "evt_batch_twin"
    broken = _payment_event(11)
    broken["id"] = "evt_batch_broken"
    broken["data"]["object"]["currency"] = "zzz"  # no such currency: fails to apply
    bodies = [stripe_events.body_of(e) for e in [*events, events[3], events[3], twin, broken]]
    with running_api(batched) as api:
        replies = _deliver_all(api.url, bodies)
    assert [r.status_code for r in replies] == [200] * len(bodies), [r.text for r in replies]
    assert sorted(r.json()["duplicate"] for r in replies).count(True) == 2
    fresh = bootstrap(settings)
    try:
        _assert_committed(fresh.ledger, [*events, twin], lambda e: e["data"]["object"]["id"])
        failed = stored(fresh.ledger, "evt_batch_broken")
        assert failed is not None and failed.status == InboxStatus.FAILED
    finally:
        fresh.close()


def _assert_committed(
    ledger: Ledger, events: list[dict[str, Any]], payment_of: Callable[[dict[str, Any]], str]
) -> None:
    for event in events:
        inbox_event = stored(ledger, event["id"])
        assert inbox_event is not None and inbox_event.status == InboxStatus.APPLIED
        gift_id: UUID = gift_id_for(payment_of(event))
        gift = ledger.get_typed(gift_id, Gift)
        assert gift.amount.minor == event["data"]["object"]["amount"]
        assert gift.version == 1  # booked once, whatever the redeliveries
