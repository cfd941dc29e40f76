"""The Stripe adapter of the application's `PaymentGateway` port: PaymentIntents and
plan-based Subscriptions for a checkout.

Every create call carries an idempotency key derived from our checkout id, and our metadata
(supporter, attribution, fee, tribute), so every later event names its supporter and ask.
With `confirm_on_server` (the demo) payments are confirmed here with Stripe's test card.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import stripe
import structlog

from patronage.domain.money import Money
from patronage.payments.orders import (
    SUCCEEDED,
    CreatedPayment,
    PaymentOrder,
    PaymentProviderError,
    PaymentRefusedError,
)

log = structlog.get_logger(__name__)
TEST_PAYMENT_METHOD = "pm_card_visa"


@contextmanager
def stripe_errors() -> Iterator[None]:
    try:
        yield
    except stripe.CardError as error:
        raise PaymentRefusedError(error.user_message or "the card was declined") from None
    except stripe.StripeError as error:
        log.warning("stripe_call_failed", error=type(error).__name__, status=error.http_status)
        raise PaymentProviderError(
            "the payment provider is unavailable; please try again"
        ) from None


def plan_id_for(amount: Money) -> str:
    """One monthly plan per amount and currency, shared by every member who gives it."""
    return f"patronage-monthly-{amount.currency.lower()}-{amount.minor}"


def ensure_plan(client: stripe.StripeClient, amount: Money) -> str:
    """The id of the monthly plan for `amount`, created at Stripe the first time."""
    plan_id = plan_id_for(amount)
    try:
        client.v1.plans.retrieve(plan_id)
    except stripe.InvalidRequestError as error:
        if error.http_status != 404:
            raise
        client.v1.plans.create(
            {
                "id": plan_id,
                "amount": amount.minor,
                "currency": amount.currency.lower(),
                "interval": "month",
                "product": {"name": f"Monthly membership, {amount}"},
            },
            {"idempotency_key": f"patronage-plan-{plan_id}"},
        )
    return plan_id


class StripePaymentGateway:
    """Implements application.ports.PaymentGateway with Stripe's API."""

    def __init__(self, client: stripe.StripeClient, confirm_on_server: bool) -> None:
        self._stripe = client
        self._confirm_on_server = confirm_on_server

    @staticmethod
    def _key(order: PaymentOrder, what: str) -> dict[str, Any]:
        return {"idempotency_key": f"patronage-{what}-{order.checkout_id}"}

    def one_time(self, order: PaymentOrder) -> CreatedPayment:
        params: dict[str, Any] = {
            "amount": order.total.minor,
            "currency": order.total.currency.lower(),
            "metadata": order.metadata,
            "payment_method_types": ["card"],
        }
        if self._confirm_on_server:
            params["payment_method"] = TEST_PAYMENT_METHOD
        with stripe_errors():
            intent = self._stripe.v1.payment_intents.create(
                params,  # type: ignore[arg-type]
                self._key(order, "payment-intent"),  # type: ignore[arg-type]
            )
            if self._confirm_on_server and intent.status == "requires_confirmation":
                intent = self._stripe.v1.payment_intents.confirm(
                    intent.id,
                    options=self._key(order, "confirm"),  # type: ignore[arg-type]
                )
        return CreatedPayment(
            payment_intent_id=intent.id,
            client_secret=intent.client_secret or "",
            status=intent.status,
        )

    def monthly(self, order: PaymentOrder) -> CreatedPayment:
        customer_params: dict[str, Any] = {
            "email": order.email,
            "name": order.name,
            "metadata": order.metadata,
        }
        if self._confirm_on_server:
            customer_params["payment_method"] = TEST_PAYMENT_METHOD
            customer_params["invoice_settings"] = {"default_payment_method": TEST_PAYMENT_METHOD}
        subscription_params: dict[str, Any] = {"metadata": order.metadata}
        if not self._confirm_on_server:
            # The page collects the card with the Payment Element and confirms the first invoice.
            subscription_params |= {
                "payment_behavior": "default_incomplete",
                "payment_settings": {"save_default_payment_method": "on_subscription"},
                "expand": ["latest_invoice.confirmation_secret"],
            }
        with stripe_errors():
            plan = ensure_plan(self._stripe, order.total)
            subscription_params["items"] = [{"plan": plan}]
            # A customer of its own for each checkout: an existing supporter's customer is
            # never reused, since whoever typed their email may not be them.
            customer_id = self._stripe.v1.customers.create(
                customer_params,  # type: ignore[arg-type]
                self._key(order, "customer"),  # type: ignore[arg-type]
            ).id
            subscription = self._stripe.v1.subscriptions.create(
                {"customer": customer_id, **subscription_params},  # type: ignore[arg-type]
                self._key(order, "subscription"),  # type: ignore[arg-type]
            )
        secret = ""
        invoice = subscription.latest_invoice
        if not self._confirm_on_server and isinstance(invoice, stripe.Invoice):
            secret = (
                invoice.confirmation_secret.client_secret if invoice.confirmation_secret else ""
            )
        return CreatedPayment(
            subscription_id=subscription.id,
            customer_id=customer_id,
            client_secret=secret,
            status=SUCCEEDED if subscription.status == "active" else subscription.status,
        )

    def current(self, payment_intent_id: str, subscription_id: str) -> CreatedPayment:
        """A payment created earlier, as Stripe has it now ("succeeded" once the money is in)."""
        with stripe_errors():
            if payment_intent_id:
                intent = self._stripe.v1.payment_intents.retrieve(payment_intent_id)
                return CreatedPayment(
                    payment_intent_id=intent.id,
                    client_secret=intent.client_secret or "",
                    status=intent.status,
                )
            subscription = self._stripe.v1.subscriptions.retrieve(subscription_id)
        customer = subscription.customer
        return CreatedPayment(
            subscription_id=subscription.id,
            customer_id=customer if isinstance(customer, str) else customer.id,
            status=SUCCEEDED if subscription.status == "active" else subscription.status,
        )
