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
from tests.support.payments import InMemoryPaymentGateway

pytestmark = pytest.mark.parametrize("store", ["sqlite"])


@contextmanager
def client_for(
    settings: Settings, **changes: Any
) -> Iterator[tuple[TestClient, InMemoryPaymentGateway]]:
    settings = settings.model_copy(update=changes)
    gateway = InMemoryPaymentGateway(confirm_on_server=settings.demo_mode)
    patronage = bootstrap(settings)
    checkout = checkout_for(settings, patronage.ledger, gateway)
    try:
        yield TestClient(create_app(replace(patronage, checkout=checkout))), gateway
    finally:
        patronage.close()


@pytest.fixture
def demo(settings: Settings) -> Iterator[tuple[TestClient, InMemoryPaymentGateway]]:
    with client_for(settings, demo_mode=True) as running:
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
    ("changes", "reason"),
    [
        ({"amount": "25.001"}, "decimal places"),
        ({"amount": "1.50"}, "smallest gift"),
        ({"amount": "50000"}, "largest gift"),
        ({"amount": "-5"}, "not an amount"),
        ({"currency": "XXX"}, "unsupported currency"),
        ({"currency": "JPY"}, "we accept"),
        ({"email": "not-an-email"}, "email"),
        ({"frequency": "weekly"}, "one_time"),
        ({"name": ""}, "at least 1 character"),
    ],
)
def test_invalid_checkouts_are_422_with_a_reason_and_ask_the_gateway_nothing(
    demo: tuple[TestClient, InMemoryPaymentGateway], changes: dict[str, Any], reason: str
) -> None:
    client, gateway = demo
    answer = client.post("/checkout", json=gift(**changes))
    assert answer.status_code == 422
    assert reason in answer.text
    assert gateway.payments == {}


def test_without_demo_mode_the_page_gets_a_client_secret_and_the_token_after_paying(
    settings: Settings,
) -> None:
    with client_for(settings) as (client, gateway):
        started = client.post("/checkout", json=gift())
        assert started.status_code == 200, started.text
        result = started.json()
        assert result["client_secret"].startswith("pi_") and result["supporter_token"] == ""
        assert result["status"] == "requires_payment_method"
        gateway.pay(result["client_secret"].split("_secret_")[0])  # Stripe.js on the page
        confirmed = client.post(
            "/checkout/confirmations", json={"checkout_id": result["checkout_id"]}
        )
        assert confirmed.json()["status"] == "succeeded"
        assert confirmed.json()["supporter_token"].startswith("v1.")
        unknown = client.post("/checkout/confirmations", json={"checkout_id": str(uuid4())})
        assert unknown.status_code == 404


def test_card_testing_is_slowed_per_reader_email_and_address_counting_only_payments(
    settings: Settings,
) -> None:
    limited = {
        "checkout_limit_per_reader": 2,
        "checkout_limit_per_email": 3,
        "checkout_limit_per_ip": 5,
        "demo_mode": True,
    }
    with client_for(settings, **limited) as (client, gateway):
        # Typos never reach Stripe, so they never count against the reader.
        tiny = gift(amount="0.50")
        assert [client.post("/checkout", json=tiny).status_code for _ in range(3)] == [422] * 3
        assert [client.post("/checkout", json=gift()).status_code for _ in range(2)] == [200] * 2
        refused = client.post("/checkout", json=gift())
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
        assert "too many attempts from this reader" in refused.json()["detail"]
        # Another browser with the same email: one more, then the email's limit (3).
        assert client.post("/checkout", json=gift(reader_id="reader-8")).status_code == 200
        by_email = client.post("/checkout", json=gift(reader_id="reader-9"))
        assert by_email.status_code == 429 and "email" in by_email.json()["detail"]
        # Every payment attempt counted against the address (5): a fresh reader and email too.
        fresh = gift(reader_id="reader-10", email="someone.else@example.org")
        by_address = client.post("/checkout", json=fresh)
        assert by_address.status_code == 429 and "address" in by_address.json()["detail"]
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
