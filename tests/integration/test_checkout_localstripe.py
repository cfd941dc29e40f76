from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
import stripe
from fastapi.testclient import TestClient

from patronage.api.app import create_app
from patronage.bootstrap import bootstrap
from patronage.config import Settings
from patronage.domain.checkout import checkout_id_for
from patronage.domain.supporter import Supporter, supporter_id_for
from patronage.payments import metadata as keys
from tests.support.checkout import RecordingProxy, recording_proxy, stripe_objects, with_stripe
from tests.support.servers import LocalStripe, free_port, localstripe_server

KINDS = ("payment_intents", "customers", "subscriptions", "plans")


@pytest.fixture
def localstripe(tmp_path: Path) -> Iterator[LocalStripe]:
    with localstripe_server(tmp_path) as server:
        yield server


@pytest.fixture
def proxy(localstripe: LocalStripe) -> Iterator[RecordingProxy]:
    with recording_proxy(localstripe.url) as recording:
        yield recording


@contextmanager
def client_for(
    settings: Settings, proxy: RecordingProxy, api_key: str, **changes: Any
) -> Iterator[TestClient]:
    patronage = bootstrap(with_stripe(settings, proxy.url, api_key, **changes))
    try:
        yield TestClient(create_app(patronage))
    finally:
        patronage.close()


@pytest.fixture
def demo(
    settings: Settings, proxy: RecordingProxy, localstripe: LocalStripe
) -> Iterator[TestClient]:
    with client_for(settings, proxy, localstripe.api_key, demo_mode=True) as client:
        yield client


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


def test_one_time_gift_is_a_payment_intent_with_our_metadata_and_idempotency_key(
    demo: TestClient, localstripe: LocalStripe, proxy: RecordingProxy
) -> None:
    body = gift()
    answer = demo.post("/checkout", json=body)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["status"] == "succeeded"
    assert result["supporter_token"].startswith("v1.")
    assert result["fee"]["text"] == "0.87"  # (25.00 + 0.30) / 0.978 - 25.00 = 0.869... up
    assert result["total"]["minor"] == 2587

    [intent] = stripe_objects(localstripe, "payment_intents")
    assert intent["amount"] == 2587 and intent["currency"] == "usd"
    assert intent["status"] == "succeeded"
    metadata = intent["metadata"]
    assert metadata[keys.SUPPORTER_ID] == str(supporter_id_for("ada.reader@example.org"))
    assert metadata[keys.GIFT_KIND] == "one_time"
    assert (metadata[keys.CAMPAIGN], metadata[keys.VARIANT]) == ("spring", "urgent")
    assert (metadata[keys.ARTICLE_ID], metadata[keys.READER_ID]) == ("a-42", "reader-7")
    assert metadata[keys.FEE_COVERED_MINOR] == "87"
    assert (metadata[keys.TRIBUTE_KIND], metadata[keys.TRIBUTE_NAME]) == ("memory", "Grace")

    checkout_id = checkout_id_for(body["checkout_key"])
    [create] = proxy.creates("/v1/payment_intents")
    assert create.idempotency_key == f"patronage-payment-intent-{checkout_id}"

    # The same press of "give" sent again: same checkout, still one payment at Stripe.
    again = demo.post("/checkout", json=body)
    assert again.status_code == 200 and again.json()["checkout_id"] == str(checkout_id)
    assert len(stripe_objects(localstripe, "payment_intents")) == 1


def test_monthly_gift_is_a_plan_based_subscription_with_our_metadata(
    demo: TestClient, localstripe: LocalStripe, proxy: RecordingProxy, settings: Settings
) -> None:
    body = gift(frequency="monthly", amount="15", cover_fees=False, tribute=None)
    answer = demo.post("/checkout", json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "succeeded"
    [subscription] = stripe_objects(localstripe, "subscriptions")
    assert subscription["status"] == "active"
    assert subscription["items"]["data"][0]["plan"]["id"] == "patronage-monthly-usd-1500"
    assert subscription["metadata"][keys.GIFT_KIND] == "monthly"
    assert subscription["metadata"][keys.VARIANT] == "urgent"
    checkout_id = checkout_id_for(body["checkout_key"])
    assert [r.idempotency_key for r in proxy.creates("/v1/subscriptions")] == [
        f"patronage-subscription-{checkout_id}"
    ]
    # A second member giving the same amount shares the plan.
    assert demo.post("/checkout", json={**body, "checkout_key": uuid4().hex}).status_code == 200
    assert len(stripe_objects(localstripe, "plans")) == 1
    # Each checkout has a customer of its own (whoever types an email may not be its owner),
    # and the supporter is registered when Stripe's webhook confirms a payment, not here.
    assert len(stripe_objects(localstripe, "customers")) == 2
    patronage = bootstrap(settings)
    try:
        supporter_id = supporter_id_for(body["email"])
        assert patronage.ledger.get_or_none(supporter_id, Supporter) is None
    finally:
        patronage.close()


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
def test_invalid_checkouts_are_422_with_a_reason_and_create_nothing_at_stripe(
    demo: TestClient, localstripe: LocalStripe, changes: dict[str, Any], reason: str
) -> None:
    before = {kind: stripe_objects(localstripe, kind) for kind in KINDS}
    answer = demo.post("/checkout", json=gift(**changes))
    assert answer.status_code == 422
    assert reason in answer.text
    assert {kind: stripe_objects(localstripe, kind) for kind in KINDS} == before


def test_without_demo_mode_the_page_gets_a_client_secret_and_the_token_after_paying(
    settings: Settings, proxy: RecordingProxy, localstripe: LocalStripe
) -> None:
    with client_for(settings, proxy, localstripe.api_key) as client:
        started = client.post("/checkout", json=gift())
        assert started.status_code == 200, started.text
        result = started.json()
        assert result["client_secret"].startswith("pi_") and result["supporter_token"] == ""
        assert result["status"] == "requires_payment_method"
        # What Stripe.js would do in the browser: attach the card and confirm.
        stripe_client = stripe.StripeClient(
            localstripe.api_key, base_addresses={"api": localstripe.url}
        )
        intent_id = result["client_secret"].split("_secret_")[0]
        stripe_client.v1.payment_intents.update(intent_id, {"payment_method": "pm_card_visa"})
        stripe_client.v1.payment_intents.confirm(intent_id)
        confirmed = client.post(
            "/checkout/confirmations", json={"checkout_id": result["checkout_id"]}
        )
        assert confirmed.json()["status"] == "succeeded"
        assert confirmed.json()["supporter_token"].startswith("v1.")
        assert (
            client.post("/checkout/confirmations", json={"checkout_id": str(uuid4())}).status_code
            == 404
        )


def test_card_testing_is_slowed_by_per_reader_and_per_ip_limits(
    settings: Settings, proxy: RecordingProxy, localstripe: LocalStripe
) -> None:
    limited = {"checkout_limit_per_reader": 2, "checkout_limit_per_ip": 5, "demo_mode": True}
    with client_for(settings, proxy, localstripe.api_key, **limited) as client:
        reader = {"x-patronage-reader": "reader-7"}
        tiny = gift(amount="0.50")  # junk counts as an attempt too
        codes = [client.post("/checkout", json=tiny, headers=reader).status_code for _ in range(3)]
        assert codes == [422, 422, 429]
        refused = client.post("/checkout", json=gift(), headers=reader)
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
        # Every attempt counted against the address (5): another browser gets one more.
        other = {"x-patronage-reader": "reader-8"}
        assert client.post("/checkout", json=gift(), headers=other).status_code == 200
        assert client.post("/checkout", json=gift(), headers=other).status_code == 429
    assert len(stripe_objects(localstripe, "payment_intents")) == 1


def test_when_stripe_is_unreachable_the_donor_gets_502_and_a_retry_pays_once(
    settings: Settings, localstripe: LocalStripe
) -> None:
    body = gift()
    down = with_stripe(
        settings, f"http://127.0.0.1:{free_port()}", localstripe.api_key, demo_mode=True
    )
    patronage = bootstrap(down)
    try:
        answer = TestClient(create_app(patronage)).post("/checkout", json=body)
        assert answer.status_code == 502 and "try again" in answer.json()["detail"]
    finally:
        patronage.close()
    up = with_stripe(settings, localstripe.url, localstripe.api_key, demo_mode=True)
    patronage = bootstrap(up)
    try:
        retried = TestClient(create_app(patronage)).post("/checkout", json=body)
        assert retried.status_code == 200 and retried.json()["status"] == "succeeded"
        assert retried.json()["checkout_id"] == str(checkout_id_for(body["checkout_key"]))
    finally:
        patronage.close()
    assert len(stripe_objects(localstripe, "payment_intents")) == 1
