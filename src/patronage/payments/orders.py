"""What a checkout asks a payment provider for and what it gets back, in no SDK's terms.

These values cross the `PaymentGateway` port (application/ports.py): the Stripe adapter in
payments/stripe/gateway.py turns them into API calls, and tests' in-memory gateway into
dictionaries, so neither the application nor its tests depend on the SDK.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from patronage.domain.money import Money

SUCCEEDED = "succeeded"


class PaymentRefusedError(Exception):
    """The provider declined the card: say why; the donor may try another card."""

    def __init__(self, message: str, code: str = "card_declined") -> None:
        super().__init__(message)
        self.code = code  # the provider's decline code, e.g. "card_declined", "expired_card"


class PaymentProviderError(Exception):
    """The provider could not be reached or failed: nothing to tell the donor but "try again"."""


@dataclass(frozen=True, slots=True)
class PaymentOrder:
    """What one checkout asks the provider to charge: the donor, the total (the fee they
    chose to cover included) and the metadata the webhooks book the gift by."""

    checkout_id: UUID  # the provider's idempotency keys derive from it
    email: str
    name: str
    total: Money
    metadata: dict[str, str]


@dataclass(frozen=True, slots=True)
class CardSetup:
    """A customer of the checkout's own and a SetupIntent the page confirms with the card in
    Stripe.js (`confirmCardSetup`), so card numbers reach Stripe only, never our server."""

    customer_id: str
    setup_intent_id: str
    client_secret: str


@dataclass(frozen=True, slots=True)
class SavedCard:
    """The payment method the page's confirmed SetupIntent saved, for the customer it made."""

    customer_id: str
    payment_method_id: str


@dataclass(frozen=True, slots=True)
class CreatedPayment:
    """What the provider made for a checkout (a PaymentIntent, or a subscription and its
    customer) and where it stands; the page confirms with `client_secret` when it must."""

    payment_intent_id: str = ""
    subscription_id: str = ""
    customer_id: str = ""
    client_secret: str = ""
    status: str = ""  # "succeeded", or what the page still has to do ("requires_action")
