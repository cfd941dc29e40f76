"""Money outside our checkout, on both stores: listed for staff (review) or booked (book);
an invoice's own PaymentIntent never twice; out-of-band invoices marked as such."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from patronage.api.app import create_app
from patronage.bootstrap import Patronage, bootstrap
from patronage.config import load_settings
from patronage.domain.gift import Gift, gift_id_for
from patronage.domain.money import Money
from patronage.domain.unattributed import UnattributedPayment, unattributed_payment_id_for
from tests.support import stripe_events as se
from tests.support.fake_stripe import FakeStripe, fake_stripe_server
from tests.support.stores import store_settings

STAFF = {"Authorization": "Bearer staff-key-for-tests"}
ADA = "ada@example.org"


@pytest.fixture
def client(patronage: Patronage) -> Iterator[TestClient]:
    with TestClient(create_app(patronage)) as test_client:
        yield test_client


@pytest.fixture
def booking(store: str, tmp_path: Path) -> Iterator[tuple[Patronage, FakeStripe]]:
    """unattributed_payments=book, with Stripe answered by the loopback fake."""
    with fake_stripe_server() as fake, store_settings(store, tmp_path) as overrides:
        settings = load_settings(
            _env_file=None,
            stripe_secret_key=fake.api_key,
            stripe_api_base=fake.url,
            unattributed_payments="book",
            **overrides,
        )
        patronage = bootstrap(settings)
        try:
            yield patronage, fake
        finally:
            patronage.close()


def foreign(pi: str, email: str | None = ADA, customer: str | None = None) -> dict:  # type: ignore[type-arg]
    """A payment made by a Payment Link: no metadata of ours."""
    intent = se.payment_intent(pi, 1800, {}, email, customer=customer)
    return se.event("payment_intent.succeeded", intent)


def test_review_lists_foreign_money_for_staff_who_book_or_dismiss_it(
    client: TestClient, patronage: Patronage
) -> None:
    for pi in ("pi_link", "pi_other"):
        answer = se.deliver(client, foreign(pi)).json()
        assert (answer["status"], "listed for staff review" in answer["detail"]) == (
            "applied",
            True,
        )
    listed = client.get("/staff/inbox/unbooked", headers=STAFF).json()
    assert [(p["payment_id"], p["amount"]["minor"], p["email"]) for p in listed] == [
        ("pi_link", 1800, ADA),
        ("pi_other", 1800, ADA),
    ]
    assert patronage.ledger.get_or_none(gift_id_for("pi_link"), Gift) is None
    refund = se.event("refund.created", se.refund("re_link", "pi_link", 300))
    assert "noted on pi_link" in se.deliver(client, refund).json()["detail"]
    booked = client.post("/staff/inbox/unbooked/pi_link/book", headers=STAFF)
    assert booked.status_code == 200, booked.text
    gift = patronage.ledger.get_typed(gift_id_for("pi_link"), Gift)
    assert (gift.amount, gift.supporter_id) == (
        Money(1800, "USD"),
        patronage.giving.directory.id_for(ADA),
    )
    assert gift.net == Money(1500, "USD"), "the refund reported while it waited goes with it"
    dismissed = client.post(
        "/staff/inbox/unbooked/pi_other/dismiss", json={"reason": "a ticket sale"}, headers=STAFF
    )
    assert dismissed.status_code == 204
    assert client.get("/staff/inbox/unbooked", headers=STAFF).json() == []
    again = client.post("/staff/inbox/unbooked/pi_link/book", headers=STAFF)
    assert again.status_code == 409
    assert "booked by" in again.json()["detail"]
    trail = patronage.ledger.get_typed(unattributed_payment_id_for("pi_other"), UnattributedPayment)
    assert (trail.status, trail.decided_by, trail.reason) == (
        "dismissed",
        "bootstrap-key-1",
        "a ticket sale",
    )
    assert client.post("/staff/inbox/unbooked/pi_none/book", headers=STAFF).status_code == 404
    assert client.get("/staff/inbox/unbooked").status_code == 401


def test_book_books_foreign_money_with_the_customer_from_stripe_but_never_an_invoice_twice(
    booking: tuple[Patronage, FakeStripe],
) -> None:
    patronage, fake = booking
    fake.state.add_customer("cus_link", ADA, "Ada Lovelace")
    evt = foreign("pi_link", email=None, customer="cus_link")
    assert patronage.inbox.receive(se.body_of(evt), evt).status == "applied"
    gift = patronage.ledger.get_typed(gift_id_for("pi_link"), Gift)
    assert (gift.supporter_id, gift.through_stripe) == (
        patronage.giving.directory.id_for(ADA),
        True,
    )
    # A basil invoice's PaymentIntent carries neither metadata nor its invoice: Stripe knows.
    fake.state.invoice_of_payment["pi_renewal"] = "in_renewal"
    renewal = foreign("pi_renewal")
    assert patronage.inbox.receive(se.body_of(renewal), renewal).status == "applied"
    assert patronage.ledger.get_or_none(gift_id_for("pi_renewal"), Gift) is None
    metadata = se.our_metadata(ADA, kind="monthly")
    invoice = se.invoice(
        "in_renewal", "sub_1", 1800, metadata, ADA, pi="pi_renewal", include_payments=False
    )
    paid = se.event("invoice.paid", invoice)
    assert patronage.inbox.receive(se.body_of(paid), paid).status == "applied"
    assert patronage.ledger.get_typed(gift_id_for("in_renewal"), Gift).amount == Money(1800, "USD")
    assert patronage.inbox.unbooked() == []


def test_an_invoice_paid_out_of_band_is_marked_as_not_through_stripe(
    patronage: Patronage,
) -> None:
    metadata = se.our_metadata(ADA, kind="monthly")
    invoice = se.invoice("in_cash", "sub_1", 1200, metadata, ADA, shape="legacy", pi=None)
    invoice["paid_out_of_band"] = True
    evt = se.event("invoice.paid", invoice)
    assert patronage.inbox.receive(se.body_of(evt), evt).status == "applied"
    assert patronage.ledger.get_typed(gift_id_for("in_cash"), Gift).through_stripe is False
