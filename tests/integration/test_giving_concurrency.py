"""Concurrent commands on both stores: the loser of a race retries and sees the winner's work."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from patronage.application.giving import RecordGift, SupporterDetails
from patronage.bootstrap import Patronage
from patronage.domain.gift import Gift
from patronage.domain.money import Money

WHEN = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def a_gift() -> RecordGift:
    return RecordGift(
        payment_id="pi_1",
        supporter=SupporterDetails(email="Ada@Example.org", name="Ada Lovelace"),
        amount=Money(2500, "USD"),
        received_at=WHEN,
    )


def test_concurrent_recording_of_one_payment_makes_one_gift(patronage: Patronage) -> None:
    results: list[object] = []
    threads = [
        threading.Thread(target=lambda: results.append(patronage.giving.record_gift(a_gift())))
        for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1
    gift = patronage.ledger.get_typed(results[0], Gift)  # type: ignore[arg-type]
    assert gift.version == 1
