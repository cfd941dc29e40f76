"""Disputes through every Stripe status, on both stores: appeals give money back, and a
dispute that cannot be about its gift is refused like a refund (no 500 later)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from patronage.api.app import create_app
from patronage.bootstrap import Patronage
from patronage.domain.gift import DisputeStatus, Gift, gift_id_for
from patronage.domain.money import Money
from patronage.projections.totals import Filters, by_period
from tests.support import stripe_events as se
from tests.support.projections import catch_up_all

STAFF = {"Authorization": "Bearer staff-key-for-tests"}
ADA = "ada@example.org"
DAY = 24 * 3600


@pytest.fixture
def client(patronage: Patronage) -> Iterator[TestClient]:
    with TestClient(create_app(patronage)) as test_client:
        intent = se.payment_intent("pi_1", 5000, se.our_metadata(ADA), ADA)
        assert (
            se.deliver(test_client, se.event("payment_intent.succeeded", intent)).status_code == 200
        )
        yield test_client


def dispute_event(event_type: str, status: str, day: int, **fields: object) -> dict:  # type: ignore[type-arg]
    return se.event(
        event_type, se.dispute("dp_1", "pi_1", 5000, status) | fields, se.T0 + day * DAY
    )


def test_a_dispute_lost_then_won_on_appeal_gives_the_money_back(
    client: TestClient, patronage: Patronage
) -> None:
    history = [
        dispute_event("charge.dispute.created", "warning_needs_response", 1),
        dispute_event("charge.dispute.updated", "warning_under_review", 2),
        dispute_event("charge.dispute.updated", "needs_response", 3),
        dispute_event("charge.dispute.funds_withdrawn", "needs_response", 3),
        dispute_event("charge.dispute.updated", "under_review", 5),
        dispute_event("charge.dispute.closed", "lost", 40),
        dispute_event("charge.dispute.updated", "appeal_needs_response", 45),
        dispute_event("charge.dispute.updated", "appeal_under_review", 50),
    ]
    for evt in history:
        assert se.deliver(client, evt).json()["status"] == "applied"
    gift = patronage.ledger.get_typed(gift_id_for("pi_1"), Gift)
    assert (gift.disputes["dp_1"], gift.net) == (DisputeStatus.APPEALING, Money(0, "USD"))
    catch_up_all(patronage)
    [year] = by_period(patronage.views.totals, "year", Filters())
    assert (year.amounts.lost, year.amounts.net) == (5000, 0)

    won = dispute_event("charge.dispute.closed", "won", 90)
    assert se.deliver(client, won).json()["status"] == "applied"
    gift = patronage.ledger.get_typed(gift_id_for("pi_1"), Gift)
    assert (gift.disputes["dp_1"], gift.net) == (DisputeStatus.WON, Money(5000, "USD"))
    assert not gift.has_open_dispute
    catch_up_all(patronage)
    [year] = by_period(patronage.views.totals, "year", Filters())
    assert (year.amounts.lost, year.amounts.net) == (0, 5000)
    receipt = client.post(
        "/staff/receipts/single", json={"gift_id": str(gift_id_for("pi_1"))}, headers=STAFF
    )
    assert receipt.status_code == 201, receipt.text


@pytest.mark.parametrize(
    ("fields", "reason"),
    [({"currency": "eur"}, "is in EUR"), ({"amount": 5001}, "not within")],
)
def test_a_dispute_that_does_not_fit_its_gift_is_refused_with_the_reason(
    client: TestClient, patronage: Patronage, fields: dict[str, object], reason: str
) -> None:
    answer = se.deliver(
        client, dispute_event("charge.dispute.created", "needs_response", 1, **fields)
    )
    assert answer.json()["status"] == "failed"
    assert reason in answer.json()["detail"]
    gift = patronage.ledger.get_typed(gift_id_for("pi_1"), Gift)
    assert gift.disputes == {}
    receipt = client.post(
        "/staff/receipts/single", json={"gift_id": str(gift_id_for("pi_1"))}, headers=STAFF
    )
    assert receipt.status_code == 201, receipt.text
