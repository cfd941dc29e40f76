"""Card testing through the checkout, on both stores with localstripe over real HTTP
(issue 15): declines Stripe reports by webhook first hold a source's next gift for staff
review, then block the source for a while; a held gift is booked but never receipted until
staff release it, and a rejected one is refunded at Stripe as fraudulent; both decisions are
in the audit trail, on the staff API and the console.

localstripe declines a card when charged (4000000000000341) and fingerprints saved cards,
which the last test uses; but its `payment_intent.payment_failed` events embed no payment
method, so the webhook declines are hand-signed events of Stripe's shape, built on the very
PaymentIntents the checkout made at localstripe.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi.testclient import TestClient

from patronage.api.app import create_app
from patronage.application.card_testing import PaymentAttempt
from patronage.bootstrap import Patronage, bootstrap
from patronage.config import Settings
from patronage.domain.checkout import CheckoutAttempt
from patronage.domain.errors import GiftNotReceiptableError
from patronage.domain.gift import Gift, ReviewState, gift_id_for
from patronage.domain.money import Money
from patronage.domain.staff import Role
from patronage.payments import metadata as keys
from tests.support import http
from tests.support import stripe_events as se
from tests.support.checkout import (
    RecordingProxy,
    confirm_card_setup,
    recording_proxy,
    stripe_objects,
    with_stripe,
)
from tests.support.console import add_staff, post_form, sign_in
from tests.support.payments import DECLINING_CARD
from tests.support.servers import LocalStripe, localstripe_server

STAFF = {"Authorization": "Bearer staff-key-for-tests"}
VISA = "4242424242424242"
GUARD = {
    "checkout_limit_per_card": 100,  # every payment here is the one test card: not the subject
    "checkout_hold_after_declines": 2,
    "checkout_decline_limit": 3,
    "checkout_decline_block_seconds": 3600,
}


@pytest.fixture
def localstripe(tmp_path: Path) -> Iterator[LocalStripe]:
    with localstripe_server(tmp_path) as server:
        yield server


@pytest.fixture
def proxy(localstripe: LocalStripe) -> Iterator[RecordingProxy]:
    """localstripe ignores idempotency keys: the proxy shows the ones our calls send."""
    with recording_proxy(localstripe.url) as recording:
        yield recording


@pytest.fixture
def paying(
    settings: Settings, localstripe: LocalStripe, proxy: RecordingProxy
) -> Iterator[tuple[Patronage, TestClient]]:
    patronage = bootstrap(with_stripe(settings, proxy.url, localstripe.api_key, **GUARD))
    try:
        yield patronage, TestClient(create_app(patronage))
    finally:
        patronage.close()


def a_gift(email: str, reader: str) -> dict[str, Any]:
    return {
        "checkout_key": uuid4().hex,
        "frequency": "one_time",
        "amount": "5",
        "currency": "USD",
        "email": email,
        "name": "C. Tester",
        "reader_id": reader,
    }


def intent_at(localstripe: LocalStripe, intent_id: str) -> dict[str, Any]:
    reply = http.get(
        f"{localstripe.url}/v1/payment_intents/{intent_id}", auth=(localstripe.api_key, "")
    )
    reply.raise_for_status()
    intent: dict[str, Any] = reply.json()
    return intent


def declined(intent: dict[str, Any], fingerprint: str) -> dict[str, Any]:
    """Stripe's `payment_intent.payment_failed`: the failed PaymentMethod embedded, with its
    card's fingerprint."""
    failed = intent | {
        "status": "requires_payment_method",
        "amount_received": 0,
        "last_payment_error": {
            "type": "card_error",
            "code": "card_declined",
            "decline_code": "generic_decline",
            "message": "Your card was declined.",
            "payment_method": {
                "id": se.next_id("pm"),
                "object": "payment_method",
                "type": "card",
                "card": {"brand": "visa", "last4": "0002", "fingerprint": fingerprint},
            },
        },
    }
    return se.event("payment_intent.payment_failed", failed)


def give(
    paying: tuple[Patronage, TestClient], localstripe: LocalStripe, body: dict[str, Any]
) -> dict[str, Any]:
    """Both steps of the page's checkout, the card confirmed as Stripe.js does: the money is
    really in at localstripe."""
    patronage, client = paying
    started = client.post("/checkout", json=body)
    assert started.status_code == 200, started.text
    method = confirm_card_setup(localstripe, started.json()["client_secret"], VISA)
    answer = client.post("/checkout/payments", json={**body, "payment_method": method})
    assert answer.status_code == 200, answer.text
    attempt = patronage.ledger.get_typed(UUID(answer.json()["checkout_id"]), CheckoutAttempt)
    return intent_at(localstripe, attempt.payment_intent_id)


def booked(client: TestClient, patronage: Patronage, intent: dict[str, Any]) -> Gift:
    """Stripe's `payment_intent.succeeded` for a payment made at localstripe."""
    assert se.deliver(client, se.event("payment_intent.succeeded", intent)).status_code == 200
    return patronage.ledger.get_typed(gift_id_for(intent["id"]), Gift)


def test_declines_hold_then_block_a_card_tester_and_staff_decide_the_held_gifts(
    paying: tuple[Patronage, TestClient], localstripe: LocalStripe, proxy: RecordingProxy
) -> None:
    patronage, client = paying
    tester = "tester@example.org"
    # Two cards tried and declined (as the page's Stripe.js would report them).
    for n in range(2):
        intent = give(paying, localstripe, a_gift(tester, f"reader-{n}"))
        assert keys.REVIEW not in intent["metadata"]
        assert se.deliver(client, declined(intent, f"fp-{n}")).status_code == 200

    # The next payment goes ahead, held: the reason is on the PaymentIntent at Stripe.
    held_intent = give(paying, localstripe, a_gift(tester, "reader-9"))
    reason = held_intent["metadata"][keys.REVIEW]
    assert "2 declined payment(s) from this email recently" in reason
    assert tester not in reason and "testclient" not in reason, "no personal data"
    held = booked(client, patronage, held_intent)
    assert held.review == ReviewState.HELD
    with pytest.raises(GiftNotReceiptableError, match="held in staff review"):
        patronage.receipting.issue_single(held.id)

    # A second held gift (the same address), then a third decline blocks the source.
    other_intent = give(paying, localstripe, a_gift("other@example.org", "reader-9"))
    other = booked(client, patronage, other_intent)
    assert other.review == ReviewState.HELD
    assert se.deliver(client, declined(held_intent, "fp-2")).status_code == 200
    blocked = client.post("/checkout", json=a_gift("fresh@example.org", "reader-10"))
    assert blocked.status_code == 429, blocked.text
    assert 3500 < int(blocked.headers["retry-after"]) <= 3601
    assert "too many declined payments" in blocked.json()["detail"]  # no source named

    # Staff see both, oldest first, and decide.
    listed = client.get("/staff/reviews", headers=STAFF)
    assert listed.status_code == 200
    assert [UUID(h["gift_id"]) for h in listed.json()] == [held.id, other.id]
    assert listed.json()[0]["reason"] == reason and listed.json()[0]["amount"]["minor"] == 500
    assert client.get("/staff/reviews").status_code == 401

    released = client.post(f"/staff/reviews/{held.id}/release", headers=STAFF)
    assert released.status_code == 204
    assert patronage.receipting.issue_single(held.id).number  # receipted once released
    again = client.post(
        f"/staff/reviews/{held.id}/reject", json={"reason": "changed my mind"}, headers=STAFF
    )
    assert again.status_code == 409 and "released" in again.json()["detail"]

    rejected = client.post(
        f"/staff/reviews/{other.id}/reject", json={"reason": "card testing"}, headers=STAFF
    )
    assert rejected.status_code == 200, rejected.text
    refunds = http.get(
        f"{localstripe.url}/v1/refunds", auth=(localstripe.api_key, ""), params={"limit": 100}
    ).json()["data"]
    assert [
        (r["id"], r["amount"]) for r in refunds if r["payment_intent"] == other_intent["id"]
    ] == [(rejected.json()["refund_id"], 500)]
    retried = client.post(
        f"/staff/reviews/{other.id}/reject", json={"reason": "card testing"}, headers=STAFF
    )
    assert retried.status_code == 200, "a rejection may be repeated to finish its refund"
    first, second = proxy.creates("/v1/refunds")
    assert first.idempotency_key == second.idempotency_key != "", "Stripe's: the same refund"
    with pytest.raises(GiftNotReceiptableError):
        patronage.receipting.issue_single(other.id)
    assert client.get("/staff/reviews", headers=STAFF).json() == []

    trail = client.get("/staff/audit", headers=STAFF).json()["entries"]
    decisions = [(e["action"], e["subject"], e["details"]) for e in trail]
    assert ("gift.released_from_review", str(held.id), {}) in decisions
    assert ("gift.rejected_in_review", str(other.id), {"reason": "card testing"}) in decisions


@pytest.mark.parametrize("store", ["sqlite"])
def test_the_console_lists_held_gifts_and_releases_one(
    paying: tuple[Patronage, TestClient], localstripe: LocalStripe
) -> None:
    patronage, client = paying
    for n in range(2):
        intent = give(paying, localstripe, a_gift("tester@example.org", "reader-1"))
        se.deliver(client, declined(intent, f"fp-{n}"))
    held = booked(client, patronage, give(paying, localstripe, a_gift("t@example.org", "r")))
    add_staff(patronage, "finance@news.example", Role.FINANCE)
    sign_in(client, "finance@news.example")
    page = client.get("/console/reviews")
    assert page.status_code == 200
    assert "2 declined payment(s) from this address recently" in page.text
    assert held.payment_id in page.text
    refused = post_form(client, "/console/reviews", f"/console/reviews/{held.id}/reject", {})
    assert "error=" in refused.headers["location"]  # no reason given: nothing changes
    done = post_form(client, "/console/reviews", f"/console/reviews/{held.id}/release", {})
    assert done.status_code == 303 and "Released" in client.get(done.headers["location"]).text
    assert patronage.ledger.get_typed(held.id, Gift).review == ReviewState.RELEASED
    assert "No gifts are held." in client.get("/console/reviews").text


def pay_with_card(
    paying: tuple[Patronage, TestClient], localstripe: LocalStripe, number: str, n: int
) -> tuple[httpx.Response, str]:
    """A new donor's checkout paid with this card number; the answer and the saved card."""
    _patronage, client = paying
    body = a_gift(f"donor{n}@example.org", f"reader-{n}")
    started = client.post("/checkout", json=body)
    assert started.status_code == 200, started.text
    method = confirm_card_setup(localstripe, started.json()["client_secret"], number)
    return client.post("/checkout/payments", json={**body, "payment_method": method}), method


@pytest.mark.parametrize("store", ["sqlite"])  # the guard keeps no state in the store
def test_one_card_is_limited_and_its_real_declines_counted_by_stripes_fingerprint(
    settings: Settings, localstripe: LocalStripe
) -> None:
    """Every donor and reader new, one address allowed plenty: only the card, which
    localstripe fingerprints alike each time its number is saved, can be what is limited."""
    limits = {
        "checkout_limit_per_card": 2,
        "checkout_limit_per_ip": 100,
        "checkout_hold_after_declines": 1,
        "checkout_decline_limit": 100,
    }
    patronage = bootstrap(with_stripe(settings, localstripe.url, localstripe.api_key, **limits))
    paying = (patronage, TestClient(create_app(patronage)))
    try:
        paid = [pay_with_card(paying, localstripe, VISA, n)[0] for n in range(2)]
        assert [answer.status_code for answer in paid] == [200, 200]
        third, _method = pay_with_card(paying, localstripe, VISA, 2)
        assert third.status_code == 429 and int(third.headers["retry-after"]) > 0
        assert len(stripe_objects(localstripe, "payment_intents")) == 2, "no third charge"

        # A card Stripe declines when charged: the decline is counted against its fingerprint.
        declined, method_id = pay_with_card(paying, localstripe, DECLINING_CARD, 3)
        assert declined.status_code == 402, declined.text
        fingerprint = http.get(
            f"{localstripe.url}/v1/payment_methods/{method_id}", auth=(localstripe.api_key, "")
        ).json()["card"]["fingerprint"]
        elsewhere = PaymentAttempt(
            Money(500, "USD"), ip="198.51.100.7", card_fingerprint=fingerprint
        )
        held = patronage.checkout.guard.assess_card(elsewhere)
        assert held.reasons == ("1 declined payment(s) from this card recently",)
    finally:
        patronage.close()
