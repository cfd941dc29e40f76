"""The ports the application needs from the outside world; adapters below it implement them.

The composition root (bootstrap.py) hands each service a concrete adapter, so the
application never imports an SDK (an import contract in pyproject.toml holds this).
"""

from __future__ import annotations

from typing import Protocol

from patronage.payments.orders import CardSetup, CreatedPayment, PaymentOrder, SavedCard


class PaymentGateway(Protocol):
    """Creates and reads a checkout's payment at the provider (Stripe in production).

    Every create is idempotent on `order.checkout_id` (and the card, for a charge): asking
    again for the same checkout returns what was made the first time instead of charging
    twice. Failures raise `PaymentRefusedError` (the card was declined) or
    `PaymentProviderError` (try again). Without a card, a payment is made with the
    provider's test card, which only a test gateway accepts.
    """

    def set_up_card(self, order: PaymentOrder) -> CardSetup:
        """A customer of the checkout's own and a card setup the page completes."""
        ...

    def one_time(self, order: PaymentOrder, card: SavedCard | None = None) -> CreatedPayment:
        """A payment of `order.total`, once: "succeeded", or "requires_action" (3-D Secure)."""
        ...

    def monthly(self, order: PaymentOrder, card: SavedCard | None = None) -> CreatedPayment:
        """A monthly membership of `order.total` paid by the card (its first invoice paid, or
        "requires_action" with that payment's client secret)."""
        ...

    def current(self, payment_intent_id: str, subscription_id: str) -> CreatedPayment:
        """A payment created earlier, as the provider has it now."""
        ...
