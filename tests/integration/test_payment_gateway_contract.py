"""The PaymentGateway contract, held by the Stripe gateway on localstripe and by the
in-memory gateway the service tests use, so the fake says only what Stripe does.

Then what only the Stripe gateway does: the amounts, metadata and idempotency keys it
sends (localstripe ignores idempotency keys, so a recording proxy reads them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import pytest

from patronage.application.ports import PaymentGateway
from patronage.bootstrap import payment_gateway
from patronage.config import load_settings
from patronage.domain.money import Money
from patronage.payments.orders import (
    SUCCEEDED,
    CardSetup,
    PaymentOrder,
    PaymentProviderError,
    PaymentRefusedError,
    SavedCard,
)
from tests.support.checkout import (
    RecordingProxy,
    confirm_card_setup,
    recording_proxy,
    stripe_objects,
    with_stripe,
)
from tests.support.payments import DECLINING_CARD, InMemoryPaymentGateway
from tests.support.servers import LocalStripe, free_port, localstripe_server


@pytest.fixture(scope="module")
def localstripe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStripe]:
    with localstripe_server(tmp_path_factory.mktemp("localstripe")) as server:
        yield server


@pytest.fixture
def proxy(localstripe: LocalStripe) -> Iterator[RecordingProxy]:
    with recording_proxy(localstripe.url) as recording:
        yield recording


def stripe_gateway(api_base: str, api_key: str, confirm_on_server: bool) -> PaymentGateway:
    settings = with_stripe(
        load_settings(_env_file=None), api_base, api_key, checkout_test_card=confirm_on_server
    )
    gateway = payment_gateway(settings)
    assert gateway is not None
    return gateway


@dataclass
class Provider:
    """A gateway and what a test needs to see behind it."""

    gateway: PaymentGateway
    save_card: Callable[[CardSetup, str], str]  # Stripe.js confirmCardSetup on the page
    customers: Callable[[], int]
    plans: Callable[[], int]


def in_memory(confirm_on_server: bool) -> Provider:
    fake = InMemoryPaymentGateway(confirm_on_server=confirm_on_server)
    return Provider(fake, fake.save_card, lambda: len(fake.customers), lambda: len(fake.plans))


def at_localstripe(localstripe: LocalStripe, confirm_on_server: bool) -> Provider:
    return Provider(
        stripe_gateway(localstripe.url, localstripe.api_key, confirm_on_server),
        lambda setup, number: confirm_card_setup(localstripe, setup.client_secret, number),
        lambda: len(stripe_objects(localstripe, "customers")),
        lambda: len(stripe_objects(localstripe, "plans")),
    )


@pytest.fixture(params=["memory", "localstripe"])
def provider_for(
    request: pytest.FixtureRequest, localstripe: LocalStripe
) -> Callable[[bool], Provider]:
    if request.param == "memory":
        return in_memory
    return lambda confirm_on_server: at_localstripe(localstripe, confirm_on_server)


def order(minor: int = 2500) -> PaymentOrder:
    return PaymentOrder(
        checkout_id=uuid4(),
        email="ada@example.org",
        name="Ada Reader",
        total=Money(minor, "USD"),
        metadata={"patronage_gift_kind": "one_time"},
    )


def test_a_payment_confirmed_on_the_server_has_succeeded(
    provider_for: Callable[[bool], Provider],
) -> None:
    gateway = provider_for(True).gateway
    payment = gateway.one_time(order())
    assert payment.payment_intent_id.startswith("pi_") and payment.status == SUCCEEDED
    now = gateway.current(payment.payment_intent_id, "")
    assert (now.payment_intent_id, now.status) == (payment.payment_intent_id, SUCCEEDED)


def test_without_the_test_card_a_payment_needs_the_card_the_page_saved(
    provider_for: Callable[[bool], Provider],
) -> None:
    provider = provider_for(False)
    with pytest.raises(PaymentProviderError, match="card"):
        provider.gateway.one_time(order())
    sent = order()
    setup = provider.gateway.set_up_card(sent)
    assert setup.customer_id.startswith("cus_")
    assert setup.client_secret.startswith(f"{setup.setup_intent_id}_secret_")
    card = SavedCard(setup.customer_id, provider.save_card(setup, "4242424242424242"))
    payment = provider.gateway.one_time(sent, card)
    assert payment.status == SUCCEEDED and payment.customer_id == setup.customer_id
    assert provider.gateway.current(payment.payment_intent_id, "").status == SUCCEEDED


@pytest.mark.parametrize("frequency", ["one_time", "monthly"])
def test_a_card_declined_when_charged_is_refused_and_another_card_pays(
    provider_for: Callable[[bool], Provider], frequency: str
) -> None:
    provider = provider_for(False)
    sent = order(1000 + uuid4().int % 90000)
    setup = provider.gateway.set_up_card(sent)
    charge = getattr(provider.gateway, frequency)
    declining = SavedCard(setup.customer_id, provider.save_card(setup, DECLINING_CARD))
    with pytest.raises(PaymentRefusedError, match="declined") as refused:
        charge(sent, declining)
    assert refused.value.code == "card_declined"
    again = provider.gateway.set_up_card(order())  # the page's next attempt
    card = SavedCard(again.customer_id, provider.save_card(again, "4242424242424242"))
    assert charge(sent, card).status == SUCCEEDED


def test_each_membership_makes_its_own_customer_and_shares_its_plan(
    provider_for: Callable[[bool], Provider],
) -> None:
    provider = provider_for(True)
    minor = 1000 + uuid4().int % 90000  # a plan no other test made
    customers, plans = provider.customers(), provider.plans()
    first = provider.gateway.monthly(order(minor))  # the test card's own customer
    assert first.subscription_id.startswith("sub_") and first.status == SUCCEEDED
    assert first.customer_id.startswith("cus_")
    # Whoever types an email may not own its customer: every checkout makes its own.
    second = provider.gateway.monthly(order(minor))
    assert second.subscription_id != first.subscription_id
    assert second.customer_id.startswith("cus_") and second.customer_id != first.customer_id
    assert (provider.customers(), provider.plans()) == (customers + 2, plans + 1)
    now = provider.gateway.current("", first.subscription_id)
    assert (now.subscription_id, now.customer_id, now.status) == (
        first.subscription_id,
        first.customer_id,
        SUCCEEDED,
    )


def test_an_unreachable_provider_is_a_provider_error(localstripe: LocalStripe) -> None:
    down = InMemoryPaymentGateway(reachable=False)
    unreachable = stripe_gateway(f"http://127.0.0.1:{free_port()}", localstripe.api_key, True)
    for gateway in (down, unreachable):
        with pytest.raises(PaymentProviderError, match="try again"):
            gateway.one_time(order())


def test_the_fake_gives_back_the_first_payment_for_a_repeated_checkout() -> None:
    """Stripe's idempotency keys do this at Stripe; the test below shows the Stripe gateway
    sends one key per checkout, which is what makes Stripe do it."""
    fake = InMemoryPaymentGateway()
    same = order()
    assert fake.one_time(same) == fake.one_time(same)
    assert len(fake.payments) == 1


# What only the Stripe gateway does -------------------------------------------------------


def test_a_one_time_payment_carries_its_amount_metadata_and_one_key_per_checkout(
    localstripe: LocalStripe, proxy: RecordingProxy
) -> None:
    gateway = stripe_gateway(proxy.url, localstripe.api_key, True)
    sent = order(2587)
    payment = gateway.one_time(sent)
    gateway.one_time(sent)  # a retry of the same checkout
    intent = intent_at(localstripe, payment.payment_intent_id)
    assert (intent["amount"], intent["currency"], intent["status"]) == (2587, "usd", SUCCEEDED)
    assert intent["metadata"] == sent.metadata
    keys = [r.idempotency_key for r in proxy.creates("/v1/payment_intents")]
    assert keys == [f"patronage-payment-intent-{sent.checkout_id}"] * 2


def test_a_membership_is_a_plan_per_amount_with_one_key_per_checkout(
    localstripe: LocalStripe, proxy: RecordingProxy
) -> None:
    gateway = stripe_gateway(proxy.url, localstripe.api_key, True)
    sent = order(1500 + uuid4().int % 1000)
    payment = gateway.monthly(sent)
    [subscription] = [
        s
        for s in stripe_objects(localstripe, "subscriptions")
        if s["id"] == payment.subscription_id
    ]
    assert subscription["status"] == "active"
    plan = subscription["items"]["data"][0]["plan"]
    assert (plan["id"], plan["amount"]) == (
        f"patronage-monthly-usd-{sent.total.minor}",
        sent.total.minor,
    )
    assert subscription["metadata"] == sent.metadata
    assert subscription["customer"] == payment.customer_id
    assert [r.idempotency_key for r in proxy.creates("/v1/subscriptions")] == [
        f"patronage-subscription-{sent.checkout_id}"
    ]
    assert [r.idempotency_key for r in proxy.creates("/v1/customers")] == [
        f"patronage-customer-{sent.checkout_id}"
    ]


def test_the_card_path_keys_each_call_by_checkout_and_a_charge_by_its_card(
    localstripe: LocalStripe, proxy: RecordingProxy
) -> None:
    gateway = stripe_gateway(proxy.url, localstripe.api_key, False)
    sent = order()
    setup = gateway.set_up_card(sent)
    method = confirm_card_setup(localstripe, setup.client_secret, "4242424242424242")
    payment = gateway.one_time(sent, SavedCard(setup.customer_id, method))
    intent = intent_at(localstripe, payment.payment_intent_id)
    assert (intent["customer"], intent["payment_method"]) == (setup.customer_id, method)
    assert intent["metadata"] == sent.metadata
    assert [r.idempotency_key for r in proxy.creates("/v1/setup_intents")] == [
        f"patronage-setup-intent-{sent.checkout_id}"
    ]
    assert [r.idempotency_key for r in proxy.creates("/v1/payment_intents")] == [
        f"patronage-payment-intent-{sent.checkout_id}-{method}"
    ]


def intent_at(localstripe: LocalStripe, intent_id: str) -> dict[str, Any]:
    [intent] = [i for i in stripe_objects(localstripe, "payment_intents") if i["id"] == intent_id]
    return intent
