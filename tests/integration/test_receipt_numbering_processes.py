"""Several OS processes issue receipts at once on PostgreSQL: numbers unique and gapless."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import pytest

from patronage.application.giving import RecordGift, SupporterDetails
from patronage.bootstrap import Patronage
from patronage.domain.gift import Gift
from patronage.domain.money import Money
from patronage.domain.receipt import TaxReceipt
from tests.support.processes import process_env

PROCESSES = 4
EACH = 10


@pytest.mark.parametrize("store", [pytest.param("postgres", marks=pytest.mark.postgres)])
def test_concurrent_processes_number_without_gaps_or_repeats(patronage: Patronage) -> None:
    gift_ids = [
        patronage.giving.record_gift(
            RecordGift(
                payment_id=f"pi_{n}",
                supporter=SupporterDetails(email=f"donor{n}@example.org", name="Donor"),
                amount=Money(1000 + n, "USD"),
                received_at=datetime(2026, 6, 1, tzinfo=UTC),
            )
        )
        for n in range(PROCESSES * EACH)
    ]
    env = process_env(patronage.settings)
    issuer = [sys.executable, "-m", "tests.support.issue_receipts"]
    children = [
        subprocess.Popen(
            [*issuer, *map(str, gift_ids[p::PROCESSES])], env=env, stderr=subprocess.PIPE
        )
        for p in range(PROCESSES)
    ]
    failures = [child.communicate(timeout=300)[1] for child in children if child.wait(300) != 0]
    assert failures == []
    numbers = sorted(
        patronage.ledger.get_typed(receipt_id, TaxReceipt).number
        for receipt_id in (patronage.ledger.get_typed(g, Gift).receipt_id for g in gift_ids)
        if receipt_id is not None
    )
    assert numbers == [f"S2026-{n:06d}" for n in range(1, PROCESSES * EACH + 1)]
