"""A monthly membership: a Stripe subscription seen from the ledger.

Any event about a subscription carries enough to start the membership, so the first one to
arrive (subscription created, Checkout completed, an invoice paid) starts it, and the others
only add what they know. Status reports carry the time Stripe made them: an older report
never overwrites a newer one, and a cancelled membership stays cancelled.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from patronage.domain.errors import DomainError
from patronage.domain.identity import natural_id
from patronage.domain.money import Money
from patronage.domain.values import Attribution


def membership_id_for(subscription_id: str) -> UUID:
    return natural_id("membership", subscription_id)


class MembershipStatus(StrEnum):
    INCOMPLETE = "incomplete"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    CANCELLATION_SCHEDULED = "cancellation_scheduled"
    PAUSED = "paused"
    CANCELLED = "cancelled"


class Membership(Aggregate):
    @staticmethod
    def create_id(subscription_id: str) -> UUID:
        return membership_id_for(subscription_id)

    @event("Started")
    def __init__(
        self,
        subscription_id: str,
        supporter_id: UUID,
        monthly_amount: Money,
        attribution: Attribution,
        started_at: datetime,
    ) -> None:
        if not monthly_amount.is_positive():
            raise DomainError("a membership needs a positive monthly amount")
        self.subscription_id = subscription_id
        self.supporter_id = supporter_id
        self.monthly_amount = monthly_amount
        self.attribution = attribution
        self.started_at = started_at
        self.status = MembershipStatus.INCOMPLETE
        self.status_as_of = started_at
        self.payments: dict[str, Money] = {}
        self.failures: list[str] = []

    @property
    def is_cancelled(self) -> bool:
        return self.status == MembershipStatus.CANCELLED

    # Money ---------------------------------------------------------------------------------

    def has_payment(self, invoice_id: str) -> bool:
        return invoice_id in self.payments

    def receive_payment(
        self, invoice_id: str, amount: Money, gift_id: UUID, paid_at: datetime
    ) -> bool:
        """Credit one invoice once; returns False when it was credited before."""
        if invoice_id in self.payments:
            return False
        self._payment_received(
            invoice_id=invoice_id, amount=amount, gift_id=gift_id, paid_at=paid_at
        )
        return True

    @event("PaymentReceived")
    def _payment_received(
        self, invoice_id: str, amount: Money, gift_id: UUID, paid_at: datetime
    ) -> None:
        self.payments[invoice_id] = amount
        if self.status in (MembershipStatus.INCOMPLETE, MembershipStatus.PAST_DUE) and (
            paid_at >= self.status_as_of
        ):
            self.status = MembershipStatus.ACTIVE
            self.status_as_of = paid_at

    def fail_payment(self, invoice_id: str, reason: str, failed_at: datetime) -> None:
        """A renewal that failed or needs the donor's authentication: no money, past due."""
        if invoice_id in self.payments or invoice_id in self.failures:
            return
        self._payment_failed(invoice_id=invoice_id, reason=reason, failed_at=failed_at)

    @event("PaymentFailed")
    def _payment_failed(self, invoice_id: str, reason: str, failed_at: datetime) -> None:
        self.failures.append(invoice_id)
        if not self.is_cancelled and failed_at >= self.status_as_of:
            self.status = MembershipStatus.PAST_DUE
            self.status_as_of = failed_at

    # Lifecycle -----------------------------------------------------------------------------

    def change_amount(self, monthly_amount: Money, as_of: datetime) -> None:
        if monthly_amount != self.monthly_amount and monthly_amount.is_positive():
            self._amount_changed(monthly_amount=monthly_amount, as_of=as_of)

    @event("AmountChanged")
    def _amount_changed(self, monthly_amount: Money, as_of: datetime) -> None:
        self.monthly_amount = monthly_amount

    def report_status(self, status: MembershipStatus, as_of: datetime) -> None:
        """Apply a status Stripe reported at `as_of`, unless a newer one is known."""
        status = MembershipStatus(status)
        if self.is_cancelled or as_of < self.status_as_of or status == self.status:
            return
        if status == MembershipStatus.CANCELLED:
            self._cancelled(cancelled_at=as_of)
        elif status == MembershipStatus.CANCELLATION_SCHEDULED:
            self._cancellation_scheduled(as_of=as_of)
        elif status == MembershipStatus.PAUSED:
            self._paused(as_of=as_of)
        elif self.status in (MembershipStatus.PAUSED, MembershipStatus.CANCELLATION_SCHEDULED):
            self._resumed(status=status, as_of=as_of)
        else:
            self._status_changed(status=status, as_of=as_of)

    def cancel(self, cancelled_at: datetime) -> None:
        if not self.is_cancelled:
            self._cancelled(cancelled_at=cancelled_at)

    @event("Cancelled")
    def _cancelled(self, cancelled_at: datetime) -> None:
        self.status = MembershipStatus.CANCELLED
        self.status_as_of = max(cancelled_at, self.status_as_of)

    @event("CancellationScheduled")
    def _cancellation_scheduled(self, as_of: datetime) -> None:
        self.status = MembershipStatus.CANCELLATION_SCHEDULED
        self.status_as_of = as_of

    @event("Paused")
    def _paused(self, as_of: datetime) -> None:
        self.status = MembershipStatus.PAUSED
        self.status_as_of = as_of

    @event("Resumed")
    def _resumed(self, status: MembershipStatus, as_of: datetime) -> None:
        self.status = MembershipStatus(status)
        self.status_as_of = as_of

    @event("StatusChanged")
    def _status_changed(self, status: MembershipStatus, as_of: datetime) -> None:
        self.status = MembershipStatus(status)
        self.status_as_of = as_of
