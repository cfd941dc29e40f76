"""Nothing a reader sends before a payment succeeds changes a supporter (issue 15, defect 3):
a checkout with a donor's email and another name renames no one, never reuses the donor's
Stripe customer, and registers no one; the details take effect when Stripe confirms the
payment (its webhook). Both stores, localstripe over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from patronage.api.app import create_app
from patronage.application.giving import RecordGift, SupporterDetails
from patronage.application.ledger import UnitOfWork
from patronage.bootstrap import Patronage, bootstrap
from patronage.config import Settings
from patronage.domain.money import Money
from patronage.domain.supporter import Supporter
from patronage.domain.values import Attribution
from patronage.payments import metadata as keys
from tests.support import stripe_events as se
from tests.support.checkout import (
    confirm_card_setup,
    recording_proxy,
    stripe_objects,
    with_stripe,
)
from tests.support.servers import LocalStripe, localstripe_server

ADA = "ada@example.org"


@pytest.fixture
def localstripe(tmp_path: Path) -> Iterator[LocalStripe]:
    with localstripe_server(tmp_path) as server:
        yield server


@pytest.fixture(params=[False], ids=["card"])
def paying(
    request: pytest.FixtureRequest, settings: Settings, localstripe: LocalStripe
) -> Iterator[tuple[Patronage, TestClient]]:
    """Checkout against localstripe: as in production (the page saves the card, then the
    server charges it) or with the server's test card (paid at once); their webhooks are
    not delivered here."""
    test_card = bool(request.param)
    with recording_proxy(localstripe.url) as proxy:
        patronage = bootstrap(
            with_stripe(settings, proxy.url, localstripe.api_key, checkout_test_card=test_card)
        )
        try:
            yield patronage, TestClient(create_app(patronage))
        finally:
            patronage.close()


VISA = "4242424242424242"


def _checkout(email: str, name: str, frequency: str) -> dict[str, object]:
    return {
        "checkout_key": uuid4().hex,
        "frequency": frequency,
        "amount": "15",
        "currency": "USD",
        "email": email,
        "name": name,
    }


def _supporter(patronage: Patronage, email: str) -> Supporter | None:
    """The supporter the email belongs to, as checkout's directory finds them."""
    return patronage.checkout.directory.find(UnitOfWork(patronage.ledger), None, email)


def _ada_gives(patronage: Patronage) -> Supporter:
    patronage.giving.record_gift(
        RecordGift(
            "pi_ada_first",
            SupporterDetails(email=ADA, name="Ada Lovelace", stripe_customer_id="cus_ada_own"),
            Money(2500, "USD"),
            datetime(2026, 3, 14, tzinfo=UTC),
            Attribution(),
        )
    )
    ada = _supporter(patronage, ADA)
    assert ada is not None
    return ada


def _give(client: TestClient, localstripe: LocalStripe, body: dict[str, object]) -> None:
    """Both steps of the page's checkout, the card confirmed as Stripe.js does."""
    answer = client.post("/checkout", json=body)
    assert answer.status_code == 200, answer.text
    if answer.json()["status"] == "requires_payment_method":
        method = confirm_card_setup(localstripe, answer.json()["client_secret"], VISA)
        answer = client.post("/checkout/payments", json={**body, "payment_method": method})
    assert answer.json()["status"] == "succeeded", answer.text


@pytest.mark.parametrize(
    ("paying", "frequency"),
    [(False, "one_time"), (False, "monthly"), (True, "one_time"), (True, "monthly")],
    ids=["card-one-time", "card-monthly", "test-card-one-time", "test-card-monthly"],
    indirect=["paying"],
)
def test_a_strangers_checkout_renames_no_donor_and_uses_no_donors_customer(
    paying: tuple[Patronage, TestClient], localstripe: LocalStripe, frequency: str
) -> None:
    patronage, client = paying
    before = _ada_gives(patronage)
    _give(client, localstripe, _checkout(ADA.upper(), "Mallory", frequency))

    ada = _supporter(patronage, ADA)
    assert ada is not None
    assert ada.name == "Ada Lovelace"
    assert ada.stripe_customer_ids == ["cus_ada_own"]
    assert ada.version == before.version  # no event at all
    for subscription in stripe_objects(localstripe, "subscriptions"):
        assert subscription["customer"] != "cus_ada_own"
    for intent in stripe_objects(localstripe, "payment_intents"):
        assert intent["customer"] != "cus_ada_own"
    for created in stripe_objects(localstripe, "payment_intents" if frequency == "one_time"
                                  else "subscriptions"):  # fmt: skip
        assert created["metadata"][keys.DONOR_NAME] == "Mallory"


def test_a_checkout_registers_no_one_before_the_payment(
    paying: tuple[Patronage, TestClient],
) -> None:
    patronage, client = paying
    answer = client.post("/checkout", json=_checkout("new@example.org", "Newcomer", "one_time"))
    assert answer.status_code == 200, answer.text
    assert _supporter(patronage, "new@example.org") is None


def test_the_checkout_details_take_effect_when_stripe_confirms(patronage: Patronage) -> None:
    """The confirmed payment's webhook carries the checkout's name and email (metadata): a new
    donor is registered with them, a known one renamed, only now."""
    _ada_gives(patronage)
    with TestClient(create_app(patronage)) as client:
        for email, name, pi in ((ADA, "Ada King", "pi_ada_2"), ("new@example.org", "Newt", "pi_n")):
            supporter_id = patronage.checkout.directory.id_for(email)
            metadata = keys.checkout_metadata(
                supporter_id, "one_time", Attribution(), donor_email=email, donor_name=name
            )
            evt = se.event("payment_intent.succeeded", se.payment_intent(pi, 1500, metadata))
            assert se.deliver(client, evt).json()["status"] == "applied"
    ada, newt = _supporter(patronage, ADA), _supporter(patronage, "new@example.org")
    assert ada is not None and ada.name == "Ada King"
    assert newt is not None
    assert (newt.name, newt.email) == ("Newt", "new@example.org")
