"""An in-memory `PaymentGateway` for service tests, and what it claims about Stripe.

It keeps what Checkout relies on from Stripe: a create is idempotent on the checkout id
(Stripe's idempotency keys), a one-time payment succeeds at once when confirmed on the
server (the demo) and otherwise waits for the page to pay, a monthly membership makes a
customer unless it is given one and shares one plan per amount (memberships only as the
demo makes them, confirmed on the server), and a payment reads back
as it is now. tests/integration/test_payment_gateway_contract.py runs the same claims
against the real Stripe gateway on localstripe, so the fake cannot drift from it unseen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from patronage.payments.orders import (
    SUCCEEDED,
    CreatedPayment,
    PaymentOrder,
    PaymentProviderError,
)

REQUIRES_PAYMENT_METHOD = "requires_payment_method"


@dataclass
class StoredPayment:
    """A payment as the provider holds it."""

    order: PaymentOrder
    payment: CreatedPayment


@dataclass
class InMemoryPaymentGateway:
    confirm_on_server: bool = True
    reachable: bool = True
    payments: dict[str, StoredPayment] = field(default_factory=dict)  # by intent/subscription id
    customers: list[str] = field(default_factory=list)
    refunds: dict[str, str] = field(default_factory=dict)  # payment id -> refund id
    plans: set[tuple[str, int]] = field(default_factory=set)
    _by_key: dict[str, str] = field(default_factory=dict)

    def _reach(self) -> None:
        if not self.reachable:
            raise PaymentProviderError("the payment provider is unavailable; please try again")

    def one_time(self, order: PaymentOrder) -> CreatedPayment:
        self._reach()
        return self._once(f"payment-intent-{order.checkout_id}", order, self._intent)

    def monthly(self, order: PaymentOrder) -> CreatedPayment:
        if not self.confirm_on_server:
            # The page's first-invoice flow: localstripe cannot make it, so no claim is checked.
            raise NotImplementedError("memberships are confirmed on the server here")
        self._reach()
        return self._once(f"subscription-{order.checkout_id}", order, self._subscription)

    def current(self, payment_intent_id: str, subscription_id: str) -> CreatedPayment:
        self._reach()
        payment = self.payments[payment_intent_id or subscription_id].payment
        # Stripe reads a subscription back without the first invoice's secret.
        return replace(payment, client_secret="") if subscription_id else payment

    def refund_fraudulent(self, payment_id: str) -> str:
        self._reach()
        return self.refunds.setdefault(payment_id, f"re_memory_{len(self.refunds) + 1}")

    def pay(self, payment_intent_id: str) -> None:
        """What Stripe.js does on the page: attach a card and confirm the payment."""
        stored = self.payments[payment_intent_id]
        stored.payment = replace(stored.payment, status=SUCCEEDED)

    def _once(
        self, key: str, order: PaymentOrder, make: Callable[[PaymentOrder], CreatedPayment]
    ) -> CreatedPayment:
        """Stripe's idempotency: the same key gives back what the first request made."""
        if key not in self._by_key:
            payment = make(order)
            self._by_key[key] = payment.payment_intent_id or payment.subscription_id
            self.payments[self._by_key[key]] = StoredPayment(order, payment)
        return self.payments[self._by_key[key]].payment

    def _intent(self, order: PaymentOrder) -> CreatedPayment:
        intent_id = f"pi_memory_{len(self.payments) + 1}"
        return CreatedPayment(
            payment_intent_id=intent_id,
            client_secret=f"{intent_id}_secret_memory",
            status=SUCCEEDED if self.confirm_on_server else REQUIRES_PAYMENT_METHOD,
        )

    def _subscription(self, order: PaymentOrder) -> CreatedPayment:
        self.plans.add((order.total.currency, order.total.minor))
        customer_id = f"cus_memory_{len(self.customers) + 1}"  # one per checkout, as Stripe's
        self.customers.append(customer_id)
        subscription_id = f"sub_memory_{len(self.payments) + 1}"
        return CreatedPayment(
            subscription_id=subscription_id,
            customer_id=customer_id,
            status=SUCCEEDED,
        )
