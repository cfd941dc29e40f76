"""An in-memory `PaymentGateway` for service tests, and what it claims about Stripe.

It keeps what Checkout relies on from Stripe: a create is idempotent on the checkout id
(and the card: Stripe's idempotency keys), a card setup makes a customer of its own per
checkout, a card the page saved is charged (or declined) at once, only a test gateway pays
without a card, a membership shares one plan per amount, and a payment reads back
as it is now. tests/integration/test_payment_gateway_contract.py runs the same claims
against the real Stripe gateway on localstripe, so the fake cannot drift from it unseen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from patronage.payments.orders import (
    SUCCEEDED,
    CardSetup,
    CreatedPayment,
    PaymentOrder,
    PaymentProviderError,
    PaymentRefusedError,
    SavedCard,
)

DECLINING_CARD = "4000000000000341"  # sets up, then is declined when charged (as Stripe's)


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
    setups: dict[str, CardSetup] = field(default_factory=dict)  # by SetupIntent id
    cards: dict[str, str] = field(default_factory=dict)  # payment method id -> card number
    _by_key: dict[str, str] = field(default_factory=dict)

    def _reach(self) -> None:
        if not self.reachable:
            raise PaymentProviderError("the payment provider is unavailable; please try again")

    def set_up_card(self, order: PaymentOrder) -> CardSetup:
        self._reach()
        key = f"setup-intent-{order.checkout_id}"
        if key not in self._by_key:
            setup_id = f"seti_memory_{len(self.setups) + 1}"
            self.setups[setup_id] = CardSetup(
                self._customer(), setup_id, f"{setup_id}_secret_memory"
            )
            self._by_key[key] = setup_id
        return self.setups[self._by_key[key]]

    def save_card(self, setup: CardSetup, number: str = "4242424242424242") -> str:
        """What Stripe.js confirmCardSetup does on the page: the card's payment method id."""
        method_id = f"pm_memory_{len(self.cards) + 1}"
        self.cards[method_id] = number
        return method_id

    def one_time(self, order: PaymentOrder, card: SavedCard | None = None) -> CreatedPayment:
        self._charge(card)
        return self._once(f"payment-intent-{order.checkout_id}", order, card, self._intent)

    def monthly(self, order: PaymentOrder, card: SavedCard | None = None) -> CreatedPayment:
        self._charge(card)
        return self._once(f"subscription-{order.checkout_id}", order, card, self._subscription)

    def current(self, payment_intent_id: str, subscription_id: str) -> CreatedPayment:
        self._reach()
        payment = self.payments[payment_intent_id or subscription_id].payment
        # Stripe reads a subscription back without the first invoice's secret.
        return replace(payment, client_secret="") if subscription_id else payment

    def card_fingerprint(self, card: SavedCard) -> str:
        self._reach()
        return f"fp_{card.payment_method_id}"  # one saved card, one fingerprint

    def refund_fraudulent(self, payment_id: str) -> str:
        self._reach()
        return self.refunds.setdefault(payment_id, f"re_memory_{len(self.refunds) + 1}")

    def _charge(self, card: SavedCard | None) -> None:
        self._reach()
        if card is None and not self.confirm_on_server:
            raise PaymentProviderError("a payment needs the donor's card")
        if card is not None and self.cards[card.payment_method_id] == DECLINING_CARD:
            raise PaymentRefusedError("Your card was declined.", "card_declined")

    def _once(
        self,
        key: str,
        order: PaymentOrder,
        card: SavedCard | None,
        make: Callable[[PaymentOrder, SavedCard | None], CreatedPayment],
    ) -> CreatedPayment:
        """Stripe's idempotency: the same key gives back what the first request made."""
        key += f"-{card.payment_method_id}" if card else ""
        if key not in self._by_key:
            payment = make(order, card)
            self._by_key[key] = payment.payment_intent_id or payment.subscription_id
            self.payments[self._by_key[key]] = StoredPayment(order, payment)
        return self.payments[self._by_key[key]].payment

    def _customer(self) -> str:
        customer_id = f"cus_memory_{len(self.customers) + 1}"  # one per checkout, as Stripe's
        self.customers.append(customer_id)
        return customer_id

    def _intent(self, order: PaymentOrder, card: SavedCard | None) -> CreatedPayment:
        intent_id = f"pi_memory_{len(self.payments) + 1}"
        return CreatedPayment(
            payment_intent_id=intent_id,
            customer_id=card.customer_id if card else "",
            client_secret=f"{intent_id}_secret_memory",
            status=SUCCEEDED,
        )

    def _subscription(self, order: PaymentOrder, card: SavedCard | None) -> CreatedPayment:
        self.plans.add((order.total.currency, order.total.minor))
        subscription_id = f"sub_memory_{len(self.payments) + 1}"
        return CreatedPayment(
            subscription_id=subscription_id,
            customer_id=card.customer_id if card else self._customer(),
            status=SUCCEEDED,
        )
