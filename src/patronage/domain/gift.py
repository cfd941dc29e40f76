"""A gift: one payment of money received from a supporter, one-time or a monthly charge.

Its id comes from the payment's own provider id, so the same money reported by several
webhooks (Checkout and PaymentIntent, invoice.paid and invoice.payment_succeeded) is one gift.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from patronage.domain.errors import (
    DisputeMismatchError,
    DomainError,
    GiftAlreadyReceiptedError,
    GiftNotReceiptableError,
    RefundExceedsPaymentError,
)
from patronage.domain.identity import natural_id
from patronage.domain.money import Money
from patronage.domain.values import Attribution, Tribute


def gift_id_for(payment_id: str) -> UUID:
    return natural_id("gift", payment_id)


class GiftKind(StrEnum):
    ONE_TIME = "one_time"
    MONTHLY = "monthly"


class DisputeStatus(StrEnum):
    OPEN = "open"  # an inquiry or a dispute waiting for evidence or a decision
    FUNDS_WITHDRAWN = "funds_withdrawn"
    FUNDS_REINSTATED = "funds_reinstated"
    WON = "won"  # also an inquiry closed without a chargeback, or a prevented dispute
    LOST = "lost"
    APPEALING = "appealing"  # lost, and appealed: the money is gone unless the appeal wins


class ReviewState(StrEnum):
    """Staff review of a gift the card-testing guard found suspicious."""

    NONE = ""  # never held
    HELD = "held"  # waiting for staff: not receipted meanwhile
    RELEASED = "released"  # staff found it genuine
    REJECTED = "rejected"  # staff found it fraudulent: refunded, never receipted


class GiftReviewError(DomainError):
    """The review decision does not fit the gift's review (not held, or decided already)."""


# Closed: the gift is no longer held from receipting.
_DISPUTE_CLOSED = {DisputeStatus.WON, DisputeStatus.LOST}
# The money is gone (the views count it as lost) while the dispute is in these states.
DISPUTE_LOSING = {DisputeStatus.LOST, DisputeStatus.APPEALING}

# Open, with or without its money taken back for now.
_DISPUTE_OPEN_PHASE = {
    DisputeStatus.OPEN,
    DisputeStatus.FUNDS_WITHDRAWN,
    DisputeStatus.FUNDS_REINSTATED,
}
# Which of two dispute reports made in the same second wins: the one further along
# (a loss can be appealed, and an appeal won).
_DISPUTE_RANK = {
    DisputeStatus.OPEN: 0,
    DisputeStatus.FUNDS_WITHDRAWN: 1,
    DisputeStatus.FUNDS_REINSTATED: 2,
    DisputeStatus.LOST: 3,
    DisputeStatus.APPEALING: 4,
    DisputeStatus.WON: 5,
}


class Gift(Aggregate):
    @staticmethod
    def create_id(payment_id: str) -> UUID:
        return gift_id_for(payment_id)

    @event("Received")
    def __init__(
        self,
        payment_id: str,
        supporter_id: UUID,
        amount: Money,
        received_at: datetime,
        kind: GiftKind,
        attribution: Attribution,
        benefit_value: Money,
        fee_covered: Money,
        membership_id: UUID | None = None,
        invoice_id: str = "",
        tribute: Tribute | None = None,
        through_stripe: bool = True,  # False: an invoice marked paid out of band
    ) -> None:
        if not amount.is_positive():
            raise DomainError("a gift must be a positive amount")
        for part, label in ((benefit_value, "benefit value"), (fee_covered, "covered fee")):
            if part.currency != amount.currency or part.minor < 0 or part > amount:
                raise DomainError(f"the {label} must be between zero and the gift, in its currency")
        self.payment_id = payment_id
        self.supporter_id = supporter_id
        self.amount = amount
        self.received_at = received_at
        self.kind = GiftKind(kind)
        self.attribution = attribution
        self.benefit_value = benefit_value
        self.fee_covered = fee_covered
        self.membership_id = membership_id
        self.invoice_id = invoice_id
        self.tribute = tribute
        self.through_stripe = through_stripe
        self.refunds: dict[str, Money] = {}
        self.reversed_refunds: set[str] = set()
        self.disputes: dict[str, DisputeStatus] = {}
        self.dispute_amounts: dict[str, Money] = {}
        self.dispute_as_of: dict[str, datetime] = {}
        self.receipt_id: UUID | None = None
        self.review = ReviewState.NONE
        self.review_reason = ""  # why it was held, then why staff rejected it
        self.reviewed_by = ""

    def note_received_at(self, received_at: datetime) -> None:
        """Another report of the same payment: the money arrived no later than `received_at`.

        The earliest report wins, so the date does not depend on which webhook came first;
        a receipted gift keeps the date its receipt printed.
        """
        if received_at < self.received_at and self.receipt_id is None:
            self._received_at_corrected(received_at=received_at)

    @event("ReceivedAtCorrected")
    def _received_at_corrected(self, received_at: datetime) -> None:
        self.received_at = received_at

    def learn_attribution(self, attribution: Attribution) -> None:
        """A monthly gift booked before its membership knew the ask that won it learns it."""
        if attribution != Attribution() and self.attribution == Attribution():
            self._attribution_learnt(attribution=attribution)

    @event("AttributionLearnt")
    def _attribution_learnt(self, attribution: Attribution) -> None:
        self.attribution = attribution

    # Refunds -----------------------------------------------------------------------------

    @property
    def refunded(self) -> Money:
        result = Money.zero(self.amount.currency)
        for amount in self.refunds.values():
            result = result + amount
        return result

    @property
    def net(self) -> Money:
        """What the organisation keeps: paid, less refunds and disputes lost."""
        if not self.refunds and not self.disputes:
            return self.amount  # most gifts; year end asks each gift four times
        return self.amount - self.refunded - self.disputed_lost

    def refund(self, refund_id: str, amount: Money, refunded_at: datetime) -> None:
        """Record a refund; the same refund id again, or after it failed, changes nothing."""
        if refund_id in self.refunds or refund_id in self.reversed_refunds:
            return
        if not amount.is_positive():
            raise DomainError("a refund must be a positive amount")
        if self.refunded + amount > self.amount:
            raise RefundExceedsPaymentError(
                f"refund of {amount} would exceed the {self.amount} paid "
                f"({self.refunded} already refunded)"
            )
        self._refunded(refund_id=refund_id, amount=amount, refunded_at=refunded_at)

    @event("Refunded")
    def _refunded(self, refund_id: str, amount: Money, refunded_at: datetime) -> None:
        self.refunds[refund_id] = amount

    def reverse_refund(self, refund_id: str, reason: str) -> None:
        """A refund that failed or was cancelled gives the money back to the gift.

        It is remembered even when its success was never reported, so that a success
        delivered late cannot book it again.
        """
        if refund_id not in self.reversed_refunds:
            self._refund_reversed(refund_id=refund_id, reason=reason)

    @event("RefundReversed")
    def _refund_reversed(self, refund_id: str, reason: str) -> None:
        self.refunds.pop(refund_id, None)
        self.reversed_refunds.add(refund_id)

    # Disputes ----------------------------------------------------------------------------

    @property
    def disputed_lost(self) -> Money:
        result = Money.zero(self.amount.currency)
        for dispute_id, status in self.disputes.items():
            if status in DISPUTE_LOSING:
                result = result + self.dispute_amounts[dispute_id]
        return result

    @property
    def has_open_dispute(self) -> bool:
        return any(status not in _DISPUTE_CLOSED for status in self.disputes.values())

    def open_dispute(
        self, dispute_id: str, amount: Money, reason: str, opened_at: datetime
    ) -> None:
        """Record a dispute on this gift; checked like a refund: in the gift's currency,
        positive, and no more than was paid."""
        if dispute_id in self.disputes:
            return
        if amount.currency != self.amount.currency:
            raise DisputeMismatchError(
                f"dispute {dispute_id} is in {amount.currency}, the gift in {self.amount.currency}"
            )
        if not amount.is_positive() or amount > self.amount:
            raise DisputeMismatchError(
                f"dispute {dispute_id} of {amount} is not within the {self.amount} paid"
            )
        self._dispute_opened(
            dispute_id=dispute_id, amount=amount, reason=reason, opened_at=opened_at
        )

    @event("DisputeOpened")
    def _dispute_opened(
        self, dispute_id: str, amount: Money, reason: str, opened_at: datetime
    ) -> None:
        self.disputes[dispute_id] = DisputeStatus.OPEN
        self.dispute_amounts[dispute_id] = amount
        self.dispute_as_of[dispute_id] = opened_at

    def update_dispute(self, dispute_id: str, status: DisputeStatus, at: datetime) -> None:
        """Move a dispute on: the report with the newest Stripe time wins, reports of the
        same second by how far along they are; so a loss can be appealed and won later."""
        status = DisputeStatus(status)
        current = self.disputes.get(dispute_id)
        if current is None:
            raise DomainError(f"dispute {dispute_id} was never opened on this gift")
        as_of = self.dispute_as_of.get(dispute_id, at)
        if current == status:
            if status not in _DISPUTE_OPEN_PHASE and at > as_of:
                # Reported again later (lost, appealed, lost again): the dispute's time moves
                # on, so an older report that arrives after this one does not win. The views
                # see no change of money in it (previous == status).
                self._dispute_updated(dispute_id=dispute_id, status=status, at=at, previous=current)
            return
        if status in _DISPUTE_OPEN_PHASE and current in _DISPUTE_OPEN_PHASE:
            # While it is open, its funds only move on (withdrawn, then reinstated); a report
            # of a plain open status (`updated`, under review) never undoes a funds movement,
            # whichever second either was made in.
            if _DISPUTE_RANK[status] <= _DISPUTE_RANK[current]:
                return
            at = max(at, as_of)
        elif (at, _DISPUTE_RANK[status]) <= (as_of, _DISPUTE_RANK[current]):
            return
        self._dispute_updated(dispute_id=dispute_id, status=status, at=at, previous=current)

    @event("DisputeUpdated")
    def _dispute_updated(
        self,
        dispute_id: str,
        status: DisputeStatus,
        at: datetime,
        previous: DisputeStatus | None = None,  # None in events stored before appeals
    ) -> None:
        self.disputes[dispute_id] = DisputeStatus(status)
        self.dispute_as_of[dispute_id] = at

    # Review (card testing) ---------------------------------------------------------------

    @property
    def under_review(self) -> bool:
        """Held by the card-testing guard and not released: never receipted."""
        return self.review in (ReviewState.HELD, ReviewState.REJECTED)

    def hold_for_review(self, reason: str) -> None:
        if self.review == ReviewState.NONE and self.receipt_id is None:
            self._held_for_review(reason=reason[:500])

    @event("HeldForReview")
    def _held_for_review(self, reason: str) -> None:
        self.review = ReviewState.HELD
        self.review_reason = reason

    def _check_held(self, decision: ReviewState) -> bool:
        """True when the decision is new; False when it was made already (a replay)."""
        if self.review == decision:
            return False
        if self.review != ReviewState.HELD:
            state = self.review.value or "not held"
            raise GiftReviewError(f"gift {self.id} is {state}, not held for review")
        return True

    def release_from_review(self, by: str) -> None:
        if self._check_held(ReviewState.RELEASED):
            self._released_from_review(by=by)

    @event("ReleasedFromReview")
    def _released_from_review(self, by: str) -> None:
        self.review = ReviewState.RELEASED
        self.reviewed_by = by

    def reject_in_review(self, by: str, reason: str) -> None:
        if not reason.strip():
            raise GiftReviewError("say why the gift is rejected")
        if self._check_held(ReviewState.REJECTED):
            self._rejected_in_review(by=by, reason=reason.strip()[:500])

    @event("RejectedInReview")
    def _rejected_in_review(self, by: str, reason: str) -> None:
        self.review = ReviewState.REJECTED
        self.reviewed_by = by
        self.review_reason = reason

    # Receipts ----------------------------------------------------------------------------

    def check_receiptable(self) -> None:
        if self.receipt_id is not None:
            raise GiftAlreadyReceiptedError(f"gift {self.id} is already covered by a receipt")
        if self.has_open_dispute:
            raise GiftNotReceiptableError(f"gift {self.id} is held: a dispute is open")
        if self.under_review:
            raise GiftNotReceiptableError(f"gift {self.id} is {self.review} in staff review")
        if not self.receiptable_amount.is_positive():
            raise GiftNotReceiptableError(f"gift {self.id} has nothing left to receipt")

    @property
    def receiptable_amount(self) -> Money:
        """Money that may go on a tax receipt: refunded and lost money is never receipted."""
        return self.net

    def attach_receipt(self, receipt_id: UUID) -> None:
        self.check_receiptable()
        self._receipt_attached(receipt_id=receipt_id)

    @event("ReceiptAttached")
    def _receipt_attached(self, receipt_id: UUID) -> None:
        self.receipt_id = receipt_id

    def detach_receipt(self, receipt_id: UUID) -> None:
        """Free the gift for another receipt once the receipt covering it is voided."""
        if self.receipt_id == receipt_id:
            self._receipt_detached(receipt_id=receipt_id)

    @event("ReceiptDetached")
    def _receipt_detached(self, receipt_id: UUID) -> None:
        self.receipt_id = None


def payment_link_id_for(payment_id: str) -> UUID:
    return natural_id("payment-link", payment_id)


class PaymentLink(Aggregate):
    """A PaymentIntent that paid an invoice whose gift is keyed by the invoice id.

    Invoices in Stripe's basil shape name no PaymentIntent, so their gift is keyed by the
    invoice; a refund or dispute names only the PaymentIntent, and finds the gift through
    this link (from `invoice_payment.paid`).
    """

    @staticmethod
    def create_id(payment_id: str) -> UUID:
        return payment_link_id_for(payment_id)

    @event("Linked")
    def __init__(self, payment_id: str, invoice_id: str) -> None:
        self.payment_id = payment_id
        self.invoice_id = invoice_id
