"""The ports the application needs from the outside world; adapters below it implement them.

The composition root (bootstrap.py) hands each service a concrete adapter, so the
application never imports an SDK (an import contract in pyproject.toml holds this).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from patronage.domain.money import Money
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

    def card_fingerprint(self, card: SavedCard) -> str:
        """The saved card's fingerprint at the provider (one card number, one fingerprint),
        or "" when it has none; for the card-testing guard."""
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


class MembershipGateway(Protocol):
    """Changes a membership's subscription at the provider, and opens its card page.

    Nothing here records anything: the provider's webhook reports each change, and the
    ledger follows it. Failures raise `PaymentRefusedError` (the provider refused this
    change: say so) or `PaymentProviderError` (try again later).
    """

    def change_amount(self, subscription_id: str, amount: Money) -> None:
        """Charge `amount` every month from the next payment on (no proration now)."""
        ...

    def pause(self, subscription_id: str, resumes_at: datetime) -> None:
        """Collect nothing until `resumes_at`."""
        ...

    def resume(self, subscription_id: str) -> None:
        """Collect again: end a pause, or take back a cancellation at the period's end."""
        ...

    def cancel_at_period_end(self, subscription_id: str) -> None: ...

    def cancel_now(self, subscription_id: str) -> None:
        """End it now: nothing more is charged."""
        ...

    def card_page(self, subscription_id: str, return_url: str) -> str:
        """The address of the provider's own page where the member updates their card."""
        ...
