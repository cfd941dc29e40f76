"""A checkout attempt: one donor's press of "give", from the form to the payment provider.

Its id comes from the key the page sends with the form, so a retried or double-clicked
checkout finds the attempt it already started instead of charging twice. Money is booked
from the provider's webhooks, never from here.
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from patronage.domain.errors import DomainError
from patronage.domain.identity import natural_id
from patronage.domain.money import Money
from patronage.domain.values import Attribution, Tribute


class CheckoutMismatchError(DomainError):
    """The same checkout key came back with different details."""


def checkout_id_for(key: str) -> UUID:
    return natural_id("checkout", key)


class CheckoutAttempt(Aggregate):
    @staticmethod
    def create_id(key: str) -> UUID:
        return checkout_id_for(key)

    @event("Opened")
    def __init__(
        self,
        key: str,
        supporter_id: UUID,
        frequency: str,
        amount: Money,
        fee: Money,
        attribution: Attribution,
        tribute: Tribute | None,
    ) -> None:
        self.key = key
        self.supporter_id = supporter_id
        self.frequency = frequency
        self.amount = amount
        self.fee = fee
        self.attribution = attribution
        self.tribute = tribute
        self.setup_intent_id = ""
        self.review = ""  # why the card-testing guard held its gift for review, if it did
        self.payment_intent_id = ""
        self.subscription_id = ""
        self.customer_id = ""
        self.outcome = ""

    @property
    def total(self) -> Money:
        return self.amount + self.fee

    def check_same(self, supporter_id: UUID, frequency: str, amount: Money, fee: Money) -> None:
        if (self.supporter_id, self.frequency, self.amount, self.fee) != (
            supporter_id,
            frequency,
            amount,
            fee,
        ):
            raise CheckoutMismatchError("this checkout was already started with other details")

    def record_card_setup(self, customer_id: str, setup_intent_id: str, review: str) -> None:
        """The customer and SetupIntent made for the page to save the donor's card, and the
        card-testing guard's reason to hold the gift (empty: none); a resend keeps the first."""
        if not self.setup_intent_id:
            self._card_setup_started(
                customer_id=customer_id, setup_intent_id=setup_intent_id, review=review
            )

    @event("CardSetupStarted")
    def _card_setup_started(self, customer_id: str, setup_intent_id: str, review: str) -> None:
        self.customer_id = customer_id
        self.setup_intent_id = setup_intent_id
        self.review = review

    def record_payment(
        self, payment_intent_id: str, subscription_id: str, customer_id: str
    ) -> None:
        if not self.payment_intent_id and not self.subscription_id:
            self._payment_created(
                payment_intent_id=payment_intent_id,
                subscription_id=subscription_id,
                customer_id=customer_id,
            )

    @event("PaymentCreated")
    def _payment_created(
        self, payment_intent_id: str, subscription_id: str, customer_id: str
    ) -> None:
        self.payment_intent_id = payment_intent_id
        self.subscription_id = subscription_id
        self.customer_id = customer_id or self.customer_id

    def settle(self, outcome: str) -> None:
        if outcome != self.outcome:
            self._settled(outcome=outcome)

    @event("Settled")
    def _settled(self, outcome: str) -> None:
        self.outcome = outcome
