"""A monthly membership: a Stripe subscription seen from the ledger.

Any event about a subscription carries enough to start the membership, so the first one to
arrive (subscription created, Checkout completed, an invoice paid) starts it, and the others
only add what they know. Webhooks arrive in any order, so every fact is kept as a register
whose final value does not depend on delivery order:

- status: the report with the newest Stripe time wins (ties broken by a fixed rank of the
  statuses); a cancellation wins over everything, so a cancelled membership stays cancelled;
- monthly amount: the newest report from the subscription itself wins; an amount read off an
  invoice only starts a membership and gives way to any report from the subscription;
- start: the earliest time any report names;
- attribution: learnt once, from the first report that carries one;
- schedule (end of the current period, end of a pause): the newest report from the
  subscription wins.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from patronage.domain.errors import DomainError
from patronage.domain.identity import natural_id
from patronage.domain.money import Money
from patronage.domain.values import Attribution, BillingPeriod


def membership_id_for(subscription_id: str) -> UUID:
    return natural_id("membership", subscription_id)


class MembershipStatus(StrEnum):
    INCOMPLETE = "incomplete"  # the first payment failed or needs the donor's action
    ACTIVE = "active"
    PAST_DUE = "past_due"  # a renewal failed
    CANCELLATION_SCHEDULED = "cancellation_scheduled"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    INCOMPLETE_EXPIRED = "incomplete_expired"  # the first payment never came (Stripe: 23 h)


# Statuses nothing comes back from.
ENDED = {MembershipStatus.CANCELLED, MembershipStatus.INCOMPLETE_EXPIRED}


# Which of two reports made in the same second wins: the one further along.
_RANK = {
    MembershipStatus.INCOMPLETE: 0,
    MembershipStatus.ACTIVE: 1,
    MembershipStatus.PAST_DUE: 2,
    MembershipStatus.PAUSED: 3,
    MembershipStatus.CANCELLATION_SCHEDULED: 4,
    MembershipStatus.CANCELLED: 5,
    MembershipStatus.INCOMPLETE_EXPIRED: 6,
}


def _status_key(status: MembershipStatus, as_of: datetime) -> tuple[bool, datetime, int]:
    return (status in ENDED, as_of, _RANK[status])


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
        amount_as_of: datetime | None = None,
        period: BillingPeriod | None = None,  # None in events stored before other periods
    ) -> None:
        if not monthly_amount.is_positive():
            raise DomainError("a membership needs a positive amount")
        self.subscription_id = subscription_id
        self.supporter_id = supporter_id
        # The amount charged each `period` (the name predates yearly and weekly plans).
        self.monthly_amount = monthly_amount
        self.period = period or BillingPeriod()
        # None: the amount was read off an invoice, and any report from the subscription wins.
        self.amount_as_of = amount_as_of
        self.attribution = attribution
        self.started_at = started_at
        self.status = MembershipStatus.INCOMPLETE
        # None until a report says anything about the status.
        self.status_as_of: datetime | None = None
        self.payments: dict[str, Money] = {}
        self.payment_gifts: dict[str, UUID] = {}
        self.failures: list[str] = []
        # When the current period ends (the next payment, or the end once a cancellation is
        # scheduled; None: not known yet), and when a pause ends.
        self.period_ends_at: datetime | None = None
        self.resumes_at: datetime | None = None
        self.schedule_as_of: datetime | None = None

    @property
    def is_cancelled(self) -> bool:
        return self.status in ENDED

    # Money ---------------------------------------------------------------------------------

    def has_payment(self, invoice_id: str) -> bool:
        return invoice_id in self.payments

    def receive_payment(
        self, invoice_id: str, amount: Money, gift_id: UUID, paid_at: datetime
    ) -> bool:
        """Credit one invoice once; returns False when it was credited before.

        A payment is also a report that the membership was active when it was paid.
        """
        if invoice_id in self.payments:
            return False
        self._payment_received(
            invoice_id=invoice_id, amount=amount, gift_id=gift_id, paid_at=paid_at
        )
        self.report_status(MembershipStatus.ACTIVE, paid_at)
        return True

    @event("PaymentReceived")
    def _payment_received(
        self, invoice_id: str, amount: Money, gift_id: UUID, paid_at: datetime
    ) -> None:
        self.payments[invoice_id] = amount
        self.payment_gifts[invoice_id] = gift_id

    def fail_payment(
        self, invoice_id: str, reason: str, failed_at: datetime, first: bool = False
    ) -> None:
        """A payment that failed or needs the donor's authentication: no money. The first
        invoice failing leaves the membership incomplete (as Stripe says), a renewal past due.

        Each failed invoice is remembered once, even if it is paid later; every attempt that
        failed is a report of that status at that time.
        """
        if invoice_id not in self.failures:
            self._payment_failed(invoice_id=invoice_id, reason=reason, failed_at=failed_at)
        status = MembershipStatus.INCOMPLETE if first else MembershipStatus.PAST_DUE
        self.report_status(status, failed_at)

    @event("PaymentFailed")
    def _payment_failed(self, invoice_id: str, reason: str, failed_at: datetime) -> None:
        self.failures.append(invoice_id)

    # What the subscription reports -------------------------------------------------------

    def change_amount(
        self, monthly_amount: Money, as_of: datetime, period: BillingPeriod | None = None
    ) -> None:
        """Apply the amount (and period) the subscription had at `as_of`, unless a newer one
        is known."""
        period = period or BillingPeriod()
        if not monthly_amount.is_positive():
            return
        if self.amount_as_of is not None and (as_of, monthly_amount.minor) <= (
            self.amount_as_of,
            self.monthly_amount.minor,
        ):
            return
        if monthly_amount != self.monthly_amount or period != self.period:
            self._amount_changed(monthly_amount=monthly_amount, as_of=as_of, period=period)
        else:
            self._amount_confirmed(as_of=as_of)

    @event("AmountChanged")
    def _amount_changed(
        self, monthly_amount: Money, as_of: datetime, period: BillingPeriod | None = None
    ) -> None:
        self.monthly_amount = monthly_amount
        self.amount_as_of = as_of
        self.period = period or BillingPeriod()

    @event("AmountConfirmed")
    def _amount_confirmed(self, as_of: datetime) -> None:
        self.amount_as_of = as_of

    def report_schedule(
        self, period_ends_at: datetime | None, resumes_at: datetime | None, as_of: datetime
    ) -> None:
        """Apply the period end and pause end the subscription had at `as_of`,
        unless a newer report is known."""
        if self.schedule_as_of is not None and as_of <= self.schedule_as_of:
            return
        if (period_ends_at, resumes_at) != (self.period_ends_at, self.resumes_at):
            self._schedule_reported(
                period_ends_at=period_ends_at, resumes_at=resumes_at, as_of=as_of
            )

    @event("ScheduleReported")
    def _schedule_reported(
        self, period_ends_at: datetime | None, resumes_at: datetime | None, as_of: datetime
    ) -> None:
        self.period_ends_at = period_ends_at
        self.resumes_at = resumes_at
        self.schedule_as_of = as_of

    def note_start(self, started_at: datetime) -> None:
        """The membership started no later than `started_at`: keep the earliest time."""
        if started_at < self.started_at:
            self._start_moved(started_at=started_at)

    @event("StartMoved")
    def _start_moved(self, started_at: datetime) -> None:
        self.started_at = started_at

    def learn_attribution(self, attribution: Attribution) -> bool:
        """Fill in the ask that won the membership when the starting report had none.

        Returns True when it was learnt now, so the gifts booked before can learn it too.
        """
        if attribution != Attribution() and self.attribution == Attribution():
            self._attribution_learnt(attribution=attribution)
            return True
        return False

    @event("AttributionLearnt")
    def _attribution_learnt(self, attribution: Attribution) -> None:
        self.attribution = attribution

    def report_status(self, status: MembershipStatus, as_of: datetime) -> None:
        """Apply a status Stripe reported at `as_of`, unless a newer one is known."""
        status = MembershipStatus(status)
        if self.status_as_of is not None and _status_key(status, as_of) <= _status_key(
            self.status, self.status_as_of
        ):
            return
        if status == self.status:
            self._status_confirmed(as_of=as_of)
        elif status == MembershipStatus.CANCELLED:
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
        self.report_status(MembershipStatus.CANCELLED, cancelled_at)

    @event("Cancelled")
    def _cancelled(self, cancelled_at: datetime) -> None:
        self.status = MembershipStatus.CANCELLED
        self.status_as_of = cancelled_at

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

    @event("StatusConfirmed")
    def _status_confirmed(self, as_of: datetime) -> None:
        """The same status, reported again at a newer time (which older reports must lose to)."""
        self.status_as_of = as_of
