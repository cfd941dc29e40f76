"""The optional CAPTCHA hook, against a siteverify server on loopback speaking the protocol
Turnstile and hCaptcha share (form fields `secret`, `response`, `remoteip`; JSON `success`),
through `/checkout` with localstripe: a vouched token pays, a refused or missing one is 403
before anything reaches Stripe, and a provider that cannot be asked lets the gift through,
held for staff review."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient
from pydantic import AnyHttpUrl, SecretStr

from patronage.api.app import create_app
from patronage.bootstrap import bootstrap
from patronage.config import Settings
from patronage.domain.checkout import CheckoutAttempt
from patronage.payments import metadata as keys
from patronage.payments.captcha import SiteVerifyCaptcha
from tests.support.captcha import GOOD_TOKEN, SECRET, siteverify_server
from tests.support.checkout import stripe_objects, with_stripe
from tests.support.servers import LocalStripe, free_port, localstripe_server


@pytest.fixture
def store() -> str:
    return "sqlite"  # the hook does not touch storage


@pytest.fixture
def localstripe(tmp_path: Path) -> Iterator[LocalStripe]:
    with localstripe_server(tmp_path) as server:
        yield server


def a_gift(**changes: Any) -> dict[str, Any]:
    return {
        "checkout_key": uuid4().hex,
        "frequency": "one_time",
        "amount": "10",
        "currency": "USD",
        "email": "ada@example.org",
        "name": "Ada",
        **changes,
    }


def test_the_adapter_speaks_siteverify_and_says_when_it_could_not_ask() -> None:
    with siteverify_server() as provider:
        captcha = SiteVerifyCaptcha(provider.url, SECRET)
        assert captcha.verify(GOOD_TOKEN, "203.0.113.9") is True
        assert captcha.verify("forged", "") is False
        assert captcha.verify("", "203.0.113.9") is False  # no token: never asked
        assert provider.asked == [
            {"secret": SECRET, "response": GOOD_TOKEN, "remoteip": "203.0.113.9"},
            {"secret": SECRET, "response": "forged"},
        ]
    # The server is gone now: the provider could not be asked.
    assert SiteVerifyCaptcha(provider.url, SECRET, timeout_seconds=2).verify("t", "") is None


def test_checkout_with_a_captcha_pays_refuses_or_holds(
    settings: Settings, localstripe: LocalStripe
) -> None:
    with siteverify_server() as provider:
        configured = with_stripe(
            settings, localstripe.url, localstripe.api_key, checkout_test_card=True,
            captcha_verify_url=AnyHttpUrl(provider.url), captcha_secret=SecretStr(SECRET),
        )  # fmt: skip
        patronage = bootstrap(configured)
        client = TestClient(create_app(patronage))
        try:
            assert (
                client.post("/checkout", json=a_gift(captcha_token=GOOD_TOKEN)).status_code == 200
            )
            for refused in (a_gift(captcha_token="forged"), a_gift()):
                answer = client.post("/checkout", json=refused)
                assert answer.status_code == 403, answer.text
                assert "CAPTCHA" in answer.json()["detail"]
            assert len(stripe_objects(localstripe, "payment_intents")) == 1, "none refused"
            assert provider.asked[0]["remoteip"] == "testclient"  # the client's address

            # The provider unreachable (nothing listens on the port).
            provider_gone = f"http://127.0.0.1:{free_port()}/siteverify"
            patronage.checkout.guard.captcha = SiteVerifyCaptcha(provider_gone, SECRET)
            held = client.post("/checkout", json=a_gift(captcha_token=GOOD_TOKEN))
            assert held.status_code == 200
            attempt = patronage.ledger.get_typed(UUID(held.json()["checkout_id"]), CheckoutAttempt)
            [intent] = [
                i
                for i in stripe_objects(localstripe, "payment_intents")
                if i["id"] == attempt.payment_intent_id
            ]
            assert intent["metadata"][keys.REVIEW] == "the CAPTCHA provider could not be asked"
        finally:
            patronage.close()
