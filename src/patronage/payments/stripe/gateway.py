"""The Stripe adapter of the application's `PaymentGateway` port.

The card path (docs/asks.md): a Customer and a SetupIntent per checkout, confirmed in the
browser by Stripe.js with the card; then a PaymentIntent with the saved card, or a plan-based
Subscription with it as the customer's default. Every create call carries an idempotency key
derived from our checkout id, and our metadata (supporter, attribution, fee, tribute), so
every later event names its supporter and ask. With `confirm_on_server` (API tests and
benches only) payments are made here with Stripe's test card, without a page.
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
    CardSetup,
    CreatedPayment,
    PaymentOrder,
    PaymentProviderError,
    PaymentRefusedError,
    SavedCard,
)

log = structlog.get_logger(__name__)
TEST_PAYMENT_METHOD = "pm_card_visa"


@contextmanager
def stripe_errors() -> Iterator[None]:
    try:
        yield
    except stripe.CardError as error:
        raise PaymentRefusedError(
            error.user_message or "Your card was declined.", error.code or "card_declined"
        ) from None
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
    def _key(order: PaymentOrder, what: str, card: SavedCard | None = None) -> dict[str, Any]:
        # A charge is keyed by its card too: after a decline the donor's next card is a new
        # request, which Stripe would otherwise answer with the first one's stored decline.
        suffix = f"-{card.payment_method_id}" if card else ""
        return {"idempotency_key": f"patronage-{what}-{order.checkout_id}{suffix}"}

    def set_up_card(self, order: PaymentOrder) -> CardSetup:
        with stripe_errors():
            customer_id = self._customer(order, {})
            intent = self._stripe.v1.setup_intents.create(
                {
                    "customer": customer_id,
                    "payment_method_types": ["card"],
                    "metadata": order.metadata,
                },  # type: ignore[arg-type]
                self._key(order, "setup-intent"),  # type: ignore[arg-type]
            )
        return CardSetup(customer_id, intent.id, intent.client_secret or "")

    def one_time(self, order: PaymentOrder, card: SavedCard | None = None) -> CreatedPayment:
        # The donor is on the page: confirmed on-session, so a bank that wants 3-D Secure
        # answers requires_action for the page's confirmCardPayment, not a decline.
        params: dict[str, Any] = {
            "amount": order.total.minor,
            "currency": order.total.currency.lower(),
            "metadata": order.metadata,
            "payment_method_types": ["card"],
            "payment_method": self._test_card() if card is None else card.payment_method_id,
            "confirm": True,
        }
        with stripe_errors():
            if card is not None:
                params["customer"] = card.customer_id
                self._attach(card)
            intent = self._stripe.v1.payment_intents.create(
                params,  # type: ignore[arg-type]
                self._key(order, "payment-intent", card),  # type: ignore[arg-type]
            )
        return CreatedPayment(
            payment_intent_id=intent.id,
            customer_id=card.customer_id if card else "",
            client_secret=intent.client_secret or "",
            status=intent.status,
        )

    def _test_card(self) -> str:
        if not self._confirm_on_server:
            raise PaymentProviderError("a payment needs the donor's card")
        return TEST_PAYMENT_METHOD

    def monthly(self, order: PaymentOrder, card: SavedCard | None = None) -> CreatedPayment:
        with stripe_errors():
            if card is None:  # the server's test card (PATRONAGE_CHECKOUT_TEST_CARD)
                test_card = self._test_card()
                customer_id = self._customer(
                    order,
                    {
                        "payment_method": test_card,
                        "invoice_settings": {"default_payment_method": test_card},
                    },
                )
            else:
                customer_id = card.customer_id
                self._attach(card)
            plan = ensure_plan(self._stripe, order.total)
            subscription = self._stripe.v1.subscriptions.create(
                {
                    "customer": customer_id,
                    "items": [{"plan": plan}],
                    "metadata": order.metadata,
                    "expand": ["latest_invoice"],
                },
                self._key(order, "subscription", card),  # type: ignore[arg-type]
            )
            if subscription.status == "active":
                return CreatedPayment(
                    subscription_id=subscription.id, customer_id=customer_id, status=SUCCEEDED
                )
            intent = self._first_payment(subscription.latest_invoice)
            if intent is None or intent.status != "requires_action":
                # Declined: end the incomplete membership now rather than in 23 hours.
                self._stripe.v1.subscriptions.cancel(subscription.id)
                raise PaymentRefusedError("Your card was declined.", "card_declined")
        return CreatedPayment(
            subscription_id=subscription.id,
            customer_id=customer_id,
            client_secret=intent.client_secret or "",
            status=intent.status,
        )

    def _customer(self, order: PaymentOrder, extra: dict[str, Any]) -> str:
        """A customer of its own for each checkout: an existing supporter's customer is never
        reused, since whoever typed their email may not be them."""
        params = {"email": order.email, "name": order.name, "metadata": order.metadata, **extra}
        customer = self._stripe.v1.customers.create(
            params,  # type: ignore[arg-type]
            self._key(order, "customer"),  # type: ignore[arg-type]
        )
        return customer.id

    def _attach(self, card: SavedCard) -> None:
        """The saved card as its customer's default, for the charge and every renewal (a
        SetupIntent with a customer attaches it at Stripe; localstripe leaves that to us)."""
        method = self._stripe.v1.payment_methods.retrieve(card.payment_method_id)
        if method.customer != card.customer_id:
            self._stripe.v1.payment_methods.attach(
                card.payment_method_id, {"customer": card.customer_id}
            )
        self._stripe.v1.customers.update(
            card.customer_id,
            {"invoice_settings": {"default_payment_method": card.payment_method_id}},
        )

    def _first_payment(self, invoice: object) -> stripe.PaymentIntent | None:
        """The PaymentIntent of a membership's first invoice: named `payment_intent` on
        invoices of API versions before 2025-03-31 (localstripe), found through the invoice's
        payments since."""
        if not isinstance(invoice, stripe.StripeObject):
            return None
        data = invoice.to_dict()
        intent_id = data.get("payment_intent")
        if isinstance(intent_id, dict):
            intent_id = intent_id.get("id")
        if not intent_id:
            payments = self._stripe.v1.invoice_payments.list({"invoice": str(data["id"])})
            intent_id = next(
                (p.payment.payment_intent for p in payments.data if p.payment.payment_intent),
                None,
            )
        if not intent_id:
            return None
        return self._stripe.v1.payment_intents.retrieve(str(intent_id))

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

    def card_fingerprint(self, card: SavedCard) -> str:
        with stripe_errors():
            method = self._stripe.v1.payment_methods.retrieve(card.payment_method_id)
        return (method.card.fingerprint or "") if method.card else ""

    def refund_fraudulent(self, payment_id: str) -> str:
        """All of a PaymentIntent back to the card. Marked in its metadata, not with Stripe's
        `reason=fraudulent` (which also feeds Radar's block list), since localstripe refuses
        that field: staff may mark it in the Dashboard (docs/staff.md)."""
        if not payment_id.startswith("pi_"):
            # A gift keyed by its invoice (Stripe's basil shape names no PaymentIntent).
            raise PaymentProviderError(
                f"{payment_id} is not a PaymentIntent: refund it in Stripe's Dashboard"
            )
        with stripe_errors():
            refund = self._stripe.v1.refunds.create(
                {
                    "payment_intent": payment_id,
                    "metadata": {"patronage_review": "rejected by staff as fraudulent"},
                },
                {"idempotency_key": f"patronage-fraud-refund-{payment_id}"},
            )
        return refund.id
