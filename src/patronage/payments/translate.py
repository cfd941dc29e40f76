"""Stripe events to ledger commands: pure functions of an event's parsed JSON.

Tolerant by construction: every field is read with a type check and a default, unknown
fields are never looked at, and both invoice shapes are understood (before Stripe's
2025-03-31 "basil" API change: `invoice.subscription`, `invoice.payment_intent`,
`lines.data[].metadata`; from basil on: `invoice.parent.subscription_details` and
`invoice.payments.data[].payment.payment_intent`).

Money is keyed by the payment's own id: a one-time gift by its PaymentIntent id (so Checkout
and `payment_intent.succeeded` make one gift), a membership payment by its invoice (so
`invoice.paid` and `invoice.payment_succeeded` make one payment). A PaymentIntent books a
gift only when our checkout marked it one-time: invoice PaymentIntents carry no such mark and
are booked from their invoice, so a renewal is never counted twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from patronage.domain import commands
from patronage.domain.gift import DisputeStatus
from patronage.domain.membership import ENDED, MembershipStatus
from patronage.domain.money import Money, MoneyError
from patronage.domain.text import has_control_characters
from patronage.domain.values import BillingPeriod, PostalAddress
from patronage.payments import metadata as meta
from patronage.payments.envelope import LATEST_TIMESTAMP

Json = Mapping[str, Any]


@dataclass(frozen=True)
class Ignore:
    """Nothing to book for this event, and why (for the staff view and the log)."""

    reason: str


Translation = list[commands.GivingCommand] | Ignore


class UntranslatableEventError(ValueError):
    """The event lacks something its type must carry (an id, an amount, a currency)."""


# Reading JSON defensively ----------------------------------------------------------------


def _dict(value: object) -> Json:
    return value if isinstance(value, Mapping) else {}


def _str(value: object) -> str:
    if not isinstance(value, str):
        return ""
    if has_control_characters(value):
        # No name, email, id or code holds one; PostgreSQL refuses NUL in any view.
        raise UntranslatableEventError("a text field holds control characters")
    return value


def _int(value: object) -> int | None:
    return value if type(value) is int else None


def _id(value: object) -> str:
    """An object's id, whether the field holds the id or the expanded object."""
    if isinstance(value, str):
        return _str(value)
    return _str(_dict(value).get("id"))


def _items(value: object) -> list[Json]:
    """The objects of a Stripe list (`{"data": [...]}`) or of a plain JSON array."""
    data = _dict(value).get("data") if isinstance(value, Mapping) else value
    return [item for item in data if isinstance(item, Mapping)] if isinstance(data, list) else []


def _time(value: object) -> datetime | None:
    seconds = _int(value)
    if seconds is None or not 0 < seconds <= LATEST_TIMESTAMP:
        return None
    return datetime.fromtimestamp(seconds, UTC)


def _required_id(obj: Json, what: str) -> str:
    value = _id(obj.get("id"))
    if not value:
        raise UntranslatableEventError(f"the {what} has no id")
    return value


def _money(amount: object, currency: object, what: str) -> Money:
    try:
        return Money.of(amount, _str(currency))
    except MoneyError as error:
        raise UntranslatableEventError(f"{what}: {error}") from None


def _first(*values: str) -> str:
    return next((v for v in values if v), "")


# Who and why ----------------------------------------------------------------------------


def _address(*candidates: object) -> PostalAddress:
    for candidate in candidates:
        data = _dict(candidate)
        address = PostalAddress(
            line1=_str(data.get("line1")),
            line2=_str(data.get("line2")),
            city=_str(data.get("city")),
            region=_str(data.get("state")),
            postal_code=_str(data.get("postal_code")),
            country=_str(data.get("country")),
        )
        if not address.is_empty():
            return address
    return PostalAddress()


def _email(value: object) -> str:
    text = _str(value).strip()
    return text if "@" in text else ""


def _supporter(obj: Json, metadata: Json) -> commands.SupporterDetails:
    """Our supporter id from the metadata, with the payer's email, name and address as
    the payload tells them (the email is the fallback key when the id is unknown). The name
    and email given to our checkout come with the metadata: this confirmed payment is when
    they take effect."""
    donor_email, donor_name = meta.read_donor(metadata)
    customer = _dict(obj.get("customer"))
    customer_details = _dict(obj.get("customer_details"))
    billing = _dict(obj.get("billing_details"))
    charges = _items(obj.get("charges"))
    charge_billing = _dict(
        _dict(obj.get("latest_charge")).get("billing_details")
        or (charges[0].get("billing_details") if charges else None)
    )
    return commands.SupporterDetails(
        email=_first(
            _email(obj.get("receipt_email")),
            _email(obj.get("customer_email")),
            _email(customer_details.get("email")),
            _email(billing.get("email")),
            _email(customer.get("email")),
            _email(charge_billing.get("email")),
            _email(donor_email),
        ),
        name=_first(
            donor_name,
            _str(customer_details.get("name")),
            _str(obj.get("customer_name")),
            _str(billing.get("name")),
            _str(customer.get("name")),
            _str(charge_billing.get("name")),
        ).strip(),
        address=_address(
            customer_details.get("address"),
            obj.get("customer_address"),
            billing.get("address"),
            customer.get("address"),
            charge_billing.get("address"),
        ),
        stripe_customer_id=_id(obj.get("customer")),
        supporter_id=meta.read_supporter_id(metadata),
    )


def _gift(
    payment_id: str, obj: Json, metadata: Json, amount: Money, at: datetime
) -> commands.RecordGift:
    return commands.RecordGift(
        payment_id=payment_id,
        supporter=_supporter(obj, metadata),
        amount=amount,
        received_at=at,
        attribution=meta.read_attribution(metadata),
        benefit_value_minor=min(meta.read_minor(metadata, meta.BENEFIT_VALUE_MINOR), amount.minor),
        fee_covered_minor=min(meta.read_minor(metadata, meta.FEE_COVERED_MINOR), amount.minor),
        tribute=meta.read_tribute(metadata),
        review=meta.read_review(metadata),
    )


# Checkout ------------------------------------------------------------------------------


def _checkout_completed(event: Json, session: Json, at: datetime) -> Translation:
    session_id = _required_id(session, "Checkout Session")
    mode = _str(session.get("mode"))
    metadata = _dict(session.get("metadata"))
    if mode == "payment":
        status = _str(session.get("payment_status"))
        if status != "paid":
            return Ignore(
                f"Checkout Session {session_id} is {status or 'not paid'}: its money is booked "
                "when the payment succeeds"
            )
        payment_id = _id(session.get("payment_intent"))
        if not payment_id:
            return Ignore(f"Checkout Session {session_id} has no PaymentIntent to book")
        amount = _money(session.get("amount_total"), session.get("currency"), "Checkout amount")
        if not amount.is_positive():
            return Ignore(f"Checkout Session {session_id} took no money")
        return [_gift(payment_id, session, metadata, amount, at)]
    if mode == "subscription":
        subscription_id = _id(session.get("subscription"))
        if not subscription_id:
            return Ignore(f"Checkout Session {session_id} names no subscription")
        amount = _money(session.get("amount_total"), session.get("currency"), "Checkout amount")
        if not amount.is_positive():
            return Ignore(
                f"Checkout Session {session_id} took no money; the subscription's own events "
                "start the membership"
            )
        # Links the supporter, the customer and the subscription; books no money (the
        # invoice does).
        return [_membership_report(subscription_id, session, metadata, amount, at)]
    return Ignore(f"Checkout Session {session_id} in {mode or 'unknown'} mode books nothing")


def _checkout_async_failed(event: Json, session: Json, at: datetime) -> Translation:
    return Ignore(
        f"the delayed payment of Checkout Session {_id(session.get('id'))} failed: "
        "nothing was received"
    )


# PaymentIntents ------------------------------------------------------------------------


def _payment_intent_succeeded(event: Json, intent: Json, at: datetime) -> Translation:
    payment_id = _required_id(intent, "PaymentIntent")
    metadata = _dict(intent.get("metadata"))
    received = _int(intent.get("amount_received"))
    amount = _money(
        received if received else intent.get("amount"), intent.get("currency"), "payment amount"
    )
    kind = metadata.get(meta.GIFT_KIND)
    if kind == "one_time":
        return [_gift(payment_id, intent, metadata, amount, at)]
    if kind or _id(intent.get("invoice")):
        return Ignore(
            f"PaymentIntent {payment_id} paid an invoice: booked from its invoice, not twice"
        )
    # Not made by our checkout (a Payment Link, the Dashboard, another form).
    return [
        commands.RecordUnattributedPayment(
            payment_id=payment_id,
            supporter=_supporter(intent, metadata),
            amount=amount,
            received_at=at,
            source="payment_intent",
        )
    ]


def _payment_intent_failed(event: Json, intent: Json, at: datetime) -> Translation:
    error = _str(_dict(intent.get("last_payment_error")).get("message"))
    return Ignore(
        f"PaymentIntent {_id(intent.get('id'))} failed{': ' + error if error else ''}; "
        "nothing was received"
    )


# Invoices ------------------------------------------------------------------------------


def _invoice_subscription(invoice: Json) -> str:
    parent = _dict(invoice.get("parent"))
    return _first(
        _id(invoice.get("subscription")),
        _id(_dict(parent.get("subscription_details")).get("subscription")),
        *(_id(line.get("subscription")) for line in _items(invoice.get("lines"))),
        *(
            _id(
                _dict(_dict(line.get("parent")).get("subscription_item_details")).get(
                    "subscription"
                )
            )
            for line in _items(invoice.get("lines"))
        ),
    )


def _invoice_metadata(invoice: Json) -> Json:
    """The subscription's metadata, wherever this invoice shape carries it."""
    candidates = [
        _dict(_dict(_dict(invoice.get("parent")).get("subscription_details")).get("metadata")),
        _dict(_dict(invoice.get("subscription_details")).get("metadata")),
        _dict(_dict(invoice.get("subscription")).get("metadata")),
        *(_dict(line.get("metadata")) for line in _items(invoice.get("lines"))),
        _dict(invoice.get("metadata")),
    ]
    return next((c for c in candidates if meta.SUPPORTER_ID in c), None) or next(
        (c for c in candidates if c), {}
    )


def _invoice_payment_intent(invoice: Json) -> str:
    payments = [
        _id(_dict(item.get("payment")).get("payment_intent"))
        for item in _items(invoice.get("payments"))
        if _str(item.get("status")) in ("", "paid")
    ]
    return _first(_id(invoice.get("payment_intent")), *payments)


def _invoice_report(invoice: Json, at: datetime) -> commands.ReportMembership | Ignore:
    invoice_id = _required_id(invoice, "invoice")
    subscription_id = _invoice_subscription(invoice)
    if not subscription_id:
        return Ignore(f"invoice {invoice_id} is not for a subscription")
    currency = invoice.get("currency")
    amount = next(
        (
            _money(value, currency, "invoice amount")
            for value in (
                invoice.get("amount_paid"),
                invoice.get("total"),
                invoice.get("amount_due"),
                invoice.get("subtotal"),
            )
            if _int(value)
        ),
        None,
    )
    if amount is None or not amount.is_positive():
        return Ignore(f"invoice {invoice_id} is for no money")
    return _membership_report(subscription_id, invoice, _invoice_metadata(invoice), amount, at)


def _membership_report(
    subscription_id: str, source: Json, metadata: Json, amount: Money, at: datetime
) -> commands.ReportMembership:
    """What every event about a membership tells: who pays and where their ask came from.
    A payment for it (an invoice, a Checkout Session) tells no more: nothing about the
    status, and an amount that only starts the membership. The subscription's own events
    add both, and its schedule (`_subscription_changed`)."""
    return commands.ReportMembership(
        subscription_id=subscription_id,
        supporter=_supporter(source, metadata),
        monthly_amount=amount,
        status=None,
        as_of=at,
        attribution=meta.read_attribution(metadata),
        amount_is_current=False,
    )


def _invoice_paid(event: Json, invoice: Json, at: datetime) -> Translation:
    paid_at = _time(_dict(invoice.get("status_transitions")).get("paid_at")) or at
    invoice_id = _required_id(invoice, "invoice")
    paid = _int(invoice.get("amount_paid"))
    report = _invoice_report(invoice, paid_at)
    if isinstance(report, Ignore):
        if _invoice_subscription(invoice) or paid is None or paid <= 0:
            return report
        # A one-off invoice (made in the Dashboard): money outside our checkout.
        return [
            commands.RecordUnattributedPayment(
                payment_id=_invoice_payment_intent(invoice) or invoice_id,
                supporter=_supporter(invoice, {}),
                amount=_money(paid, invoice.get("currency"), "invoice amount paid"),
                received_at=paid_at,
                source="invoice",
                no_invoice=True,
            )
        ]
    if paid is None or paid <= 0:
        return [report]
    return [
        commands.RecordMembershipPayment(
            membership=report,
            invoice_id=invoice_id,
            payment_id=_invoice_payment_intent(invoice) or invoice_id,
            amount=_money(paid, invoice.get("currency"), "invoice amount paid"),
            paid_at=paid_at,
            out_of_band=invoice.get("paid_out_of_band") is True,
            review=meta.read_review(_invoice_metadata(invoice)),
        )
    ]


def _invoice_failed(event: Json, invoice: Json, at: datetime) -> Translation:
    report = _invoice_report(invoice, at)
    if isinstance(report, Ignore):
        return report
    needs_action = _str(event.get("type")) == "invoice.payment_action_required"
    return [
        commands.RecordMembershipFailure(
            membership=report,
            invoice_id=_required_id(invoice, "invoice"),
            reason="the payment needs the donor's authentication"
            if needs_action
            else "the payment failed",
            failed_at=at,
            first_invoice=_str(invoice.get("billing_reason")) == "subscription_create",
        )
    ]


def _invoice_payment_paid(event: Json, invoice_payment: Json, at: datetime) -> Translation:
    """An invoice's payment (basil+): remembers which PaymentIntent paid which invoice, so a
    refund that names only the PaymentIntent finds a gift keyed by the invoice."""
    record_id = _required_id(invoice_payment, "invoice payment")
    invoice_id = _id(invoice_payment.get("invoice"))
    payment = _dict(invoice_payment.get("payment"))
    payment_id = _id(payment.get("payment_intent"))
    if not invoice_id or not payment_id:
        return Ignore(f"invoice payment {record_id} names no invoice or no PaymentIntent")
    return [commands.LinkInvoicePayment(invoice_id=invoice_id, payment_id=payment_id)]


# Subscriptions -------------------------------------------------------------------------


def membership_status(subscription: Json, deleted: bool = False) -> MembershipStatus:
    """Stripe's subscription status, cancellation schedule and pause, as a membership status."""
    status = _str(subscription.get("status"))
    if status == "incomplete_expired":
        return MembershipStatus.INCOMPLETE_EXPIRED
    if deleted or status == "canceled":
        return MembershipStatus.CANCELLED
    if status == "paused" or subscription.get("pause_collection"):
        return MembershipStatus.PAUSED
    if subscription.get("cancel_at_period_end") is True or _int(subscription.get("cancel_at")):
        return MembershipStatus.CANCELLATION_SCHEDULED
    if status in ("active", "trialing"):
        return MembershipStatus.ACTIVE
    if status in ("past_due", "unpaid"):
        return MembershipStatus.PAST_DUE
    return MembershipStatus.INCOMPLETE


def _period(price: Json) -> BillingPeriod | None:
    """A price's billing period (`recurring.interval`), or a legacy plan's (`interval`)."""
    recurring = _dict(price.get("recurring")) or price
    interval = _str(recurring.get("interval"))
    if not interval:
        return None
    try:
        return BillingPeriod(interval, _int(recurring.get("interval_count")) or 1)
    except ValueError as error:
        raise UntranslatableEventError(str(error)) from None


def _discounted(total: Money, subscription: Json) -> Money:
    """The amount after the subscription's discounts, when the payload carries them as
    objects (the legacy `discount`, or `discounts` expanded); discount ids alone say nothing."""
    coupons = [
        _dict(discount.get("coupon")) or _dict(_dict(discount.get("source")).get("coupon"))
        for discount in [
            *_items(subscription.get("discounts")),
            _dict(subscription.get("discount")),
        ]
    ]
    minor = Decimal(total.minor)
    for coupon in coupons:
        amount_off = _int(coupon.get("amount_off"))
        if amount_off and _str(coupon.get("currency")).upper() == total.currency:
            minor -= amount_off
        percent = coupon.get("percent_off")
        if isinstance(percent, int | float) and not isinstance(percent, bool):
            # Stripe sends percent_off as a JSON number: read it as its decimal text.
            minor = minor * (100 - Decimal(str(percent))) / 100
    rounded = int(minor.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return Money(max(rounded, 0), total.currency)


def _subscription_amount(subscription: Json) -> tuple[Money, BillingPeriod] | None:
    """What the subscription charges each period, after discounts, and the period."""
    total: Money | None = None
    period: BillingPeriod | None = None
    for item in _items(subscription.get("items")):
        price = _dict(item.get("price")) or _dict(item.get("plan"))
        unit = _int(price.get("unit_amount"))
        unit = unit if unit is not None else _int(price.get("amount"))
        quantity = _int(item.get("quantity"))
        currency = price.get("currency") or subscription.get("currency")
        if unit is None:
            continue
        line = _money(unit * (quantity if quantity is not None else 1), currency, "price")
        total = line if total is None else total + line
        period = period or _period(price)
    if total is None:
        plan = _dict(subscription.get("plan"))
        unit = _int(plan.get("amount"))
        if unit is not None:
            quantity = _int(subscription.get("quantity"))
            total = _money(unit * (quantity or 1), plan.get("currency"), "plan amount")
            period = _period(plan)
    if total is None:
        return None
    return _discounted(total, subscription), period or BillingPeriod()


def _period_ends_at(subscription: Json, status: MembershipStatus) -> datetime | None:
    """The end of the subscription's current period (on the subscription before basil, on
    each item since): its next payment, or its end when a cancellation is scheduled."""
    if status in ENDED:
        return None
    ends = [_time(subscription.get("current_period_end"))] + [
        _time(item.get("current_period_end")) for item in _items(subscription.get("items"))
    ]
    return min((end for end in ends if end is not None), default=None)


def _subscription_changed(event: Json, subscription: Json, at: datetime) -> Translation:
    subscription_id = _required_id(subscription, "subscription")
    priced = _subscription_amount(subscription)
    if priced is None or not priced[0].is_positive():
        return Ignore(f"subscription {subscription_id} has no price we can read, or is free")
    amount, period = priced
    metadata = _dict(subscription.get("metadata"))
    started_at = _time(subscription.get("start_date")) or _time(subscription.get("created"))
    deleted = _str(event.get("type")) == "customer.subscription.deleted"
    status = membership_status(subscription, deleted=deleted)
    return [
        replace(
            _membership_report(subscription_id, subscription, metadata, amount, at),
            status=status,
            started_at=started_at,
            period=period,
            period_ends_at=_period_ends_at(subscription, status),
            resumes_at=_time(_dict(subscription.get("pause_collection")).get("resumes_at")),
            # The subscription object states its price and schedule as they are now.
            amount_is_current=True, schedule_is_current=True,
        )
    ]  # fmt: skip


# Refunds and disputes ------------------------------------------------------------------

_REFUND_REVERSED = ("failed", "canceled")


def _refund(refund: Json, payment_id: str, at: datetime) -> commands.RecordRefund:
    return commands.RecordRefund(
        payment_id=payment_id,
        refund_id=_required_id(refund, "refund"),
        amount=_money(refund.get("amount"), refund.get("currency"), "refund amount"),
        refunded_at=_time(refund.get("created")) or at,
        succeeded=_str(refund.get("status")) not in _REFUND_REVERSED,
    )


def _charge_refunded(event: Json, charge: Json, at: datetime) -> Translation:
    charge_id = _required_id(charge, "charge")
    payment_id = _id(charge.get("payment_intent"))
    if not payment_id:
        return Ignore(f"charge {charge_id} has no PaymentIntent: not one of our gifts")
    refunds = _items(charge.get("refunds"))
    if not refunds:
        return Ignore(
            f"charge {charge_id} lists no refunds (newer API versions leave them out): "
            "booked from the refund.* events"
        )
    return [_refund(refund, payment_id, at) for refund in refunds]


def _refund_changed(event: Json, refund: Json, at: datetime) -> Translation:
    refund_id = _required_id(refund, "refund")
    payment_id = _id(refund.get("payment_intent"))
    if not payment_id:
        return Ignore(f"refund {refund_id} has no PaymentIntent: not one of our gifts")
    return [_refund(refund, payment_id, at)]


_DISPUTE_FUNDS_EVENTS = {
    "charge.dispute.funds_withdrawn": DisputeStatus.FUNDS_WITHDRAWN,
    "charge.dispute.funds_reinstated": DisputeStatus.FUNDS_REINSTATED,
}
# Stripe's dispute statuses (Dispute.status in the API) and what they mean for the gift.
_DISPUTE_STATUSES = {
    "warning_needs_response": DisputeStatus.OPEN,  # an inquiry: no money taken yet
    "warning_under_review": DisputeStatus.OPEN,
    "warning_closed": DisputeStatus.WON,  # the inquiry ended without a chargeback
    "needs_response": DisputeStatus.OPEN,
    "under_review": DisputeStatus.OPEN,
    "won": DisputeStatus.WON,
    "lost": DisputeStatus.LOST,
    "prevented": DisputeStatus.WON,  # stopped before it became a chargeback
    "appeal_needs_response": DisputeStatus.APPEALING,
    "appeal_under_review": DisputeStatus.APPEALING,
}


def dispute_status(event_type: str, stripe_status: str) -> DisputeStatus:
    """The dispute's state on the gift: Stripe's status, with the funds movements that the
    funds_withdrawn / funds_reinstated events report while it is still open."""
    status = _DISPUTE_STATUSES.get(stripe_status)
    if status is None:
        raise UntranslatableEventError(f"unknown dispute status {stripe_status!r}")
    if status == DisputeStatus.OPEN:
        return _DISPUTE_FUNDS_EVENTS.get(event_type, status)
    return status


def _dispute_changed(event: Json, dispute: Json, at: datetime) -> Translation:
    dispute_id = _required_id(dispute, "dispute")
    payment_id = _id(dispute.get("payment_intent"))
    if not payment_id:
        return Ignore(f"dispute {dispute_id} has no PaymentIntent: not one of our gifts")
    return [
        commands.RecordDispute(
            payment_id=payment_id,
            dispute_id=dispute_id,
            amount=_money(dispute.get("amount"), dispute.get("currency"), "dispute amount"),
            status=dispute_status(_str(event.get("type")), _str(dispute.get("status"))),
            reason=_str(dispute.get("reason")),
            at=at,
        )
    ]


# Customers -----------------------------------------------------------------------------


def customer_details(customer: Json) -> commands.SupporterDetails:
    """Who a Stripe Customer object is (from an event, or retrieved from Stripe)."""
    metadata = _dict(customer.get("metadata"))
    # A customer our checkout made carries the donor's details in its metadata too (a
    # Stripe server may keep only the email on the object itself).
    donor_email, donor_name = meta.read_donor(metadata)
    return commands.SupporterDetails(
        email=_first(_email(customer.get("email")), _email(donor_email)),
        name=_first(_str(customer.get("name")), donor_name).strip(),
        address=_address(customer.get("address")),
        stripe_customer_id=_required_id(customer, "customer"),
        supporter_id=meta.read_supporter_id(metadata),
    )


def _customer_updated(event: Json, customer: Json, at: datetime) -> Translation:
    previous = _dict(_dict(event.get("data")).get("previous_attributes"))
    return [
        commands.UpdateCustomer(
            details=customer_details(customer),
            previous_email=_email(previous.get("email")),
            as_of=at,
        )
    ]


# Dispatch --------------------------------------------------------------------------------

Translator = Callable[[Json, Json, datetime], Translation]

TRANSLATORS: dict[str, Translator] = {
    "checkout.session.completed": _checkout_completed,
    "checkout.session.async_payment_succeeded": _checkout_completed,
    "checkout.session.async_payment_failed": _checkout_async_failed,
    "payment_intent.succeeded": _payment_intent_succeeded,
    "payment_intent.payment_failed": _payment_intent_failed,
    "invoice.paid": _invoice_paid,
    "invoice.payment_succeeded": _invoice_paid,
    "invoice.payment_failed": _invoice_failed,
    "invoice.payment_action_required": _invoice_failed,
    "invoice_payment.paid": _invoice_payment_paid,
    "customer.subscription.created": _subscription_changed,
    "customer.subscription.updated": _subscription_changed,
    "customer.subscription.deleted": _subscription_changed,
    "customer.subscription.paused": _subscription_changed,
    "customer.subscription.resumed": _subscription_changed,
    "charge.refunded": _charge_refunded,
    "refund.created": _refund_changed,
    "refund.updated": _refund_changed,
    "refund.failed": _refund_changed,
    "charge.dispute.created": _dispute_changed,
    "charge.dispute.updated": _dispute_changed,
    "charge.dispute.funds_withdrawn": _dispute_changed,
    "charge.dispute.funds_reinstated": _dispute_changed,
    "charge.dispute.closed": _dispute_changed,
    "customer.updated": _customer_updated,
}

HANDLED_EVENT_TYPES = frozenset(TRANSLATORS)


def event_time(event: Json) -> datetime:
    created = _time(event.get("created"))
    if created is None:
        raise UntranslatableEventError("the event has no creation time")
    return created


def translate(event: Json) -> Translation:
    """The commands a Stripe event (parsed JSON) asks for, or why it books nothing."""
    event_type = _str(event.get("type"))
    translator = TRANSLATORS.get(event_type)
    if translator is None:
        return Ignore(f"{event_type or 'an event without a type'} is not one Patronage books")
    obj = _dict(_dict(event.get("data")).get("object"))
    if not obj:
        raise UntranslatableEventError(f"{event_type} carries no data.object")
    return translator(event, obj, event_time(event))
