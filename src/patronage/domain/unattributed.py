"""Money that reached the Stripe account without our checkout's metadata (a Payment Link, the
Dashboard, another form, a one-off invoice): kept for staff to book as a gift or dismiss,
with who did it and when, unless the settings say to book such payments straight away."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from patronage.domain.errors import DomainError
from patronage.domain.identity import natural_id
from patronage.domain.money import Money


def unattributed_payment_id_for(payment_id: str) -> UUID:
    return natural_id("unattributed-payment", payment_id)


class ReviewStatus(StrEnum):
    PENDING = "pending"
    BOOKED = "booked"
    DISMISSED = "dismissed"


class UnattributedPayment(Aggregate):
    @staticmethod
    def create_id(payment_id: str) -> UUID:
        return unattributed_payment_id_for(payment_id)

    @event("Noted")
    def __init__(
        self,
        payment_id: str,
        amount: Money,
        received_at: datetime,
        email: str,
        name: str,
        stripe_customer_id: str,
        source: str,  # what reported it: "payment_intent" or "invoice"
    ) -> None:
        self.payment_id = payment_id
        self.amount = amount
        self.received_at = received_at
        self.email = email
        self.name = name
        self.stripe_customer_id = stripe_customer_id
        self.source = source
        self.status = ReviewStatus.PENDING
        self.decided_by = ""
        self.reason = ""
        # Refunds Stripe reported while the payment waited for staff: booked with it.
        self.refunds: dict[str, tuple[Money, datetime]] = {}
        self.reversed_refunds: set[str] = set()

    def note_refund(self, refund_id: str, amount: Money, at: datetime, succeeded: bool) -> None:
        """Keep a refund for the gift staff may book (a failed one is never kept again)."""
        if refund_id in self.reversed_refunds:
            return
        if not succeeded:
            self._refund_reversed(refund_id=refund_id)
        elif refund_id not in self.refunds:
            self._refund_noted(refund_id=refund_id, amount=amount, at=at)

    @event("RefundNoted")
    def _refund_noted(self, refund_id: str, amount: Money, at: datetime) -> None:
        self.refunds[refund_id] = (amount, at)

    @event("RefundReversed")
    def _refund_reversed(self, refund_id: str) -> None:
        self.refunds.pop(refund_id, None)
        self.reversed_refunds.add(refund_id)

    def _check_pending(self) -> None:
        if self.status != ReviewStatus.PENDING:
            raise PaymentAlreadyReviewedError(
                f"payment {self.payment_id} was {self.status} by {self.decided_by or 'the system'}"
            )

    def book(self, by: str) -> None:
        self._check_pending()
        self._booked(by=by)

    @event("Booked")
    def _booked(self, by: str) -> None:
        self.status = ReviewStatus.BOOKED
        self.decided_by = by

    def dismiss(self, by: str, reason: str) -> None:
        self._check_pending()
        if not reason.strip():
            raise DomainError("say why the payment is not a donation")
        self._dismissed(by=by, reason=reason.strip())

    @event("Dismissed")
    def _dismissed(self, by: str, reason: str) -> None:
        self.status = ReviewStatus.DISMISSED
        self.decided_by = by
        self.reason = reason


class PaymentAlreadyReviewedError(DomainError):
    pass
