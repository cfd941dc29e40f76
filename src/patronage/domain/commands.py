"""Commands: what someone (a webhook, a person) asks the ledger to record.

Plain values with no behaviour, so that the pure Stripe translation can build them and the
application can handle them; each is idempotent on the provider's natural id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from uuid import UUID

from patronage.domain.gift import DisputeStatus
from patronage.domain.membership import MembershipStatus
from patronage.domain.money import Money
from patronage.domain.values import Attribution, BillingPeriod, PostalAddress, Tribute


@dataclass(frozen=True)
class SupporterDetails:
    """Who gave, as far as the payment tells: our supporter id (from our metadata), an email,
    or both. The id wins when the supporter is known; the email registers a new one."""

    email: str = ""
    name: str = ""
    address: PostalAddress = field(default_factory=PostalAddress)
    stripe_customer_id: str = ""
    consent_to_contact: bool = False
    supporter_id: UUID | None = None


@dataclass(frozen=True)
class RecordGift:
    """A one-time payment succeeded; reports of the same payment id are one gift."""

    payment_id: str
    supporter: SupporterDetails
    amount: Money
    received_at: datetime
    attribution: Attribution = field(default_factory=Attribution)
    benefit_value_minor: int = 0
    fee_covered_minor: int = 0
    tribute: Tribute | None = None
    review: str = ""  # why our checkout's card-testing guard held it (empty: not held)


@dataclass(frozen=True)
class ReportMembership:
    """What an event says about a subscription at `as_of`.

    `status` is None when the event says nothing about it (an invoice, a Checkout Session).
    `amount_is_current` is False when the amount is only good enough to start the membership
    (read off an invoice or a Checkout Session): the subscription's own reports override it.
    `started_at` is when the subscription started, when the event says; otherwise `as_of`
    counts as "started no later than".
    """

    subscription_id: str
    supporter: SupporterDetails
    monthly_amount: Money
    status: MembershipStatus | None
    as_of: datetime
    attribution: Attribution = field(default_factory=Attribution)
    started_at: datetime | None = None
    amount_is_current: bool = True
    # How often `monthly_amount` is charged (the name predates yearly and weekly plans).
    period: BillingPeriod = field(default_factory=BillingPeriod)
    # The subscription's own reports also tell when its period ends (its next payment, or
    # its end when a cancellation is scheduled) and when a pause ends.
    schedule_is_current: bool = False
    period_ends_at: datetime | None = None
    resumes_at: datetime | None = None


@dataclass(frozen=True)
class RecordMembershipPayment:
    """An invoice of a membership was paid: credited once per invoice, and booked as a
    monthly gift. It also reports the membership, which starts it if it is new."""

    membership: ReportMembership
    invoice_id: str
    payment_id: str  # the PaymentIntent id when known, else the invoice id
    amount: Money
    paid_at: datetime
    out_of_band: bool = False  # marked paid outside Stripe (cash, a cheque): not through Stripe
    review: str = ""  # the checkout's guard held the membership: its first gift waits for staff


@dataclass(frozen=True)
class RecordUnattributedPayment:
    """Money without our checkout's metadata: booked as a gift or listed for staff, as the
    `unattributed_payments` setting says. `no_invoice` is True when the payment is surely
    not an invoice's (a one-off invoice itself, or Stripe said so): an invoice's own
    PaymentIntent is booked from its invoice, never twice."""

    payment_id: str
    supporter: SupporterDetails
    amount: Money
    received_at: datetime
    source: str  # "payment_intent" or "invoice"
    no_invoice: bool = False


@dataclass(frozen=True)
class RecordMembershipFailure:
    """An invoice of a membership failed (or waits for the donor's authentication): no
    money, and the membership is incomplete or past due."""

    membership: ReportMembership
    invoice_id: str
    reason: str
    failed_at: datetime
    first_invoice: bool = False  # the subscription's first invoice: incomplete, not past due


@dataclass(frozen=True)
class RecordRefund:
    """A refund on a payment (a gift, or money still listed for staff). One that failed or
    was cancelled (`succeeded` False) is reversed: the gift keeps the money."""

    payment_id: str
    refund_id: str
    amount: Money
    refunded_at: datetime
    succeeded: bool = True


@dataclass(frozen=True)
class RecordDispute:
    """A dispute (chargeback) on a gift's payment, as it stands `at`: opened once on the
    gift, then moved to `status`."""

    payment_id: str
    dispute_id: str
    amount: Money
    status: DisputeStatus
    reason: str
    at: datetime


@dataclass(frozen=True)
class UpdateCustomer:
    """A Stripe customer's new name, email or address, for the supporter it belongs to.

    The supporter is found by our id in the customer's metadata, else by the email the
    customer had before the change, else by the current one.
    """

    details: SupporterDetails
    previous_email: str = ""
    as_of: datetime | None = None  # when Stripe made the change: an older one loses


@dataclass(frozen=True)
class LinkInvoicePayment:
    """The PaymentIntent `payment_id` paid the invoice `invoice_id`."""

    invoice_id: str
    payment_id: str


GivingCommand = (
    RecordGift
    | ReportMembership
    | RecordMembershipPayment
    | RecordMembershipFailure
    | RecordRefund
    | RecordDispute
    | UpdateCustomer
    | LinkInvoicePayment
    | RecordUnattributedPayment
)


def supporter_details_of(command: GivingCommand) -> SupporterDetails | None:
    """The person a command names, if it names one."""
    if isinstance(command, RecordGift | ReportMembership | RecordUnattributedPayment):
        return command.supporter
    if isinstance(command, RecordMembershipPayment | RecordMembershipFailure):
        return command.membership.supporter
    if isinstance(command, UpdateCustomer):
        return command.details
    return None


def with_supporter_details(
    command: GivingCommand, fill: Callable[[SupporterDetails], SupporterDetails]
) -> GivingCommand:
    """The command with the details of the person who paid passed through `fill`. A
    customer update's details are the change itself, so they are kept as they are."""
    if isinstance(command, RecordGift | ReportMembership | RecordUnattributedPayment):
        return replace(command, supporter=fill(command.supporter))
    if isinstance(command, RecordMembershipPayment | RecordMembershipFailure):
        membership = replace(command.membership, supporter=fill(command.membership.supporter))
        return replace(command, membership=membership)
    return command


def subscription_of(command: GivingCommand) -> str:
    """The Stripe subscription a command is about, or "" when it is about none."""
    if isinstance(command, ReportMembership):
        return command.subscription_id
    if isinstance(command, RecordMembershipPayment | RecordMembershipFailure):
        return command.membership.subscription_id
    return ""
