"""Checkout's logic on the in-memory store and gateway: what it records, what it asks the
gateway for, how a retry of the same press of "give" pays once, and what the rate limits
count (only attempts that reach the payment provider)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from uuid import uuid4

import pytest

from patronage.application.checkout import (
    CheckoutRefusedError,
    CheckoutRequest,
    CheckoutResult,
    PaymentsUnavailableError,
)
from patronage.bootstrap import checkout_for
from patronage.domain.campaign import Frequency
from patronage.domain.checkout import CheckoutAttempt, CheckoutMismatchError, checkout_id_for
from patronage.domain.money import Money
from patronage.domain.values import Attribution, Tribute
from patronage.payments import metadata as keys
from patronage.payments.orders import PaymentProviderError, PaymentRefusedError
from tests.support.memory import Services, in_memory
from tests.support.payments import DECLINING_CARD


def a_checkout(**changes: Any) -> CheckoutRequest:
    fields: dict[str, Any] = {
        "key": uuid4().hex,
        "frequency": Frequency.ONE_TIME,
        "amount": Money(2500, "USD"),
        "cover_fees": True,
        "email": "Ada.Reader@Example.org",
        "name": "Ada Reader",
        "attribution": Attribution(
            article_id="a-42", campaign="spring", variant="urgent", reader_id="reader-7"
        ),
        "tribute": Tribute("memory", "Grace"),
        "ip": "203.0.113.7",
    }
    return CheckoutRequest(**(fields | changes))


def give(
    services: Services, request: CheckoutRequest, card: str = "4242424242424242"
) -> CheckoutResult:
    """The page's two calls around Stripe.js: start, confirm the card setup, pay."""
    started = services.checkout.start(request)
    assert started.payment.status == "requires_payment_method" and started.supporter_token == ""
    [setup] = [
        s
        for s in services.gateway.setups.values()
        if s.client_secret == started.payment.client_secret
    ]
    method = services.gateway.save_card(setup, card)
    return services.checkout.pay(request, method)


def test_a_one_time_gift_asks_for_the_total_with_our_metadata(services: Services) -> None:
    request = a_checkout()
    result = give(services, request)
    assert result.payment.status == "succeeded"
    assert result.supporter_token.startswith("v1.")
    assert result.fee == Money(87, "USD")  # (25.00 + 0.30) / 0.978 - 25.00 = 0.869... up
    assert result.total == Money(2587, "USD")

    [stored] = services.gateway.payments.values()
    assert stored.order.total == Money(2587, "USD")
    assert stored.order.checkout_id == checkout_id_for(request.key)
    metadata = stored.order.metadata
    assert metadata[keys.SUPPORTER_ID] == str(
        services.giving.directory.id_for("ada.reader@example.org")
    )
    assert metadata[keys.GIFT_KIND] == "one_time"
    assert (metadata[keys.CAMPAIGN], metadata[keys.VARIANT]) == ("spring", "urgent")
    assert (metadata[keys.ARTICLE_ID], metadata[keys.READER_ID]) == ("a-42", "reader-7")
    assert metadata[keys.FEE_COVERED_MINOR] == "87"
    assert (metadata[keys.TRIBUTE_KIND], metadata[keys.TRIBUTE_NAME]) == ("memory", "Grace")

    attempt = services.ledger.get_typed(result.checkout_id, CheckoutAttempt)
    assert attempt.payment_intent_id == result.payment.payment_intent_id
    assert attempt.customer_id == services.gateway.customers[0] and attempt.setup_intent_id
    assert attempt.outcome == "succeeded"

    # The same press of "give" sent again, to either step: same checkout, still one payment.
    head = services.ledger.head()
    assert services.checkout.start(request).checkout_id == result.checkout_id
    assert services.checkout.pay(request, "pm_other").payment == result.payment
    assert len(services.gateway.payments) == 1
    assert services.ledger.head() == head, "the retry recorded nothing"


def test_a_monthly_gift_shares_the_plan_and_leaves_the_supporter_to_the_webhook(
    services: Services,
) -> None:
    request = a_checkout(frequency=Frequency.MONTHLY, cover_fees=False, tribute=None)
    first = give(services, request)
    assert first.payment.status == "succeeded" and first.payment.subscription_id
    second = give(services, replace(request, key=uuid4().hex))
    assert second.payment.subscription_id != first.payment.subscription_id

    orders = [p.order for p in services.gateway.payments.values()]
    assert [o.metadata[keys.GIFT_KIND] for o in orders] == ["monthly", "monthly"]
    assert [o.metadata[keys.VARIANT] for o in orders] == ["urgent", "urgent"]
    # Each checkout has a customer of its own (whoever types an email may not own it), and
    # the supporter is registered from the confirmed payment's webhook, not here.
    assert len(services.gateway.customers) == 2 and len(services.gateway.plans) == 1
    assert services.giving.directory.id_for(request.email) not in services.ledger.repository
    assert [o.metadata[keys.DONOR_NAME] for o in orders] == [request.name, request.name]


def test_a_declined_card_is_recorded_and_the_next_attempt_pays(services: Services) -> None:
    request = a_checkout()
    with pytest.raises(PaymentRefusedError, match="declined"):
        give(services, request, DECLINING_CARD)
    declined = services.ledger.get_typed(checkout_id_for(request.key), CheckoutAttempt)
    assert (declined.outcome, declined.payment_intent_id) == ("declined", "")
    assert services.gateway.payments == {}

    retried = give(services, replace(request, key=uuid4().hex))  # the page's next press
    assert retried.payment.status == "succeeded" and retried.supporter_token.startswith("v1.")


def test_paying_needs_the_card_setup_of_the_same_checkout(services: Services) -> None:
    request = a_checkout()
    with pytest.raises(LookupError, match="start it first"):
        services.checkout.pay(request, "pm_memory_1")
    services.checkout.start(request)
    with pytest.raises(CheckoutMismatchError):
        services.checkout.pay(replace(request, amount=Money(100_00, "USD")), "pm_1")
    assert services.gateway.payments == {}


def test_the_guard_counts_each_card_setup_once_and_learns_of_declines() -> None:
    limits = {"checkout_limit_per_ip": 3, "checkout_limit_per_reader": 100}
    with in_memory(checkout_hold_after_declines=1, **limits) as services:
        request = a_checkout()
        started = services.checkout.start(request)  # 1: a card setup at Stripe
        services.checkout.start(request)  # a resend of the same press: not counted
        [setup] = services.gateway.setups.values()
        assert started.payment.client_secret == setup.client_secret
        declining = services.gateway.save_card(setup, DECLINING_CARD)
        with pytest.raises(PaymentRefusedError):
            services.checkout.pay(request, declining)  # the charge: counted with its setup
        held = a_checkout()
        services.checkout.start(held)  # 2: held for review after the decline
        attempt = services.ledger.get_typed(checkout_id_for(held.key), CheckoutAttempt)
        assert "declined" in attempt.review
        [held_setup] = [s for s in services.gateway.setups.values() if s != setup]
        services.checkout.pay(held, services.gateway.save_card(held_setup))
        [payment] = services.gateway.payments.values()
        assert "declined" in payment.order.metadata[keys.REVIEW]  # staff review the gift
        services.checkout.start(a_checkout())  # 3
        with pytest.raises(CheckoutRefusedError, match="too many payment attempts") as limited:
            services.checkout.start(a_checkout())
        assert "try again in 10 minutes" in str(limited.value)
        assert services.checkout.start(a_checkout(ip="198.51.100.1")).payment.client_secret


def test_the_test_card_pays_without_a_page_for_api_tests_and_benches() -> None:
    with in_memory(checkout_test_card=True) as services:
        result = services.checkout.start(a_checkout(frequency=Frequency.MONTHLY))
        assert result.payment.status == "succeeded" and result.payment.subscription_id
        assert services.gateway.setups == {}


def test_when_the_gateway_is_down_the_attempt_stays_and_a_retry_pays_once(
    services: Services,
) -> None:
    request = a_checkout()
    services.gateway.reachable = False
    with pytest.raises(PaymentProviderError):
        services.checkout.start(request)
    waiting = services.ledger.get_typed(checkout_id_for(request.key), CheckoutAttempt)
    assert waiting.setup_intent_id == "", "the attempt is durable before the gateway is asked"

    services.gateway.reachable = True
    retried = give(services, request)
    assert retried.payment.status == "succeeded"
    assert retried.checkout_id == checkout_id_for(request.key)
    assert len(services.gateway.payments) == 1


def test_the_same_key_with_other_details_is_refused_and_records_nothing(
    services: Services,
) -> None:
    request = a_checkout()
    give(services, request)
    head = services.ledger.head()
    changed = replace(request, amount=Money(5000, "USD"), name="Eve")
    with pytest.raises(CheckoutMismatchError):
        services.checkout.start(changed)
    assert services.ledger.head() == head, "a refused checkout records nothing"
    assert len(services.gateway.payments) == 1


def test_without_a_gateway_checkout_says_payments_are_not_configured(
    services: Services,
) -> None:
    unconfigured = checkout_for(services.settings, services.ledger, None)
    with pytest.raises(PaymentsUnavailableError, match="PATRONAGE_STRIPE_SECRET_KEY"):
        unconfigured.start(a_checkout())
    assert services.ledger.head() == 0
