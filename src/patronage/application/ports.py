"""The ports the application needs from the outside world; adapters below it implement them.

The composition root (bootstrap.py) hands each service a concrete adapter, so the
application never imports an SDK (an import contract in pyproject.toml holds this).
"""

from __future__ import annotations

from typing import Protocol

from patronage.payments.orders import CreatedPayment, PaymentOrder


class PaymentGateway(Protocol):
    """Creates and reads a checkout's payment at the provider (Stripe in production).

    Every create is idempotent on `order.checkout_id`: asking again for the same checkout
    returns the payment made the first time instead of charging twice. Failures raise
    `PaymentRefusedError` (the card was declined) or `PaymentProviderError` (try again).
    """

    def one_time(self, order: PaymentOrder) -> CreatedPayment:
        """A payment of `order.total`, once."""
        ...

    def monthly(self, order: PaymentOrder) -> CreatedPayment:
        """A monthly membership of `order.total`, for the supporter's customer (made if new)."""
        ...

    def current(self, payment_intent_id: str, subscription_id: str) -> CreatedPayment:
        """A payment created earlier, as the provider has it now."""
        ...

    def refund_fraudulent(self, payment_id: str) -> str:
        """Refund all of a payment (a PaymentIntent) as fraudulent; returns the refund's id.

        Idempotent on `payment_id`: asking again returns the same refund. The refund
        reaches the ledger through its webhook, like any other."""
        ...


class CaptchaVerifier(Protocol):
    """Checks the token a CAPTCHA widget (Turnstile, hCaptcha...) gave the donor's page.

    Returns True when the provider vouches for it, False when it does not (a missing,
    forged, expired or reused token), None when the provider could not be asked.
    """

    def verify(self, token: str, remote_ip: str) -> bool | None: ...
