"""`/checkout` over HTTP: validation, the card-testing guard's limits and the gateway's
failures as status codes.

The store is SQLite only and the gateway the in-memory one: the subject is the HTTP
mapping. Checkout's logic is in tests/service/test_checkout.py, the Stripe gateway's
contract in test_payment_gateway_contract.py, the whole path with localstripe in
tests/e2e/test_demo_browser.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from patronage.api.app import create_app
from patronage.bootstrap import bootstrap, checkout_for
from patronage.config import Settings
from patronage.domain.checkout import checkout_id_for
from tests.support.payments import DECLINING_CARD, InMemoryPaymentGateway

pytestmark = pytest.mark.parametrize("store", ["sqlite"])


@contextmanager
def client_for(
    settings: Settings, **changes: Any
) -> Iterator[tuple[TestClient, InMemoryPaymentGateway]]:
    settings = settings.model_copy(update=changes)
    gateway = InMemoryPaymentGateway(confirm_on_server=settings.checkout_test_card)
    patronage = bootstrap(settings)
    checkout = checkout_for(settings, patronage.ledger, gateway)
    try:
        yield TestClient(create_app(replace(patronage, checkout=checkout))), gateway
    finally:
        patronage.close()


@pytest.fixture
def demo(settings: Settings) -> Iterator[tuple[TestClient, InMemoryPaymentGateway]]:
    """The server's test card: one call pays, for the tests of the answers' HTTP mapping."""
    with client_for(settings, checkout_test_card=True) as running:
        yield running


def gift(**changes: Any) -> dict[str, Any]:
    return {
        "checkout_key": uuid4().hex,
        "frequency": "one_time",
        "amount": "25.00",
        "currency": "USD",
        "cover_fees": True,
        "email": "Ada.Reader@Example.org",
        "name": "Ada Reader",
        "tribute": {"kind": "memory", "name": "Grace"},
        "tracking": {"campaign": "spring", "variant": "urgent", "article_id": "a-42"},
        "reader_id": "reader-7",
        **changes,
    }


def test_a_gift_is_answered_with_its_amounts_and_token_and_a_resend_pays_once(
    demo: tuple[TestClient, InMemoryPaymentGateway],
) -> None:
    client, gateway = demo
    body = gift()
    answer = client.post("/checkout", json=body)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["status"] == "succeeded"
    assert result["supporter_token"].startswith("v1.")
    assert result["fee"]["text"] == "0.87"
    assert result["total"]["minor"] == 2587
    assert result["client_secret"] == "", "no secret once paid"
    checkout_id = str(checkout_id_for(body["checkout_key"]))
    assert result["checkout_id"] == checkout_id

    again = client.post("/checkout", json=body)
    assert again.status_code == 200 and again.json()["checkout_id"] == checkout_id
    assert len(gateway.payments) == 1

    changed = client.post("/checkout", json={**body, "amount": "50.00"})
    assert changed.status_code == 409 and "other details" in changed.json()["detail"]


@pytest.mark.parametrize(
    ("changes", "field", "code", "words"),
    [
        ({"amount": "25.001"}, "amount", "amount_invalid", "like 25 or 25.50"),
        ({"amount": "1.50"}, "amount", "amount_too_small", "smallest gift is"),
        ({"amount": "50000"}, "amount", "amount_too_large", "largest gift"),
        ({"amount": "-5"}, "amount", "amount_invalid", "in numbers"),
        ({"amount": ""}, "amount", "amount_invalid", "in numbers"),
        ({"currency": "XXX"}, "currency", "currency_invalid", "not accepted"),
        ({"currency": "JPY"}, "currency", "currency_invalid", "not accepted"),
        ({"email": "not-an-email"}, "email", "email_invalid", "name@example.org"),
        ({"email": ""}, "email", "email_invalid", "name@example.org"),
        ({"frequency": "weekly"}, "frequency", "frequency_invalid", "once or monthly"),
        ({"name": ""}, "name", "name_missing", "enter your name"),
        ({"name": "x" * 201}, "name", "name_too_long", "200 characters"),
        ({"tribute": {"kind": "memory", "name": ""}}, "tribute.name", "tribute_name_missing",
         "the person"),
    ],
)  # fmt: skip
def test_invalid_checkouts_are_422_with_a_code_and_a_readers_message(
    demo: tuple[TestClient, InMemoryPaymentGateway],
    changes: dict[str, Any],
    field: str,
    code: str,
    words: str,
) -> None:
    client, gateway = demo
    answer = client.post("/checkout", json=gift(**changes))
    assert answer.status_code == 422
    [problem] = answer.json()["detail"]
    assert (problem["field"], problem["code"]) == (field, code)
    assert words in problem["message"]
    assert "value is not" not in problem["message"] and "String should" not in problem["message"]
    assert gateway.payments == {} and gateway.customers == []


def test_every_refused_field_is_named_once(
    demo: tuple[TestClient, InMemoryPaymentGateway],
) -> None:
    client, _ = demo
    answer = client.post("/checkout", json=gift(email="", name="", frequency="weekly"))
    codes = {p["code"] for p in answer.json()["detail"]}
    assert codes == {"email_invalid", "name_missing", "frequency_invalid"}
    junk = client.post(
        "/checkout", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert junk.status_code == 422 and junk.json()["detail"][0]["code"] == "body_invalid"


def test_the_card_path_sets_up_a_card_then_charges_it_once(settings: Settings) -> None:
    with client_for(settings, stripe_publishable_key="pk_test_patronage") as (client, gateway):
        body = gift()
        started = client.post("/checkout", json=body)
        assert started.status_code == 200, started.text
        result = started.json()
        assert result["status"] == "requires_payment_method" and result["supporter_token"] == ""
        [setup] = gateway.setups.values()
        assert result["client_secret"] == setup.client_secret
        assert result["publishable_key"] == "pk_test_patronage"
        method = gateway.save_card(setup)  # Stripe.js confirmCardSetup on the page

        paid = client.post("/checkout/payments", json={**body, "payment_method": method})
        assert paid.status_code == 200, paid.text
        assert paid.json()["status"] == "succeeded"
        assert paid.json()["supporter_token"].startswith("v1.")
        again = client.post("/checkout/payments", json={**body, "payment_method": method})
        assert again.json()["checkout_id"] == result["checkout_id"]
        assert len(gateway.payments) == 1
        confirmed = client.post(
            "/checkout/confirmations", json={"checkout_id": result["checkout_id"]}
        )
        assert confirmed.json()["status"] == "succeeded"
        unknown = client.post("/checkout/confirmations", json={"checkout_id": str(uuid4())})
        assert unknown.status_code == 404
        unstarted = client.post("/checkout/payments", json={**gift(), "payment_method": method})
        assert unstarted.status_code == 404


def test_a_declined_card_is_402_with_a_message_and_a_new_attempt_pays(
    settings: Settings,
) -> None:
    with client_for(settings) as (client, gateway):
        body = gift()
        client.post("/checkout", json=body)
        [setup] = gateway.setups.values()
        method = gateway.save_card(setup, DECLINING_CARD)
        declined = client.post("/checkout/payments", json={**body, "payment_method": method})
        assert declined.status_code == 402
        assert declined.json()["detail"] == (
            "Your card was declined. Please check the details or try another card."
        )
        retry = gift()  # the page's next press of "give": a new checkout key
        client.post("/checkout", json=retry)
        setup = gateway.setups[max(gateway.setups)]
        paid = client.post(
            "/checkout/payments", json={**retry, "payment_method": gateway.save_card(setup)}
        )
        assert paid.json()["status"] == "succeeded"


def test_typos_do_not_count_but_card_setups_do(settings: Settings) -> None:
    """On the card path the guard counts each card setup (a new checkout key), once."""
    limited = {"checkout_limit_per_reader": 2, "checkout_limit_per_ip": 30}
    with client_for(settings, **limited) as (client, gateway):
        for _ in range(10):  # a reader's typos, or a whole office's behind one address
            assert client.post("/checkout", json=gift(email="ada@")).status_code == 422
        body = gift()
        assert client.post("/checkout", json=body).status_code == 200
        assert client.post("/checkout", json=body).status_code == 200  # a resend: not counted
        assert client.post("/checkout", json=gift()).status_code == 200
        refused = client.post("/checkout", json=gift())
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
        assert refused.json()["detail"] == (
            "There have been too many payment attempts from here. Please try again in 10 minutes."
        )
    assert len(gateway.setups) == 2


def test_a_declined_checkout_takes_no_second_charge(settings: Settings) -> None:
    with client_for(settings) as (client, gateway):
        body = gift()
        client.post("/checkout", json=body)
        [setup] = gateway.setups.values()
        method = gateway.save_card(setup, DECLINING_CARD)
        assert (
            client.post("/checkout/payments", json={**body, "payment_method": method}).status_code
            == 402
        )
        other = gateway.save_card(setup)
        again = client.post("/checkout/payments", json={**body, "payment_method": other})
        assert again.status_code == 409 and "start again" in again.json()["detail"]
        assert gateway.payments == {}


def test_card_testing_is_slowed_per_reader_email_and_address_counting_only_payments(
    settings: Settings,
) -> None:
    limited = {
        "checkout_limit_per_reader": 2,
        "checkout_limit_per_email": 3,
        "checkout_limit_per_ip": 5,
        "checkout_test_card": True,
    }
    with client_for(settings, **limited) as (client, gateway):
        # Typos never reach Stripe, so they never count against the reader.
        tiny = gift(amount="0.50")
        assert [client.post("/checkout", json=tiny).status_code for _ in range(3)] == [422] * 3
        assert [client.post("/checkout", json=gift()).status_code for _ in range(2)] == [200] * 2
        refused = client.post("/checkout", json=gift())
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
        assert "too many payment attempts" in refused.json()["detail"]
        # Another browser with the same email: one more, then the email's limit (3).
        assert client.post("/checkout", json=gift(reader_id="reader-8")).status_code == 200
        by_email = client.post("/checkout", json=gift(reader_id="reader-9"))
        assert by_email.status_code == 429
        # Every payment attempt counted against the address (5): a fresh reader and email too.
        fresh = gift(reader_id="reader-10", email="someone.else@example.org")
        by_address = client.post("/checkout", json=fresh)
        assert by_address.status_code == 429
    assert len(gateway.payments) == 3


def test_when_the_gateway_is_down_the_donor_gets_502_and_a_retry_pays_once(
    demo: tuple[TestClient, InMemoryPaymentGateway],
) -> None:
    client, gateway = demo
    body = gift()
    gateway.reachable = False
    answer = client.post("/checkout", json=body)
    assert answer.status_code == 502 and "try again" in answer.json()["detail"]
    gateway.reachable = True
    retried = client.post("/checkout", json=body)
    assert retried.status_code == 200 and retried.json()["status"] == "succeeded"
    assert retried.json()["checkout_id"] == str(checkout_id_for(body["checkout_key"]))
    assert len(gateway.payments) == 1
