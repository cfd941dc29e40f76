"""The giving commands: idempotent on natural ids, one supporter per email.

(Concurrent recording, which is the stores' business, is in tests/integration.)"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from patronage.application.giving import (
    CounterpartMissingError,
    RecordGift,
    RecordMembershipPayment,
    RecordRefund,
    ReportMembership,
    SupporterDetails,
)
from patronage.domain.errors import RefundExceedsPaymentError
from patronage.domain.gift import Gift, GiftKind, ReviewState, gift_id_for
from patronage.domain.membership import Membership, MembershipStatus
from patronage.domain.money import Money
from patronage.domain.supporter import Supporter
from patronage.domain.values import Attribution
from tests.support.memory import Services

WHEN = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def a_gift(
    payment_id: str = "pi_1", email: str = "Ada@Example.org", minor: int = 2500
) -> RecordGift:
    return RecordGift(
        payment_id=payment_id,
        supporter=SupporterDetails(email=email, name="Ada Lovelace"),
        amount=Money(minor, "USD"),
        received_at=WHEN,
        attribution=Attribution(article_id="a-1", campaign="spring", variant="control"),
    )


def test_recording_the_same_payment_twice_makes_one_gift(services: Services) -> None:
    first = services.giving.record_gift(a_gift())
    head = services.ledger.head()
    second = services.giving.record_gift(a_gift())
    assert first == second
    assert services.ledger.head() == head, "the repeat recorded nothing"
    gift = services.ledger.get_typed(first, Gift)
    assert gift.amount == Money(2500, "USD")
    assert gift.attribution.campaign == "spring"


def test_same_email_in_another_case_is_the_same_supporter(services: Services) -> None:
    services.giving.record_gift(a_gift("pi_1", "Ada@Example.org"))
    services.giving.record_gift(a_gift("pi_2", "  ada@EXAMPLE.org "))
    supporter_id = services.giving.directory.id_for("ada@example.org")
    gifts = [services.ledger.get_typed(gift_id_for(p), Gift) for p in ("pi_1", "pi_2")]
    assert {g.supporter_id for g in gifts} == {supporter_id}
    supporter = services.ledger.get_typed(supporter_id, Supporter)
    assert supporter.email == "ada@example.org"
    assert supporter.version == 1, "the second gift did not re-register the supporter"


def test_refund_books_once_and_cannot_exceed_the_payment(services: Services) -> None:
    gift_id = services.giving.record_gift(a_gift(minor=2500))
    refund = RecordRefund("pi_1", "re_1", Money(1000, "USD"), WHEN)
    services.giving.record_refund(refund)
    services.giving.record_refund(refund)
    gift = services.ledger.get_typed(gift_id, Gift)
    assert gift.refunded == Money(1000, "USD")
    assert gift.net == Money(1500, "USD")
    with pytest.raises(RefundExceedsPaymentError):
        services.giving.record_refund(RecordRefund("pi_1", "re_2", Money(1501, "USD"), WHEN))
    assert services.ledger.get_typed(gift_id, Gift).refunded == Money(1000, "USD")


def test_refund_before_its_payment_says_what_it_waits_for(services: Services) -> None:
    with pytest.raises(CounterpartMissingError) as raised:
        services.giving.record_refund(RecordRefund("pi_later", "re_1", Money(100, "USD"), WHEN))
    assert raised.value.key == "payment:pi_later"


def test_both_invoice_reports_credit_one_membership_payment(services: Services) -> None:
    report = ReportMembership(
        subscription_id="sub_1",
        supporter=SupporterDetails(email="grace@example.org", name="Grace Hopper"),
        monthly_amount=Money(1000, "USD"),
        status=MembershipStatus.ACTIVE,
        as_of=WHEN,
    )
    payment = RecordMembershipPayment(report, "in_1", "pi_in_1", Money(1000, "USD"), WHEN)
    gift_id = services.giving.record_membership_payment(payment)
    assert services.giving.record_membership_payment(payment) == gift_id
    membership_id = services.giving.report_membership(report)
    membership = services.ledger.get_typed(membership_id, Membership)
    assert membership.payments == {"in_1": Money(1000, "USD")}
    assert membership.status == MembershipStatus.ACTIVE
    gift = services.ledger.get_typed(gift_id, Gift)
    assert gift.kind == GiftKind.MONTHLY
    assert gift.membership_id == membership_id


def test_gifts_booked_before_the_membership_knew_its_ask_learn_it(services: Services) -> None:
    """An invoice (no attribution) arrives before the subscription's report (with it)."""
    bare = ReportMembership(
        subscription_id="sub_9",
        supporter=SupporterDetails(email="grace@example.org", name="Grace Hopper"),
        monthly_amount=Money(1000, "USD"),
        status=None,
        as_of=WHEN,
        amount_is_current=False,
    )
    gift_id = services.giving.record_membership_payment(
        RecordMembershipPayment(bare, "in_9", "in_9", Money(1000, "USD"), WHEN)
    )
    assert services.ledger.get_typed(gift_id, Gift).attribution == Attribution()
    attribution = Attribution(article_id="a-7", campaign="spring", variant="b")
    services.giving.report_membership(
        ReportMembership(
            subscription_id="sub_9",
            supporter=bare.supporter,
            monthly_amount=Money(1000, "USD"),
            status=MembershipStatus.ACTIVE,
            as_of=WHEN,
            attribution=attribution,
        )
    )
    assert services.ledger.get_typed(gift_id, Gift).attribution == attribution


def test_a_member_first_reported_without_a_name_is_named_by_a_later_report(
    services: Services,
) -> None:
    """An invoice may name only the email; the subscription's report carries the donor's
    name from our metadata, whichever comes first."""
    unnamed = ReportMembership(
        subscription_id="sub_5",
        supporter=SupporterDetails(email="reader.one@example.org", name=""),
        monthly_amount=Money(2000, "USD"),
        status=None,
        as_of=WHEN,
        amount_is_current=False,
    )
    services.giving.record_membership_payment(
        RecordMembershipPayment(unnamed, "in_5", "pi_in_5", Money(2000, "USD"), WHEN)
    )
    named = ReportMembership(
        subscription_id="sub_5",
        supporter=SupporterDetails(email="reader.one@example.org", name="Reader One"),
        monthly_amount=Money(2000, "USD"),
        status=MembershipStatus.ACTIVE,
        as_of=WHEN,
    )
    membership_id = services.giving.report_membership(named)
    member_id = services.ledger.get_typed(membership_id, Membership).supporter_id
    assert services.ledger.get_typed(member_id, Supporter).name == "Reader One"
    renamed = ReportMembership(
        subscription_id="sub_5",
        supporter=SupporterDetails(email="reader.one@example.org", name="Someone Else"),
        monthly_amount=Money(2000, "USD"),
        status=MembershipStatus.ACTIVE,
        as_of=WHEN,
    )
    services.giving.report_membership(renamed)
    assert services.ledger.get_typed(member_id, Supporter).name == "Reader One", (
        "a report fills a missing name in; it never renames a named supporter"
    )


def test_a_held_membership_holds_only_its_first_payment(services: Services) -> None:
    report = ReportMembership(
        subscription_id="sub_held",
        supporter=SupporterDetails(email="grace@example.org", name="Grace Hopper"),
        monthly_amount=Money(1000, "USD"),
        status=MembershipStatus.ACTIVE,
        as_of=WHEN,
    )
    reason = "3 different cards from this reader"
    first, renewal = (
        services.giving.record_membership_payment(
            RecordMembershipPayment(
                report, invoice, f"pi_{invoice}", Money(1000, "USD"), WHEN, review=reason
            )
        )
        for invoice in ("in_first", "in_renewal")
    )
    assert services.ledger.get_typed(first, Gift).review == ReviewState.HELD
    assert services.ledger.get_typed(first, Gift).review_reason == reason
    assert services.ledger.get_typed(renewal, Gift).review == ReviewState.NONE
