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


class PaymentProviderError(Exception):
    """The provider could not be reached or failed: nothing to tell the donor but "try again"."""


@dataclass(frozen=True, slots=True)
class PaymentOrder:
    checkout_id: UUID  # the provider's idempotency keys derive from it
    email: str
    name: str
    total: Money
    metadata: dict[str, str]


@dataclass(frozen=True, slots=True)
class CreatedPayment:
    payment_intent_id: str = ""
    subscription_id: str = ""
    customer_id: str = ""
    client_secret: str = ""
    status: str = ""  # "succeeded", or what the page still has to do
