"""The translation from Stripe events to commands: pure, tolerant, both invoice shapes."""

from __future__ import annotations

import typing
from datetime import UTC, datetime
from typing import Any

import pytest
import stripe

from patronage.domain.commands import (
    LinkInvoicePayment,
    RecordDispute,
    RecordGift,
    RecordMembershipFailure,
    RecordMembershipPayment,
    RecordRefund,
    RecordUnattributedPayment,
    ReportMembership,
    UpdateCustomer,
)
from patronage.domain.gift import DisputeStatus
from patronage.domain.membership import MembershipStatus
from patronage.domain.money import Money
from patronage.domain.values import BillingPeriod, Tribute
from patronage.payments.translate import (
    HANDLED_EVENT_TYPES,
    Ignore,
    UntranslatableEventError,
    customer_details,
    membership_status,
    translate,
)
from tests.support import stripe_events as se
from tests.support.stripe_events import supporter_id_for

ADA = "ada@example.org"
AT = datetime.fromtimestamp(se.T0, UTC)


def only(event: dict[str, Any]) -> Any:
    result = translate(event)
    assert isinstance(result, list), result
    (command,) = result
    return command


def test_every_event_type_the_issue_names_is_handled() -> None:
    named = {
        "checkout.session.completed", "checkout.session.async_payment_succeeded",
        "checkout.session.async_payment_failed", "payment_intent.succeeded",
        "payment_intent.payment_failed", "invoice.paid", "invoice.payment_succeeded",
        "invoice.payment_failed", "invoice.payment_action_required",
        "customer.subscription.created", "customer.subscription.updated",
        "customer.subscription.deleted", "customer.subscription.paused",
        "customer.subscription.resumed", "charge.refunded", "refund.created", "refund.updated",
        "charge.dispute.created", "charge.dispute.funds_withdrawn",
        "charge.dispute.funds_reinstated", "charge.dispute.closed", "customer.updated",
    }  # fmt: skip
    assert named <= HANDLED_EVENT_TYPES


def test_a_paid_checkout_session_is_a_gift_keyed_by_its_payment_intent() -> None:
    metadata = se.our_metadata(
        ADA, fee_covered_minor=80, tribute=Tribute(kind="memory", name="Alan")
    )
    session = se.checkout_session("cs_1", 2580, ADA, metadata, payment_intent="pi_1")
    gift = only(se.event("checkout.session.completed", session))
    assert isinstance(gift, RecordGift)
    assert (gift.payment_id, gift.amount, gift.received_at) == ("pi_1", Money(2580, "USD"), AT)
    assert gift.supporter.email == ADA
    assert gift.supporter.supporter_id == supporter_id_for(ADA)
    assert gift.supporter.name == "Ada Lovelace"
    assert (gift.attribution.article_id, gift.attribution.campaign) == ("article-7", "spring")
    assert gift.fee_covered_minor == 80
    assert gift.tribute == Tribute(kind="memory", name="Alan")


def test_an_unpaid_checkout_session_waits_for_its_async_payment() -> None:
    session = se.checkout_session("cs_1", 2500, ADA, {}, payment_intent="pi_1",
                                  payment_status="unpaid")  # fmt: skip
    result = translate(se.event("checkout.session.completed", session))
    assert isinstance(result, Ignore)
    assert "unpaid" in result.reason
    later = session | {"payment_status": "paid"}
    assert isinstance(only(se.event("checkout.session.async_payment_succeeded", later)), RecordGift)
    failed = translate(se.event("checkout.session.async_payment_failed", session))
    assert isinstance(failed, Ignore)


def test_a_subscription_checkout_links_and_books_no_money() -> None:
    metadata = se.our_metadata(ADA, kind="monthly")
    session = se.checkout_session(
        "cs_2", 1000, ADA, metadata, mode="subscription", subscription="sub_1", customer="cus_9"
    )
    report = only(se.event("checkout.session.completed", session))
    assert isinstance(report, ReportMembership)
    assert (report.subscription_id, report.status, report.amount_is_current) == (
        "sub_1",
        None,
        False,
    )
    assert report.supporter.stripe_customer_id == "cus_9"


def test_only_our_one_time_payment_intents_are_gifts() -> None:
    ours = se.payment_intent("pi_1", 700, se.our_metadata(ADA), ADA)
    assert isinstance(only(se.event("payment_intent.succeeded", ours)), RecordGift)
    legacy_invoice_payment = se.payment_intent("pi_2", 700, {}) | {"invoice": "in_2"}
    legacy = translate(se.event("payment_intent.succeeded", legacy_invoice_payment))
    assert isinstance(legacy, Ignore)
    foreign = only(se.event("payment_intent.succeeded", se.payment_intent("pi_4", 700, {}, ADA)))
    assert isinstance(foreign, RecordUnattributedPayment)
    assert (foreign.amount, foreign.supporter.email, foreign.no_invoice) == (
        Money(700, "USD"),
        ADA,
        False,
    )
    monthly = se.payment_intent("pi_3", 700, se.our_metadata(ADA, kind="monthly"))
    assert isinstance(translate(se.event("payment_intent.succeeded", monthly)), Ignore)
    failed = translate(se.event("payment_intent.payment_failed", ours))
    assert isinstance(failed, Ignore)


@pytest.mark.parametrize("shape", ["legacy", "basil"])
def test_both_invoice_shapes_give_the_same_payment(shape: str) -> None:
    metadata = se.our_metadata(ADA, kind="monthly", campaign="members")
    invoice = se.invoice("in_1", "sub_1", 1000, metadata, ADA, shape=shape, pi="pi_in_1",
                         paid_at=se.T0 - 5)  # fmt: skip
    payment = only(se.event("invoice.paid", invoice))
    assert isinstance(payment, RecordMembershipPayment)
    assert (payment.invoice_id, payment.payment_id, payment.amount) == (
        "in_1",
        "pi_in_1",
        Money(1000, "USD"),
    )
    assert payment.paid_at == datetime.fromtimestamp(se.T0 - 5, UTC), "Stripe's paid_at"
    report = payment.membership
    assert (report.subscription_id, report.status, report.amount_is_current) == (
        "sub_1",
        None,
        False,
    )
    assert report.attribution.campaign == "members"
    assert report.supporter.supporter_id == supporter_id_for(ADA)
    assert report.supporter.email == ADA


def test_a_one_off_invoice_is_money_outside_checkout_and_a_free_one_books_nothing() -> None:
    one_off = se.invoice("in_2", "sub_x", 1000, {}, ADA, shape="legacy", pi="pi_2")
    one_off["subscription"] = None
    one_off["lines"]["data"][0]["subscription"] = None
    foreign = only(se.event("invoice.paid", one_off))
    assert isinstance(foreign, RecordUnattributedPayment)
    assert (foreign.payment_id, foreign.source, foreign.no_invoice) == ("pi_2", "invoice", True)
    free = se.invoice("in_3", "sub_1", 0, {}, ADA)
    assert isinstance(translate(se.event("invoice.paid", free)), Ignore)


def test_failed_invoices_are_failures_of_the_membership() -> None:
    invoice = se.invoice("in_4", "sub_1", 1000, {}, ADA, status="open", paid_at=None)
    failure = only(se.event("invoice.payment_action_required", invoice))
    assert isinstance(failure, RecordMembershipFailure)
    assert "authentication" in failure.reason
    assert only(se.event("invoice.payment_failed", invoice)).reason == "the payment failed"


@pytest.mark.parametrize(
    ("fields", "deleted", "expected"),
    [
        ({"status": "active"}, False, MembershipStatus.ACTIVE),
        ({"status": "trialing"}, False, MembershipStatus.ACTIVE),
        ({"status": "incomplete"}, False, MembershipStatus.INCOMPLETE),
        ({"status": "past_due"}, False, MembershipStatus.PAST_DUE),
        ({"status": "unpaid"}, False, MembershipStatus.PAST_DUE),
        ({"status": "paused"}, False, MembershipStatus.PAUSED),
        ({"status": "active", "pause_collection": {"behavior": "void"}}, False,
         MembershipStatus.PAUSED),
        ({"status": "active", "cancel_at_period_end": True}, False,
         MembershipStatus.CANCELLATION_SCHEDULED),
        ({"status": "active", "cancel_at": se.T0 + 100}, False,
         MembershipStatus.CANCELLATION_SCHEDULED),
        ({"status": "canceled"}, False, MembershipStatus.CANCELLED),
        ({"status": "incomplete_expired"}, False, MembershipStatus.INCOMPLETE_EXPIRED),
        ({"status": "active"}, True, MembershipStatus.CANCELLED),
    ],
)  # fmt: skip
def test_subscription_status_mapping(
    fields: dict[str, Any], deleted: bool, expected: MembershipStatus
) -> None:
    assert membership_status(fields, deleted=deleted) == expected


def test_a_subscription_event_reports_status_amount_and_start() -> None:
    metadata = se.our_metadata(ADA, kind="monthly")
    sub = se.subscription("sub_1", 1500, metadata, start_date=se.T0 - 3600)
    sub["items"]["data"][0]["quantity"] = 2
    report = only(se.event("customer.subscription.updated", sub, created=se.T0))
    assert isinstance(report, ReportMembership)
    assert report.monthly_amount == Money(3000, "USD")
    assert (report.status, report.as_of) == (MembershipStatus.ACTIVE, AT)
    assert report.started_at == datetime.fromtimestamp(se.T0 - 3600, UTC)
    deleted = only(se.event("customer.subscription.deleted", sub))
    assert deleted.status == MembershipStatus.CANCELLED


def test_a_legacy_plan_subscription_is_read_from_its_plan() -> None:
    legacy = {"id": "sub_old", "object": "subscription", "status": "active", "quantity": 1,
              "plan": {"amount": 900, "currency": "eur"}, "items": {"data": [
                  {"plan": {"amount": 900, "currency": "eur"}, "quantity": 1}]},
              "metadata": {}, "start": se.T0}  # fmt: skip
    assert only(se.event("customer.subscription.created", legacy)).monthly_amount == Money(
        900, "EUR"
    )


def test_refunds_from_both_views_name_the_same_refund() -> None:
    refund = se.refund("re_1", "pi_1", 400, created=se.T0 - 10)
    from_charge = translate(se.event("charge.refunded", se.charge_refunded("pi_1", 1000, [refund])))
    from_refund = translate(se.event("refund.created", refund))
    assert from_charge == from_refund
    assert from_refund == [
        RecordRefund("pi_1", "re_1", Money(400, "USD"), datetime.fromtimestamp(se.T0 - 10, UTC))
    ]
    failed = only(se.event("refund.updated", refund | {"status": "failed"}))
    assert failed.succeeded is False
    without_list = se.charge_refunded("pi_1", 1000, [])
    assert isinstance(translate(se.event("charge.refunded", without_list)), Ignore)


@pytest.mark.parametrize(
    ("event_type", "status", "expected"),
    [
        ("charge.dispute.created", "needs_response", DisputeStatus.OPEN),
        ("charge.dispute.funds_withdrawn", "needs_response", DisputeStatus.FUNDS_WITHDRAWN),
        ("charge.dispute.funds_reinstated", "under_review", DisputeStatus.FUNDS_REINSTATED),
        ("charge.dispute.closed", "won", DisputeStatus.WON),
        ("charge.dispute.closed", "warning_closed", DisputeStatus.WON),
        ("charge.dispute.closed", "lost", DisputeStatus.LOST),
        ("charge.dispute.created", "warning_needs_response", DisputeStatus.OPEN),
        ("charge.dispute.updated", "warning_under_review", DisputeStatus.OPEN),
        ("charge.dispute.updated", "under_review", DisputeStatus.OPEN),
        ("charge.dispute.closed", "prevented", DisputeStatus.WON),
        ("charge.dispute.updated", "appeal_needs_response", DisputeStatus.APPEALING),
        ("charge.dispute.updated", "appeal_under_review", DisputeStatus.APPEALING),
        ("charge.dispute.closed", "won", DisputeStatus.WON),  # an appeal decided
        ("charge.dispute.funds_reinstated", "won", DisputeStatus.WON),
    ],
)
def test_disputes(event_type: str, status: str, expected: DisputeStatus) -> None:
    command = only(se.event(event_type, se.dispute("dp_1", "pi_1", 1000, status)))
    assert isinstance(command, RecordDispute)
    assert (command.payment_id, command.status, command.amount) == (
        "pi_1",
        expected,
        Money(1000, "USD"),
    )


def test_every_dispute_status_of_the_api_is_understood() -> None:
    """Stripe's Dispute.status values, as the pinned SDK declares them."""
    declared = set(typing.get_args(typing.get_args(stripe.Dispute.__annotations__["status"])[0]))
    assert len(declared) == 10
    for status in declared:
        for event_type in ("charge.dispute.created", "charge.dispute.closed"):
            command = only(se.event(event_type, se.dispute("dp_1", "pi_1", 1000, status)))
            assert isinstance(command, RecordDispute)


def test_customer_updates_carry_the_previous_email() -> None:
    customer = {"id": "cus_1", "email": "new@example.org", "name": " Ada K ", "metadata": {}}
    update = only(se.event("customer.updated", customer, previous={"email": ADA}))
    assert isinstance(update, UpdateCustomer)
    assert (update.previous_email, update.details.email, update.details.name) == (
        ADA,
        "new@example.org",
        "Ada K",
    )


def test_an_invoice_payment_links_a_payment_intent_to_its_invoice() -> None:
    record = {"id": "inpay_1", "invoice": "in_1", "payment": {"payment_intent": "pi_1"}}
    assert only(se.event("invoice_payment.paid", record)) == LinkInvoicePayment("in_1", "pi_1")


def test_unknown_fields_and_events_are_tolerated() -> None:
    session = se.checkout_session("cs_1", 2500, ADA, se.our_metadata(ADA), payment_intent="pi_1")
    session |= {"brand_new_field": {"a": [1, None]}, "customer_details": "not an object"}
    gift = only(se.event("checkout.session.completed", session) | {"context": "acct_1"})
    assert gift.supporter.email == ""
    assert isinstance(translate(se.event("radar.early_fraud_warning.created", {"id": "x"})), Ignore)


@pytest.mark.parametrize(
    "broken",
    [
        {"data": {}},
        {"data": {"object": {"id": "pi_1", "amount": 10, "currency": "usd",
                             "metadata": {"patronage_gift_kind": "one_time"}}}, "created": None},
        {"data": {"object": {"id": "pi_1", "amount": "10", "currency": "usd",
                             "metadata": {"patronage_gift_kind": "one_time"}}}},
        {"data": {"object": {"amount": 10, "currency": "usd",
                             "metadata": {"patronage_gift_kind": "one_time"}}}},
    ],
)  # fmt: skip
def test_missing_essentials_are_untranslatable(broken: dict[str, Any]) -> None:
    event = se.event("payment_intent.succeeded", {}) | broken
    with pytest.raises(UntranslatableEventError):
        translate(event)


@pytest.mark.parametrize(
    ("fields", "minor", "period"),
    [
        ({"interval": "year"}, 12000, BillingPeriod("year")),
        ({"interval": "week", "interval_count": 2}, 12000, BillingPeriod("week", 2)),
        ({"discount": se.discount("quarter_off", percent_off=25.0)}, 9000, BillingPeriod()),
        ({"discount": se.discount("ten_off", amount_off=1000)}, 11000, BillingPeriod()),
    ],
)
def test_a_subscription_reports_its_billing_period_and_discounted_amount(
    fields: dict[str, Any], minor: int, period: BillingPeriod
) -> None:
    sub = se.subscription("sub_1", 12000, {}, **fields)
    command = only(se.event("customer.subscription.updated", sub))
    assert isinstance(command, ReportMembership)
    assert (command.monthly_amount, command.period) == (Money(minor, "USD"), period)


def test_a_discount_named_only_by_id_is_not_guessed() -> None:
    sub = se.subscription("sub_1", 12000, {}) | {"discounts": ["di_unexpanded"]}
    command = only(se.event("customer.subscription.updated", sub))
    assert isinstance(command, ReportMembership)
    assert command.monthly_amount == Money(12000, "USD")


@pytest.mark.parametrize(
    ("period", "minor", "monthly"),
    [
        (BillingPeriod("month"), 1000, 1000),
        (BillingPeriod("year"), 12000, 1000),
        (BillingPeriod("month", 3), 3000, 1000),
        (BillingPeriod("week"), 1000, 4333),  # 1000 * 52 / 12 = 4333.33
        (BillingPeriod("day"), 100, 3042),  # 100 * 365 / 12 = 3041.67
    ],
)
def test_any_period_normalises_to_a_month(period: BillingPeriod, minor: int, monthly: int) -> None:
    assert period.monthly_minor(minor) == monthly


def test_a_customer_our_checkout_made_names_the_donor_from_its_metadata() -> None:
    """Checkout registers no one; the donor's typed name arrives with Stripe's objects. A
    Stripe server may keep only the email on the customer: its metadata still names them."""
    customer = {
        "id": "cus_1",
        "object": "customer",
        "email": "reader.one@example.org",
        "name": None,
        "metadata": {"patronage_donor_email": "reader.one@example.org",
                     "patronage_donor_name": "Reader One"},
    }  # fmt: skip
    details = customer_details(customer)
    assert (details.email, details.name) == ("reader.one@example.org", "Reader One")
    named = customer_details(customer | {"name": "R. One"})
    assert named.name == "R. One", "the name on Stripe's customer wins once it has one"


@pytest.mark.parametrize("shape", ["legacy", "basil"])
def test_the_guards_hold_travels_from_the_metadata_to_the_gift_commands(shape: str) -> None:
    held = se.our_metadata(ADA, review="2 declined payment(s) from this email recently")
    intent = se.payment_intent("pi_held", 700, held, ADA)
    assert only(se.event("payment_intent.succeeded", intent)).review == (
        "2 declined payment(s) from this email recently"
    )
    plain = se.payment_intent("pi_plain", 700, se.our_metadata(ADA), ADA)
    assert only(se.event("payment_intent.succeeded", plain)).review == ""
    monthly = se.our_metadata(ADA, kind="monthly", review="3 different cards from this reader")
    invoice = se.invoice("in_h", "sub_h", 1000, monthly, ADA, shape=shape, pi="pi_in_h")
    assert only(se.event("invoice.paid", invoice)).review == "3 different cards from this reader"


def test_a_subscription_reports_when_its_period_and_its_pause_end() -> None:
    metadata = se.our_metadata(ADA, kind="monthly")
    # Since basil each item carries its period; before, the subscription itself did.
    sub = se.subscription("sub_1", 1500, metadata)
    sub["items"]["data"][0]["current_period_end"] = se.T0 + 86400
    report = only(se.event("customer.subscription.updated", sub))
    assert isinstance(report, ReportMembership) and report.schedule_is_current
    assert (report.period_ends_at, report.resumes_at) == (
        datetime.fromtimestamp(se.T0 + 86400, UTC),
        None,
    )
    legacy = se.subscription(
        "sub_2", 1500, metadata, pause_collection={"behavior": "void", "resumes_at": se.T0 + 7200}
    )
    legacy["current_period_end"] = se.T0 + 3600
    paused = only(se.event("customer.subscription.updated", legacy))
    assert paused.status == MembershipStatus.PAUSED
    assert paused.period_ends_at == datetime.fromtimestamp(se.T0 + 3600, UTC)
    assert paused.resumes_at == datetime.fromtimestamp(se.T0 + 7200, UTC)
    ended = only(se.event("customer.subscription.deleted", legacy))
    assert ended.period_ends_at is None
    invoice = se.invoice("in_1", "sub_1", 1500, metadata, ADA)
    invoice_report = only(se.event("invoice.paid", invoice))
    assert not invoice_report.membership.schedule_is_current
