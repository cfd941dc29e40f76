"""Checkout's logic on the in-memory store and gateway: what it records, what it asks the
gateway for, and how a retry of the same press of "give" pays once."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from uuid import uuid4

import pytest

from patronage.application.checkout import CheckoutRequest, PaymentsUnavailableError
from patronage.bootstrap import checkout_for
from patronage.domain.campaign import Frequency
from patronage.domain.checkout import CheckoutAttempt, CheckoutMismatchError, checkout_id_for
from patronage.domain.money import Money
from patronage.domain.values import Attribution, Tribute
from patronage.payments import metadata as keys
from patronage.payments.orders import PaymentProviderError
from tests.support.memory import Services, in_memory


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
    }
    return CheckoutRequest(**(fields | changes))


def test_a_one_time_gift_asks_for_the_total_with_our_metadata(services: Services) -> None:
    request = a_checkout()
    result = services.checkout.start(request)
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
    assert attempt.outcome == "succeeded"

    # The same press of "give" sent again: same checkout, still one payment.
    head = services.ledger.head()
    again = services.checkout.start(request)
    assert again.checkout_id == result.checkout_id
    assert len(services.gateway.payments) == 1
    assert services.ledger.head() == head, "the retry recorded nothing"


def test_a_monthly_gift_shares_the_plan_and_leaves_the_supporter_to_the_webhook(
    services: Services,
) -> None:
    request = a_checkout(frequency=Frequency.MONTHLY, cover_fees=False, tribute=None)
    first = services.checkout.start(request)
    assert first.payment.status == "succeeded" and first.payment.subscription_id
    second = services.checkout.start(replace(request, key=uuid4().hex))
    assert second.payment.subscription_id != first.payment.subscription_id

    orders = [p.order for p in services.gateway.payments.values()]
    assert [o.metadata[keys.GIFT_KIND] for o in orders] == ["monthly", "monthly"]
    assert [o.metadata[keys.VARIANT] for o in orders] == ["urgent", "urgent"]
    # Each checkout has a customer of its own (whoever types an email may not own it), and
    # the supporter is registered from the confirmed payment's webhook, not here.
    assert len(services.gateway.customers) == 2 and len(services.gateway.plans) == 1
    assert services.giving.directory.id_for(request.email) not in services.ledger.repository
    assert [o.metadata[keys.DONOR_NAME] for o in orders] == [request.name, request.name]


def test_without_server_confirmation_the_token_comes_once_the_page_paid() -> None:
    with in_memory(demo_mode=False) as services:
        started = services.checkout.start(a_checkout())
        assert started.payment.status == "requires_payment_method"
        assert started.payment.client_secret and started.supporter_token == ""
        assert services.checkout.confirm(started.checkout_id).supporter_token == ""

        services.gateway.pay(started.payment.payment_intent_id)
        confirmed = services.checkout.confirm(started.checkout_id)
        assert confirmed.payment.status == "succeeded"
        assert confirmed.supporter_token.startswith("v1.")
        attempt = services.ledger.get_typed(started.checkout_id, CheckoutAttempt)
        assert attempt.outcome == "succeeded"
        with pytest.raises(LookupError):
            services.checkout.confirm(uuid4())


def test_when_the_gateway_is_down_the_attempt_stays_and_a_retry_pays_once(
    services: Services,
) -> None:
    request = a_checkout()
    services.gateway.reachable = False
    with pytest.raises(PaymentProviderError):
        services.checkout.start(request)
    waiting = services.ledger.get_typed(checkout_id_for(request.key), CheckoutAttempt)
    assert waiting.payment_intent_id == "", "the attempt is durable before the gateway is asked"

    services.gateway.reachable = True
    retried = services.checkout.start(request)
    assert retried.payment.status == "succeeded"
    assert retried.checkout_id == checkout_id_for(request.key)
    assert len(services.gateway.payments) == 1


def test_the_same_key_with_other_details_is_refused_and_records_nothing(
    services: Services,
) -> None:
    request = a_checkout()
    services.checkout.start(request)
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
