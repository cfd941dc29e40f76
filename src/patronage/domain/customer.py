"""Which supporter a Stripe customer is: an index kept as the ledger learns it.

Subscription events name only the customer, so a supporter first seen with an email (an
invoice, a Checkout Session, a customer retrieved from Stripe) is found again by its
customer id. The first supporter linked to a customer keeps it.
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from patronage.domain.identity import natural_id


def stripe_customer_id_for(customer_id: str) -> UUID:
    return natural_id("stripe-customer", customer_id)


class StripeCustomer(Aggregate):
    @staticmethod
    def create_id(customer_id: str) -> UUID:
        return stripe_customer_id_for(customer_id)

    @event("Linked")
    def __init__(self, customer_id: str, supporter_id: UUID) -> None:
        self.customer_id = customer_id
        self.supporter_id = supporter_id
