"""Commands that record money: supporters, one-time gifts, memberships, refunds, disputes.

Each command is idempotent on the provider's natural id (PaymentIntent, invoice, refund,
dispute): running it twice, or concurrently, records the effect once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from patronage.application.ledger import Ledger, retrying
from patronage.domain.gift import DisputeStatus, Gift, GiftKind, gift_id_for
from patronage.domain.membership import Membership, MembershipStatus, membership_id_for
from patronage.domain.money import Money
from patronage.domain.supporter import Supporter, supporter_id_for
from patronage.domain.values import Attribution, PostalAddress, Tribute


class CounterpartMissingError(LookupError):
    """The thing a command changes is not in the ledger yet (it may arrive later)."""

    def __init__(self, key: str) -> None:
        super().__init__(f"waiting for {key}")
        self.key = key


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
    payment_id: str
    supporter: SupporterDetails
    amount: Money
    received_at: datetime
    attribution: Attribution = field(default_factory=Attribution)
    benefit_value_minor: int = 0
    fee_covered_minor: int = 0
    tribute: Tribute | None = None


@dataclass(frozen=True)
class ReportMembership:
    """What a subscription event says about a membership at `as_of`."""

    subscription_id: str
    supporter: SupporterDetails
    monthly_amount: Money
    status: MembershipStatus
    as_of: datetime
    attribution: Attribution = field(default_factory=Attribution)


@dataclass(frozen=True)
class RecordMembershipPayment:
    membership: ReportMembership
    invoice_id: str
    payment_id: str  # the PaymentIntent id when known, else the invoice id
    amount: Money
    paid_at: datetime


@dataclass(frozen=True)
class RecordMembershipFailure:
    membership: ReportMembership
    invoice_id: str
    reason: str
    failed_at: datetime


@dataclass(frozen=True)
class RecordRefund:
    payment_id: str
    refund_id: str
    amount: Money
    refunded_at: datetime
    succeeded: bool = True


@dataclass(frozen=True)
class RecordDispute:
    payment_id: str
    dispute_id: str
    amount: Money
    status: DisputeStatus
    reason: str
    at: datetime


class Giving:
    """The command handlers for money coming in and going back out."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    # Supporters ----------------------------------------------------------------------------

    def _supporter(self, details: SupporterDetails) -> Supporter:
        """The supporter for these details, registered if new and updated with what is new."""
        supporter = None
        if details.supporter_id is not None:
            supporter = self.ledger.get_or_none(details.supporter_id, Supporter)
        if supporter is None and details.email:
            supporter = self.ledger.get_or_none(supporter_id_for(details.email), Supporter)
        if supporter is None:
            if not details.email:
                # Nothing to register a supporter by: wait for an event that names them.
                raise CounterpartMissingError(f"supporter:{details.supporter_id}")
            supporter = Supporter(
                email=details.email,
                name=details.name,
                consent_to_contact=details.consent_to_contact,
            )
        else:
            supporter.rename(details.name)
            if details.consent_to_contact:
                supporter.set_consent(True)
        supporter.move(details.address)
        supporter.link_stripe_customer(details.stripe_customer_id)
        return supporter

    def register_supporter(self, details: SupporterDetails) -> UUID:
        def command() -> UUID:
            supporter = self._supporter(details)
            self.ledger.save(supporter)
            return supporter.id

        return retrying(command)

    def update_supporter(self, supporter_id: UUID, details: SupporterDetails) -> None:
        """Apply a customer's new name, email or address to a known supporter."""

        def command() -> None:
            supporter = self.ledger.get_typed(supporter_id, Supporter)
            supporter.rename(details.name)
            supporter.change_email(details.email)
            supporter.move(details.address)
            supporter.link_stripe_customer(details.stripe_customer_id)
            self.ledger.save(supporter)

        retrying(command)

    # One-time gifts ------------------------------------------------------------------------

    def record_gift(self, command: RecordGift) -> UUID:
        """Book a one-time gift once per payment id; returns the gift id."""

        def run() -> UUID:
            gift_id = gift_id_for(command.payment_id)
            if self.ledger.get_or_none(gift_id, Gift) is not None:
                return gift_id
            supporter = self._supporter(command.supporter)
            currency = command.amount.currency
            gift = Gift(
                payment_id=command.payment_id,
                supporter_id=supporter.id,
                amount=command.amount,
                received_at=command.received_at,
                kind=GiftKind.ONE_TIME,
                attribution=command.attribution,
                benefit_value=Money(command.benefit_value_minor, currency),
                fee_covered=Money(command.fee_covered_minor, currency),
                tribute=command.tribute,
            )
            self.ledger.save(supporter, gift)
            return gift.id

        return retrying(run)

    # Memberships ---------------------------------------------------------------------------

    def _membership(self, report: ReportMembership) -> tuple[Supporter | None, Membership]:
        """The membership of a report, started (with its supporter) if this is the first news."""
        membership = self.ledger.get_or_none(membership_id_for(report.subscription_id), Membership)
        if membership is not None:
            return None, membership
        supporter = self._supporter(report.supporter)
        membership = Membership(
            subscription_id=report.subscription_id,
            supporter_id=supporter.id,
            monthly_amount=report.monthly_amount,
            attribution=report.attribution,
            started_at=report.as_of,
        )
        return supporter, membership

    def report_membership(self, report: ReportMembership) -> UUID:
        def run() -> UUID:
            supporter, membership = self._membership(report)
            membership.change_amount(report.monthly_amount, report.as_of)
            membership.report_status(report.status, report.as_of)
            self.ledger.save(*[a for a in (supporter, membership) if a is not None])
            return membership.id

        return retrying(run)

    def record_membership_payment(self, command: RecordMembershipPayment) -> UUID:
        """Credit one invoice once, as a payment on the membership and a monthly gift."""

        def run() -> UUID:
            supporter, membership = self._membership(command.membership)
            gift_id = gift_id_for(command.payment_id)
            if not membership.receive_payment(
                command.invoice_id, command.amount, gift_id, command.paid_at
            ):
                return gift_id
            gift = Gift(
                payment_id=command.payment_id,
                supporter_id=membership.supporter_id,
                amount=command.amount,
                received_at=command.paid_at,
                kind=GiftKind.MONTHLY,
                attribution=membership.attribution,
                benefit_value=Money.zero(command.amount.currency),
                fee_covered=Money.zero(command.amount.currency),
                membership_id=membership.id,
                invoice_id=command.invoice_id,
            )
            self.ledger.save(*[a for a in (supporter, membership, gift) if a is not None])
            return gift_id

        return retrying(run)

    def record_membership_failure(self, command: RecordMembershipFailure) -> None:
        def run() -> None:
            supporter, membership = self._membership(command.membership)
            membership.fail_payment(command.invoice_id, command.reason, command.failed_at)
            self.ledger.save(*[a for a in (supporter, membership) if a is not None])

        retrying(run)

    # Refunds and disputes ------------------------------------------------------------------

    def _gift_for_payment(self, payment_id: str) -> Gift:
        gift = self.ledger.get_or_none(gift_id_for(payment_id), Gift)
        if gift is None:
            raise CounterpartMissingError(f"payment:{payment_id}")
        return gift

    def record_refund(self, command: RecordRefund) -> None:
        """Book a refund against its gift; a failed or cancelled refund is reversed."""

        def run() -> None:
            gift = self._gift_for_payment(command.payment_id)
            if command.succeeded:
                gift.refund(command.refund_id, command.amount, command.refunded_at)
            else:
                gift.reverse_refund(command.refund_id, "refund failed or was cancelled")
            self.ledger.save(gift)

        retrying(run)

    def record_dispute(self, command: RecordDispute) -> None:
        def run() -> None:
            gift = self._gift_for_payment(command.payment_id)
            gift.open_dispute(command.dispute_id, command.amount, command.reason, command.at)
            if command.status != DisputeStatus.OPEN:
                gift.update_dispute(command.dispute_id, command.status, command.at)
            self.ledger.save(gift)

        retrying(run)
