"""POST /webhooks/stripe on both stores: verified, durable, idempotent, any order."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from eventsourcing.persistence import OperationalError
from fastapi.testclient import TestClient

from patronage.api.app import create_app
from patronage.bootstrap import Patronage
from patronage.domain.gift import DisputeStatus, Gift, GiftKind, gift_id_for
from patronage.domain.inbox import InboxStatus
from patronage.domain.membership import Membership, MembershipStatus, membership_id_for
from patronage.domain.money import Money
from patronage.domain.supporter import Supporter
from tests.support import stripe_events as se
from tests.support.stripe_events import supporter_id_for

ADA = "ada@example.org"
GRACE = "grace@example.org"


@pytest.fixture
def client(patronage: Patronage) -> Iterator[TestClient]:
    with TestClient(create_app(patronage)) as test_client:
        yield test_client


def one_time(pi: str = "pi_ada_1", amount: int = 2500) -> tuple[dict, dict]:  # type: ignore[type-arg]
    """The two events Stripe sends for one Checkout payment."""
    metadata = se.our_metadata(ADA)
    session = se.event(
        "checkout.session.completed",
        se.checkout_session("cs_1", amount, ADA, metadata, payment_intent=pi),
        created=se.T0 + 2,
    )
    intent = se.event(
        "payment_intent.succeeded", se.payment_intent(pi, amount, metadata), created=se.T0
    )
    return session, intent


# Signatures ------------------------------------------------------------------------------


def _post(client: TestClient, body: str, headers: dict[str, str]) -> tuple[int, str]:
    response = client.post("/webhooks/stripe", content=body.encode(), headers=headers)
    return response.status_code, response.json()["detail"]


def test_forged_stale_missing_and_malformed_signatures_change_nothing(
    client: TestClient, patronage: Patronage
) -> None:
    session, _ = one_time()
    body = se.body_of(session)
    head = patronage.ledger.head()
    cases = {
        "missing": {},
        "malformed": {"Stripe-Signature": "v1=abc"},
        "forged": {"Stripe-Signature": se.signature(body, "whsec_attacker")},
        "tampered": {"Stripe-Signature": se.signature(body.replace("2500", "1"))},
        "stale": {"Stripe-Signature": se.signature(body, timestamp=int(time.time()) - 301)},
    }
    reasons = {name: _post(client, body, headers) for name, headers in cases.items()}
    assert {status for status, _ in reasons.values()} == {400}
    assert "missing" in reasons["missing"][1]
    assert "malformed" in reasons["malformed"][1]
    assert "no signature matches" in reasons["forged"][1]
    assert "no signature matches" in reasons["tampered"][1]
    assert "stale" in reasons["stale"][1]
    assert patronage.ledger.head() == head, "nothing was recorded"


def test_the_rotated_secret_is_accepted_too(client: TestClient, patronage: Patronage) -> None:
    session, _ = one_time()
    response = se.deliver(client, session, secret=se.ROTATED_SECRET)
    assert response.status_code == 200, response.text
    assert patronage.ledger.get_or_none(gift_id_for("pi_ada_1"), Gift) is not None


def test_oversized_bodies_are_refused_before_parsing(
    client: TestClient, patronage: Patronage
) -> None:
    limit = patronage.settings.max_webhook_bytes
    session, _ = one_time()
    session["padding"] = "x" * limit
    body = se.body_of(session)
    response = client.post(
        "/webhooks/stripe", content=body.encode(), headers={"Stripe-Signature": se.signature(body)}
    )
    assert response.status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: the stream itself is cut off
        yield body.encode()

    response = client.post(
        "/webhooks/stripe", content=chunks(), headers={"Stripe-Signature": se.signature(body)}
    )
    assert response.status_code == 413
    assert patronage.ledger.head() == 0


def test_a_verified_body_that_is_not_an_event_is_refused(
    client: TestClient, patronage: Patronage
) -> None:
    for body in ("[1, 2]", "{not json", '{"id": "evt_1", "type": "x", "created": 1}'):
        response = se.deliver(client, body)
        assert response.status_code == 400
        assert response.json()["detail"].startswith("not a Stripe event")
    assert patronage.ledger.head() == 0


def test_without_configured_secrets_every_delivery_is_retried_later(
    patronage: Patronage,
) -> None:
    patronage.settings.stripe_webhook_secrets = []
    with TestClient(create_app(patronage)) as client:
        session, _ = one_time()
        assert se.deliver(client, session).status_code == 503
    assert patronage.ledger.head() == 0


# Idempotency -----------------------------------------------------------------------------


def test_a_duplicate_delivery_changes_nothing(client: TestClient, patronage: Patronage) -> None:
    session, _ = one_time()
    first = se.deliver(client, session)
    assert first.status_code == 200
    assert first.json()["status"] == "applied"
    assert first.json()["duplicate"] is False
    head = patronage.ledger.head()
    again = se.deliver(client, session)
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert patronage.ledger.head() == head


def test_checkout_and_payment_intent_for_one_payment_make_one_gift(
    client: TestClient, patronage: Patronage
) -> None:
    session, intent = one_time(amount=2500)
    assert se.deliver(client, session).json()["status"] == "applied"
    assert se.deliver(client, intent).json()["status"] == "applied"
    gift = patronage.ledger.get_typed(gift_id_for("pi_ada_1"), Gift)
    assert gift.amount == Money(2500, "USD")
    assert gift.kind == GiftKind.ONE_TIME
    assert gift.supporter_id == supporter_id_for(ADA)
    assert gift.attribution.campaign == "spring"
    assert gift.received_at.timestamp() == se.T0, "the earlier report's time wins"
    assert gift.version == 2, "received, then its time moved earlier; never booked twice"


def test_a_payment_intent_of_an_invoice_books_nothing(
    client: TestClient, patronage: Patronage
) -> None:
    legacy = se.payment_intent("pi_inv", 1000, {}) | {"invoice": "in_1"}
    response = se.deliver(client, se.event("payment_intent.succeeded", legacy))
    assert response.json()["status"] == "ignored"
    assert "invoice" in response.json()["detail"]
    # The current shape names no invoice: without Stripe to ask, staff review it.
    current = se.event("payment_intent.succeeded", se.payment_intent("pi_inv2", 1000, {}))
    assert "listed for staff review" in se.deliver(client, current).json()["detail"]
    for payment_id in ("pi_inv", "pi_inv2"):
        assert patronage.ledger.get_or_none(gift_id_for(payment_id), Gift) is None


@pytest.mark.parametrize("shape", ["legacy", "basil"])
def test_both_invoice_events_for_one_renewal_make_one_payment(
    client: TestClient, patronage: Patronage, shape: str
) -> None:
    metadata = se.our_metadata(GRACE, kind="monthly", campaign="members")
    invoice = se.invoice("in_1", "sub_1", 1000, metadata, GRACE, shape=shape, pi="pi_in_1")
    for event_type in ("invoice.paid", "invoice.payment_succeeded"):
        response = se.deliver(client, se.event(event_type, invoice, created=se.T0 + 1))
        assert response.json()["status"] == "applied", response.text
    membership = patronage.ledger.get_typed(membership_id_for("sub_1"), Membership)
    assert membership.payments == {"in_1": Money(1000, "USD")}
    assert membership.status == MembershipStatus.ACTIVE
    assert membership.attribution.campaign == "members"
    gift = patronage.ledger.get_typed(gift_id_for("pi_in_1"), Gift)
    assert (gift.kind, gift.invoice_id, gift.amount) == (
        GiftKind.MONTHLY,
        "in_1",
        Money(1000, "USD"),
    )
    assert gift.supporter_id == supporter_id_for(GRACE)


def test_an_invoice_without_its_payment_intent_is_keyed_by_the_invoice(
    client: TestClient, patronage: Patronage
) -> None:
    metadata = se.our_metadata(GRACE, kind="monthly")
    invoice = se.invoice("in_2", "sub_2", 1000, metadata, GRACE, pi="pi_x", include_payments=False)
    assert se.deliver(client, se.event("invoice.paid", invoice)).json()["status"] == "applied"
    assert patronage.ledger.get_typed(gift_id_for("in_2"), Gift).invoice_id == "in_2"


# Any order -------------------------------------------------------------------------------


def test_a_refund_before_its_payment_waits_and_is_applied_when_the_payment_arrives(
    client: TestClient, patronage: Patronage
) -> None:
    refund = se.event("refund.created", se.refund("re_1", "pi_ada_1", 1000), created=se.T0 + 60)
    parked = se.deliver(client, refund)
    assert parked.status_code == 200
    assert parked.json()["status"] == "parked"
    assert parked.json()["detail"] == "payment:pi_ada_1"

    session, _ = one_time(amount=2500)
    assert se.deliver(client, session).json()["status"] == "applied"
    gift = patronage.ledger.get_typed(gift_id_for("pi_ada_1"), Gift)
    assert gift.refunded == Money(1000, "USD")
    assert gift.net == Money(1500, "USD")
    released = patronage.inbox.get(refund["id"])
    assert released is not None
    assert released.status == InboxStatus.APPLIED
    assert patronage.inbox.waiting() == []


def test_a_subscription_report_without_email_waits_for_its_supporter(
    client: TestClient, patronage: Patronage
) -> None:
    metadata = se.our_metadata(GRACE, kind="monthly")
    created = se.event(
        "customer.subscription.created",
        se.subscription("sub_3", 1500, metadata, status="incomplete"),
        created=se.T0,
    )
    assert se.deliver(client, created).json()["detail"] == "subscription:sub_3"
    invoice = se.invoice("in_3", "sub_3", 1500, metadata, GRACE, pi="pi_in_3", paid_at=se.T0 + 5)
    assert se.deliver(client, se.event("invoice.paid", invoice, se.T0 + 5)).status_code == 200
    membership = patronage.ledger.get_typed(membership_id_for("sub_3"), Membership)
    assert membership.status == MembershipStatus.ACTIVE
    assert membership.started_at.timestamp() == se.T0, "the subscription's own start"
    assert membership.monthly_amount == Money(1500, "USD")
    assert patronage.inbox.get(created["id"]).status == InboxStatus.APPLIED  # type: ignore[union-attr]


def test_lifecycle_refunds_and_disputes(client: TestClient, patronage: Patronage) -> None:
    metadata = se.our_metadata(GRACE, kind="monthly")
    sub = "sub_4"

    def sub_event(kind: str, at: int, **fields: object) -> dict:  # type: ignore[type-arg]
        return se.event(kind, se.subscription(sub, 1000, metadata, **fields), created=at)  # type: ignore[arg-type]

    for evt in [
        se.event("invoice.paid", se.invoice("in_4", sub, 1000, metadata, GRACE, pi="pi_4"), se.T0),
        sub_event("customer.subscription.created", se.T0, status="active"),
        sub_event("customer.subscription.paused", se.T0 + 10, status="paused"),
        sub_event("customer.subscription.resumed", se.T0 + 20, status="active"),
        sub_event("customer.subscription.updated", se.T0 + 30, cancel_at_period_end=True),
    ]:
        assert se.deliver(client, evt).json()["status"] == "applied"
    membership = patronage.ledger.get_typed(membership_id_for(sub), Membership)
    assert membership.status == MembershipStatus.CANCELLATION_SCHEDULED
    late = sub_event("customer.subscription.updated", se.T0 + 15, status="past_due")
    se.deliver(client, late)
    assert patronage.ledger.get_typed(membership_id_for(sub), Membership).status == (
        MembershipStatus.CANCELLATION_SCHEDULED
    ), "an older report never overwrites a newer one"
    se.deliver(client, sub_event("customer.subscription.deleted", se.T0 + 40, status="canceled"))
    assert patronage.ledger.get_typed(membership_id_for(sub), Membership).is_cancelled

    # A partial refund reported twice (charge and refund views), then a dispute, lost.
    refund = se.refund("re_4", "pi_4", 300)
    se.deliver(client, se.event("charge.refunded", se.charge_refunded("pi_4", 1000, [refund])))
    se.deliver(client, se.event("refund.created", refund))
    for kind, status in [
        ("charge.dispute.closed", "lost"),
        ("charge.dispute.created", "needs_response"),
        ("charge.dispute.funds_withdrawn", "needs_response"),
    ]:
        se.deliver(client, se.event(kind, se.dispute("dp_4", "pi_4", 700, status)))
    gift = patronage.ledger.get_typed(gift_id_for("pi_4"), Gift)
    assert gift.refunded == Money(300, "USD")
    assert gift.disputes == {"dp_4": DisputeStatus.LOST}
    assert gift.net == Money(0, "USD")


def test_customer_updates_reach_the_supporter(client: TestClient, patronage: Patronage) -> None:
    session, _ = one_time()
    se.deliver(client, session)
    customer = {
        "id": "cus_ada",
        "object": "customer",
        "email": "ada@lovelace.example",
        "name": "Ada King",
        "address": {"line1": "12 St James's Square", "city": "London", "postal_code": "SW1Y"},
        "metadata": {},
    }
    response = se.deliver(client, se.event("customer.updated", customer, previous={"email": ADA}))
    assert response.json()["status"] == "applied"
    supporter = patronage.ledger.get_typed(supporter_id_for(ADA), Supporter)
    assert (supporter.email, supporter.name) == ("ada@lovelace.example", "Ada King")
    assert supporter.address.city == "London"
    assert "cus_ada" in supporter.stripe_customer_ids


def test_unknown_events_are_acknowledged_and_ignored(
    client: TestClient, patronage: Patronage
) -> None:
    response = se.deliver(client, se.event("balance.available", {"object": "balance"}))
    assert response.status_code == 200
    assert response.json()["status"] == "ignored"
    assert "balance.available" in response.json()["detail"]


def test_an_event_a_rule_refuses_is_kept_as_failed_for_staff(
    client: TestClient, patronage: Patronage
) -> None:
    bad = se.event(
        "payment_intent.succeeded",
        se.payment_intent("pi_xyz", 500, se.our_metadata(ADA), currency="xyz"),
    )
    response = se.deliver(client, bad)
    assert response.status_code == 200
    assert response.json()["status"] == "failed"
    assert "unsupported currency" in response.json()["detail"]


# Transient failures ----------------------------------------------------------------------


def test_a_store_failure_answers_503_and_the_redelivery_applies_it(
    client: TestClient, patronage: Patronage, monkeypatch: pytest.MonkeyPatch
) -> None:
    session, _ = one_time()
    real_apply = patronage.giving.apply

    def broken_apply(*args: object, **kwargs: object) -> str:
        raise OperationalError("connection lost")

    monkeypatch.setattr(patronage.giving, "apply", broken_apply)
    response = se.deliver(client, session)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "30"
    recorded = patronage.inbox.get(session["id"])
    assert recorded is not None
    assert recorded.status == InboxStatus.RECEIVED, "kept, not applied, not lost"

    monkeypatch.setattr(patronage.giving, "apply", real_apply)
    again = se.deliver(client, session)
    assert again.status_code == 200
    assert again.json() | {"detail": ""} == {
        "event_id": session["id"],
        "event_type": "checkout.session.completed",
        "status": "applied",
        "detail": "",
        "duplicate": True,
    }
    assert patronage.ledger.get_or_none(gift_id_for("pi_ada_1"), Gift) is not None


def test_a_refund_of_a_basil_renewal_finds_its_gift_through_the_invoice_payment(
    client: TestClient, patronage: Patronage
) -> None:
    metadata = se.our_metadata(GRACE, kind="monthly")
    refund = se.event("refund.created", se.refund("re_5", "pi_5", 1000), created=se.T0 + 99)
    link = se.event(
        "invoice_payment.paid",
        {
            "id": "inpay_5",
            "object": "invoice_payment",
            "invoice": "in_5",
            "payment": {"type": "payment_intent", "payment_intent": "pi_5"},
            "status": "paid",
        },
    )
    # No PaymentIntent in the invoice (basil webhooks leave `payments` out): keyed by invoice.
    invoice = se.invoice("in_5", "sub_5", 1000, metadata, GRACE, pi="pi_5", include_payments=False)

    assert se.deliver(client, refund).json()["detail"] == "payment:pi_5"
    assert se.deliver(client, link).json()["status"] == "applied"
    waiting = patronage.inbox.get(refund["id"])
    assert waiting is not None
    assert (waiting.status, waiting.detail) == (InboxStatus.PARKED, "payment:in_5")
    assert se.deliver(client, se.event("invoice.paid", invoice)).json()["status"] == "applied"

    gift = patronage.ledger.get_typed(gift_id_for("in_5"), Gift)
    assert gift.refunded == Money(1000, "USD")
    assert patronage.inbox.get(refund["id"]).status == InboxStatus.APPLIED  # type: ignore[union-attr]
    assert patronage.inbox.waiting() == []


def test_a_refund_that_fits_only_after_another_failed_waits_for_that_failure(
    client: TestClient, patronage: Patronage
) -> None:
    session, _ = one_time(amount=1000)
    se.deliver(client, session)
    first = se.refund("re_a", "pi_ada_1", 1000, status="pending", created=se.T0 + 10)
    second = se.refund("re_b", "pi_ada_1", 1000, created=se.T0 + 30)
    se.deliver(client, se.event("refund.created", first, created=se.T0 + 10))
    # Stripe made the second refund after the first failed; its report came first.
    early = se.event("refund.created", second, created=se.T0 + 30)
    parked = se.deliver(client, early).json()
    assert (parked["status"], parked["detail"]) == ("parked", "refund-reversal:pi_ada_1")
    failed = se.event("refund.updated", first | {"status": "failed"}, created=se.T0 + 20)
    assert se.deliver(client, failed).json()["status"] == "applied"

    gift = patronage.ledger.get_typed(gift_id_for("pi_ada_1"), Gift)
    assert gift.refunds == {"re_b": Money(1000, "USD")}
    assert gift.reversed_refunds == {"re_a"}
    assert patronage.inbox.get(early["id"]).status == InboxStatus.APPLIED  # type: ignore[union-attr]


def test_concurrent_deliveries_of_one_event_apply_it_once(
    client: TestClient, patronage: Patronage
) -> None:
    import threading

    session, _ = one_time()
    responses: list[int] = []

    # Each thread its own app, as each API process has; built and started here, one after
    # another, as processes start theirs: an app's first request builds its routes' schemas,
    # and pydantic's schema building warned when apps did that at once.
    with ExitStack() as stack:
        clients = [stack.enter_context(TestClient(create_app(patronage))) for _ in range(5)]
        for own_client in clients:
            assert own_client.get("/healthz").status_code == 200

        def post(own_client: TestClient) -> None:
            responses.append(se.deliver(own_client, session).status_code)

        threads = [threading.Thread(target=post, args=(c,)) for c in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert responses == [200] * 5
    assert patronage.ledger.get_typed(gift_id_for("pi_ada_1"), Gift).version == 1
    recorded = patronage.inbox.get(session["id"])
    assert recorded is not None
    assert (recorded.status, recorded.version) == (InboxStatus.APPLIED, 2)
