"""Commands that record money: supporters, one-time gifts, memberships, refunds, disputes.

Each command is idempotent on the provider's natural id (PaymentIntent, invoice, refund,
dispute): running it twice, or concurrently, records the effect once. Each handler works on
a unit of work, so the inbox can save a webhook's effect and its own mark in one
transaction; the public methods run one command in a transaction of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from functools import partial
from typing import TypeVar
from uuid import UUID

from patronage.application.identity import SupporterDirectory
from patronage.application.ledger import Ledger, UnitOfWork, in_one_transaction
from patronage.domain.commands import (
    GivingCommand,
    LinkInvoicePayment,
    RecordDispute,
    RecordGift,
    RecordMembershipFailure,
    RecordMembershipPayment,
    RecordRefund,
    RecordUnattributedPayment,
    ReportMembership,
    SupporterDetails,
    UpdateCustomer,
    subscription_of,
    supporter_details_of,
)
from patronage.domain.customer import StripeCustomer, stripe_customer_id_for
from patronage.domain.errors import DomainError
from patronage.domain.gift import (
    DisputeStatus,
    Gift,
    GiftKind,
    PaymentLink,
    gift_id_for,
    payment_link_id_for,
)
from patronage.domain.membership import Membership, membership_id_for
from patronage.domain.money import Money
from patronage.domain.supporter import Supporter, SupporterErasedError, is_email
from patronage.domain.unattributed import (
    ReviewStatus,
    UnattributedPayment,
    unattributed_payment_id_for,
)

__all__ = [
    "CounterpartMissingError",
    "Giving",
    "GivingCommand",
    "LinkInvoicePayment",
    "RecordDispute",
    "RecordGift",
    "RecordMembershipFailure",
    "RecordMembershipPayment",
    "RecordRefund",
    "ReportMembership",
    "SupporterDetails",
    "UpdateCustomer",
]

T = TypeVar("T")


class CounterpartMissingError(LookupError):
    """The thing a command changes is not in the ledger yet (it may arrive later)."""

    def __init__(self, key: str) -> None:
        super().__init__(f"waiting for {key}")
        self.key = key


def _supporter_key(details: SupporterDetails) -> str:
    """What a payment whose supporter is unknown waits for: its customer, else our id."""
    if details.stripe_customer_id:
        return f"customer:{details.stripe_customer_id}"
    if details.supporter_id is not None:
        return f"supporter:{details.supporter_id}"
    raise DomainError("the payment names no supporter: no email, customer or supporter id")


def as_gift(command: RecordUnattributedPayment) -> RecordGift:
    return RecordGift(
        payment_id=command.payment_id,
        supporter=command.supporter,
        amount=command.amount,
        received_at=command.received_at,
    )


def _link_customer(unit: UnitOfWork, supporter: Supporter, customer_id: str) -> None:
    """Remember that the Stripe customer is this supporter. A customer is one person at
    Stripe, so it is linked to one supporter: the first (or, after a merge, its survivor).
    Another supporter named with it is not given it too, or two records would share it."""
    if not customer_id:
        return
    linked = unit.get_or_none(stripe_customer_id_for(customer_id), StripeCustomer)
    if linked is None:
        unit.add(StripeCustomer(customer_id=customer_id, supporter_id=supporter.id))
    elif linked.supporter_id != supporter.id:
        owner = unit.get_or_none(linked.supporter_id, Supporter)
        if owner is not None and SupporterDirectory.survivor(unit, owner).id != supporter.id:
            return
    supporter.link_stripe_customer(customer_id)


class UnattributedPolicy(StrEnum):
    """What to do with money that did not come through our checkout."""

    REVIEW = "review"  # list it for staff, who book it as a gift or dismiss it
    BOOK = "book"  # the account takes only donations: book it as a gift


class Giving:
    """The command handlers for money coming in and going back out."""

    def __init__(
        self, ledger: Ledger, unattributed: UnattributedPolicy = UnattributedPolicy.REVIEW
    ) -> None:
        self.ledger = ledger
        self.unattributed = unattributed
        self.directory = SupporterDirectory(ledger)

    def _run(self, handler: Callable[[UnitOfWork], T]) -> T:
        return in_one_transaction(self.ledger, handler)

    def apply(self, unit: UnitOfWork, command: GivingCommand) -> str:
        """Apply any giving command within `unit`; returns what it did, for people to read."""
        if isinstance(command, RecordGift):
            return self._record_gift(unit, command)[1]
        if isinstance(command, ReportMembership):
            return self._report_membership(unit, command)[1]
        if isinstance(command, RecordMembershipPayment):
            return self._record_membership_payment(unit, command)[1]
        if isinstance(command, RecordMembershipFailure):
            return self._record_membership_failure(unit, command)
        if isinstance(command, RecordRefund):
            return self._record_refund(unit, command)
        if isinstance(command, RecordDispute):
            return self._record_dispute(unit, command)
        if isinstance(command, LinkInvoicePayment):
            return self._link_invoice_payment(unit, command)
        if isinstance(command, RecordUnattributedPayment):
            return self._record_unattributed(unit, command)
        return self._update_customer(unit, command)

    def ids_to_read(self, command: GivingCommand) -> list[UUID]:
        """The aggregates `apply` will most likely read for this command, for one query
        before it runs (UnitOfWork.prefetch): only a hint, a miss costs a read of its own."""
        ids: list[UUID] = []
        details = supporter_details_of(command)
        if details is not None:
            if details.supporter_id is not None:
                ids.append(details.supporter_id)
            if is_email(details.email):
                ids.append(self.directory.claim_id_for(details.email))
            if details.stripe_customer_id:
                ids.append(stripe_customer_id_for(details.stripe_customer_id))
        if isinstance(command, RecordGift | RecordMembershipPayment):
            ids.append(gift_id_for(command.payment_id))
        if subscription := subscription_of(command):
            ids.append(membership_id_for(subscription))
        return ids

    # Supporters ----------------------------------------------------------------------------

    def _supporter(
        self, unit: UnitOfWork, details: SupporterDetails, missing: str = ""
    ) -> Supporter:
        """The supporter for these details, registered if new and updated with what is new.

        Found by our supporter id, else the email's claim, else the Stripe customer (the
        survivor, if that one was merged); when none is known and there is no email to
        register one by, the command waits for `missing` (or for the customer, or the
        supporter id, whichever the details name). A known supporter's email changes only
        by a customer update or a staff edit."""
        customer_id = details.stripe_customer_id
        supporter = self.directory.find(unit, details.supporter_id, details.email)
        if supporter is None:
            supporter = self._by_customer(unit, customer_id)
        if supporter is None:
            if not is_email(details.email):
                # Nothing to register a supporter by: wait for what will name them.
                raise CounterpartMissingError(missing or _supporter_key(details))
            supporter = self.directory.register(
                unit,
                details.supporter_id,
                details.email,
                details.name,
                details.consent_to_contact,
            )
        else:
            supporter.rename(details.name)
            if details.consent_to_contact:
                supporter.set_consent(True)
            if supporter.is_active:
                self.directory.claim(unit, supporter, details.email)
        supporter.move(details.address)
        _link_customer(unit, supporter, customer_id)
        return supporter

    def _by_customer(self, unit: UnitOfWork, customer_id: str) -> Supporter | None:
        customer = (
            unit.get_or_none(stripe_customer_id_for(customer_id), StripeCustomer)
            if customer_id
            else None
        )
        return None if customer is None else self.directory.find(unit, customer.supporter_id, "")

    def supporter_in(self, unit: UnitOfWork, details: SupporterDetails) -> Supporter:
        """The supporter for `details` within another command's unit of work (a checkout
        registers its donor in the same transaction as its attempt)."""
        return self._supporter(unit, details)

    def register_supporter(self, details: SupporterDetails) -> UUID:
        return self._run(lambda unit: self._supporter(unit, details).id)

    def update_supporter(self, supporter_id: UUID, details: SupporterDetails) -> None:
        """Apply a new name, email or address to a known supporter (a staff edit: newest)."""

        def handler(unit: UnitOfWork) -> None:
            supporter = self.directory.find(unit, supporter_id, "")
            if supporter is None:
                raise LookupError(f"no supporter {supporter_id}")
            if supporter.erased:
                raise SupporterErasedError(f"supporter {supporter.id} was erased")
            self._update(unit, supporter, details, None)

        self._run(handler)

    def _update(
        self,
        unit: UnitOfWork,
        supporter: Supporter,
        details: SupporterDetails,
        as_of: datetime | None,
    ) -> None:
        supporter.rename(details.name)
        if is_email(details.email):
            self.directory.change_email(unit, supporter, details.email, as_of)
        supporter.move(details.address)
        _link_customer(unit, supporter, details.stripe_customer_id)

    def _update_customer(self, unit: UnitOfWork, command: UpdateCustomer) -> str:
        details = command.details
        supporter = self.directory.find(unit, details.supporter_id, command.previous_email)
        if supporter is None:
            supporter = self.directory.find(unit, None, details.email)
        if supporter is None:
            supporter = self._by_customer(unit, details.stripe_customer_id)
        if supporter is None:
            if details.supporter_id is not None:
                # Our checkout made this customer: its supporter is on the way.
                raise CounterpartMissingError(f"supporter:{details.supporter_id}")
            customer = details.stripe_customer_id
            return f"customer {customer} is not a known supporter: nothing to update"
        self._update(unit, supporter, details, command.as_of)
        return f"supporter {supporter.id} updated from customer {details.stripe_customer_id}"

    # One-time gifts ------------------------------------------------------------------------

    def record_gift(self, command: RecordGift) -> UUID:
        """Book a one-time gift once per payment id; returns the gift id."""
        return self._run(lambda unit: self._record_gift(unit, command)[0])

    def _record_gift(self, unit: UnitOfWork, command: RecordGift) -> tuple[UUID, str]:
        gift_id = gift_id_for(command.payment_id)
        existing = unit.get_or_none(gift_id, Gift)
        if existing is not None:
            existing.note_received_at(command.received_at)
            return gift_id, f"gift for {command.payment_id} was already recorded"
        supporter = self._supporter(unit, command.supporter)
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
        if command.review:
            gift.hold_for_review(command.review)
        unit.add(gift)
        return gift_id, f"one-time gift of {command.amount} recorded for {command.payment_id}"

    # Money outside our checkout ------------------------------------------------------------

    def _record_unattributed(self, unit: UnitOfWork, command: RecordUnattributedPayment) -> str:
        payment_id = command.payment_id
        if unit.get_or_none(gift_id_for(payment_id), Gift) is not None:
            return f"{payment_id} is booked already"
        if unit.get_or_none(payment_link_id_for(payment_id), PaymentLink) is not None:
            return f"{payment_id} paid an invoice: booked from its invoice, not twice"
        # Booking needs Stripe's word that no invoice owns the payment (basil PaymentIntents
        # name no invoice); without it the payment waits for staff.
        if self.unattributed == UnattributedPolicy.BOOK and command.no_invoice:
            return self._record_gift(unit, as_gift(command))[1]
        noted_id = unattributed_payment_id_for(payment_id)
        if unit.get_or_none(noted_id, UnattributedPayment) is None:
            details = command.supporter
            unit.add(
                UnattributedPayment(
                    payment_id=payment_id, amount=command.amount, source=command.source,
                    received_at=command.received_at,
                    # Who paid, as far as Stripe knew: staff decide who it was.
                    email=details.email, name=details.name,
                    stripe_customer_id=details.stripe_customer_id,
                )
            )  # fmt: skip
        return f"{command.amount} without our metadata ({payment_id}) is listed for staff review"

    def book_unattributed(self, payment_id: str, by: str) -> UUID:
        """Staff book a listed payment as a one-time gift; returns the gift id."""

        def handler(unit: UnitOfWork) -> UUID:
            noted = unit.get_or_none(unattributed_payment_id_for(payment_id), UnattributedPayment)
            if noted is None:
                raise LookupError(f"no payment {payment_id} waits for review")
            noted.book(by)
            details = SupporterDetails(
                email=noted.email, name=noted.name, stripe_customer_id=noted.stripe_customer_id
            )
            command = RecordGift(
                payment_id=payment_id,
                supporter=details,
                amount=noted.amount,
                received_at=noted.received_at,
            )
            gift_id = self._record_gift(unit, command)[0]
            gift = unit.get_typed(gift_id, Gift)
            for refund_id, (amount, at) in noted.refunds.items():
                gift.refund(refund_id, amount, at)
            for refund_id in noted.reversed_refunds:
                gift.reverse_refund(refund_id, "refund failed or was cancelled")
            return gift_id

        return self._run(handler)

    def dismiss_unattributed(self, payment_id: str, by: str, reason: str) -> None:
        def handler(unit: UnitOfWork) -> None:
            noted = unit.get_or_none(unattributed_payment_id_for(payment_id), UnattributedPayment)
            if noted is None:
                raise LookupError(f"no payment {payment_id} waits for review")
            noted.dismiss(by, reason)

        self._run(handler)

    # Memberships ---------------------------------------------------------------------------

    def _membership(self, unit: UnitOfWork, report: ReportMembership) -> Membership:
        """The membership of a report, started (with its supporter) if this is the first news,
        with what the report knows applied to it."""
        started_at = report.started_at or report.as_of
        membership = unit.get_or_none(membership_id_for(report.subscription_id), Membership)
        if membership is None:
            # A subscription made outside our checkout names only its customer: it waits
            # for the subscription's first event that names the supporter.
            missing = f"subscription:{report.subscription_id}"
            supporter = self._supporter(unit, report.supporter, missing)
            membership = Membership(
                subscription_id=report.subscription_id,
                supporter_id=supporter.id,
                monthly_amount=report.monthly_amount,
                attribution=report.attribution,
                started_at=started_at,
                amount_as_of=report.as_of if report.amount_is_current else None,
                period=report.period,
            )
            unit.add(membership)
        else:
            membership.note_start(started_at)
            if membership.learn_attribution(report.attribution):
                # An invoice started the membership before the subscription's own report:
                # its gifts were booked without the ask that won them.
                for gift_id in membership.payment_gifts.values():
                    gift = unit.get_or_none(gift_id, Gift)
                    if gift is not None:
                        gift.learn_attribution(membership.attribution)
            member = self.directory.find(unit, membership.supporter_id, "")
            if member is not None:
                if report.supporter.stripe_customer_id:
                    _link_customer(unit, member, report.supporter.stripe_customer_id)
                if not member.name:
                    # The report that started it may have named no one (an invoice without
                    # the donor's name): a later one (the subscription's) fills it in.
                    member.rename(report.supporter.name)
        if report.amount_is_current:
            membership.change_amount(report.monthly_amount, report.as_of, report.period)
        if report.status is not None:
            membership.report_status(report.status, report.as_of)
        if report.schedule_is_current:
            membership.report_schedule(report.period_ends_at, report.resumes_at, report.as_of)
        return membership

    def report_membership(self, report: ReportMembership) -> UUID:
        return self._run(lambda unit: self._report_membership(unit, report)[0])

    def _report_membership(self, unit: UnitOfWork, report: ReportMembership) -> tuple[UUID, str]:
        membership = self._membership(unit, report)
        return membership.id, (
            f"membership {report.subscription_id} is {membership.status} "
            f"at {membership.monthly_amount} every {membership.period}"
        )

    def record_membership_payment(self, command: RecordMembershipPayment) -> UUID:
        """Credit one invoice once, as a payment on the membership and a monthly gift."""
        return self._run(lambda unit: self._record_membership_payment(unit, command)[0])

    def _record_membership_payment(
        self, unit: UnitOfWork, command: RecordMembershipPayment
    ) -> tuple[UUID, str]:
        membership = self._membership(unit, command.membership)
        gift_id = gift_id_for(command.payment_id)
        if not membership.receive_payment(
            command.invoice_id, command.amount, gift_id, command.paid_at
        ):
            gift = unit.get_or_none(gift_id, Gift)
            if gift is not None:
                gift.note_received_at(command.paid_at)
            return gift_id, f"invoice {command.invoice_id} was already credited"
        if unit.get_or_none(gift_id, Gift) is not None:
            # The same money was booked as a gift before (it should not be): never twice.
            return gift_id, f"invoice {command.invoice_id} credited; its payment was a gift already"
        member = self.directory.find(unit, membership.supporter_id, "")
        gift = Gift(
            payment_id=command.payment_id,
            # A membership keeps the id it started with; a merge since moves its gifts on.
            supporter_id=membership.supporter_id if member is None else member.id,
            amount=command.amount,
            received_at=command.paid_at,
            kind=GiftKind.MONTHLY,
            attribution=membership.attribution,
            benefit_value=Money.zero(command.amount.currency),
            fee_covered=Money.zero(command.amount.currency),
            membership_id=membership.id,
            invoice_id=command.invoice_id,
            through_stripe=not command.out_of_band,
        )
        if command.review and len(membership.payments) == 1:  # the checkout's own payment
            gift.hold_for_review(command.review)
        unit.add(gift)
        return gift_id, (
            f"membership payment of {command.amount} recorded for invoice {command.invoice_id}"
        )

    def record_membership_failure(self, command: RecordMembershipFailure) -> None:
        self._run(partial(self._record_membership_failure, command=command))

    def _record_membership_failure(self, unit: UnitOfWork, command: RecordMembershipFailure) -> str:
        membership = self._membership(unit, command.membership)
        membership.fail_payment(
            command.invoice_id, command.reason, command.failed_at, first=command.first_invoice
        )
        return (
            f"invoice {command.invoice_id} failed ({command.reason}): "
            f"membership is {membership.status}"
        )

    # Refunds and disputes ------------------------------------------------------------------

    def _gift_for_payment(self, unit: UnitOfWork, payment_id: str) -> Gift:
        """The gift of a PaymentIntent: keyed by it, or by the invoice it is linked to."""
        gift = unit.get_or_none(gift_id_for(payment_id), Gift)
        if gift is not None:
            return gift
        link = unit.get_or_none(payment_link_id_for(payment_id), PaymentLink)
        if link is None:
            raise CounterpartMissingError(f"payment:{payment_id}")
        gift = unit.get_or_none(gift_id_for(link.invoice_id), Gift)
        if gift is None:
            raise CounterpartMissingError(f"payment:{link.invoice_id}")
        return gift

    def _link_invoice_payment(self, unit: UnitOfWork, command: LinkInvoicePayment) -> str:
        if unit.get_or_none(payment_link_id_for(command.payment_id), PaymentLink) is None:
            unit.add(PaymentLink(payment_id=command.payment_id, invoice_id=command.invoice_id))
        return f"{command.payment_id} paid invoice {command.invoice_id}"

    def record_refund(self, command: RecordRefund) -> None:
        """Book a refund against its gift; a failed or cancelled refund is reversed."""
        self._run(partial(self._record_refund, command=command))

    def _record_refund(self, unit: UnitOfWork, command: RecordRefund) -> str:
        noted = unit.get_or_none(
            unattributed_payment_id_for(command.payment_id), UnattributedPayment
        )
        if noted is not None and noted.status != ReviewStatus.BOOKED:
            # Money staff have not booked (or dismissed): the refund goes with it.
            noted.note_refund(
                command.refund_id, command.amount, command.refunded_at, command.succeeded
            )
            return f"refund {command.refund_id} noted on {command.payment_id}, not booked"
        gift = self._gift_for_payment(unit, command.payment_id)
        if command.succeeded:
            gift.refund(command.refund_id, command.amount, command.refunded_at)
            return f"refund {command.refund_id} of {command.amount} on {command.payment_id}"
        gift.reverse_refund(command.refund_id, "refund failed or was cancelled")
        return f"refund {command.refund_id} on {command.payment_id} failed: money kept"

    def record_dispute(self, command: RecordDispute) -> None:
        self._run(partial(self._record_dispute, command=command))

    def _record_dispute(self, unit: UnitOfWork, command: RecordDispute) -> str:
        gift = self._gift_for_payment(unit, command.payment_id)
        gift.open_dispute(command.dispute_id, command.amount, command.reason, command.at)
        if command.status != DisputeStatus.OPEN:
            gift.update_dispute(command.dispute_id, command.status, command.at)
        status = gift.disputes[command.dispute_id]
        return f"dispute {command.dispute_id} on {command.payment_id} is {status}"
