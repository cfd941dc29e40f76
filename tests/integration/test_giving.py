"""The giving commands on both stores: idempotent on natural ids, one supporter per email."""

from __future__ import annotations

import threading
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
from patronage.bootstrap import Patronage
from patronage.domain.errors import RefundExceedsPaymentError
from patronage.domain.gift import Gift, GiftKind
from patronage.domain.membership import Membership, MembershipStatus
from patronage.domain.money import Money
from patronage.domain.supporter import Supporter
from patronage.domain.values import Attribution

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


def test_recording_the_same_payment_twice_makes_one_gift(patronage: Patronage) -> None:
    first = patronage.giving.record_gift(a_gift())
    head = patronage.ledger.head()
    second = patronage.giving.record_gift(a_gift())
    assert first == second
    assert patronage.ledger.head() == head, "the repeat recorded nothing"
    gift = patronage.ledger.get_typed(first, Gift)
    assert gift.amount == Money(2500, "USD")
    assert gift.attribution.campaign == "spring"


def test_same_email_in_another_case_is_the_same_supporter(patronage: Patronage) -> None:
    patronage.giving.record_gift(a_gift("pi_1", "Ada@Example.org"))
    patronage.giving.record_gift(a_gift("pi_2", "  ada@EXAMPLE.org "))
    supporter_id = patronage.giving.directory.id_for("ada@example.org")
    gifts = [patronage.ledger.get_typed(g, Gift) for g in _gift_ids(patronage, ["pi_1", "pi_2"])]
    assert {g.supporter_id for g in gifts} == {supporter_id}
    supporter = patronage.ledger.get_typed(supporter_id, Supporter)
    assert supporter.email == "ada@example.org"
    assert supporter.version == 1, "the second gift did not re-register the supporter"


def test_concurrent_recording_of_one_payment_makes_one_gift(patronage: Patronage) -> None:
    results: list[object] = []
    threads = [
        threading.Thread(target=lambda: results.append(patronage.giving.record_gift(a_gift())))
        for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1
    gift = patronage.ledger.get_typed(results[0], Gift)  # type: ignore[arg-type]
    assert gift.version == 1


def test_refund_books_once_and_cannot_exceed_the_payment(patronage: Patronage) -> None:
    gift_id = patronage.giving.record_gift(a_gift(minor=2500))
    refund = RecordRefund("pi_1", "re_1", Money(1000, "USD"), WHEN)
    patronage.giving.record_refund(refund)
    patronage.giving.record_refund(refund)
    gift = patronage.ledger.get_typed(gift_id, Gift)
    assert gift.refunded == Money(1000, "USD")
    assert gift.net == Money(1500, "USD")
    with pytest.raises(RefundExceedsPaymentError):
        patronage.giving.record_refund(RecordRefund("pi_1", "re_2", Money(1501, "USD"), WHEN))
    assert patronage.ledger.get_typed(gift_id, Gift).refunded == Money(1000, "USD")


def test_refund_before_its_payment_says_what_it_waits_for(patronage: Patronage) -> None:
    with pytest.raises(CounterpartMissingError) as raised:
        patronage.giving.record_refund(RecordRefund("pi_later", "re_1", Money(100, "USD"), WHEN))
    assert raised.value.key == "payment:pi_later"


def test_both_invoice_reports_credit_one_membership_payment(patronage: Patronage) -> None:
    report = ReportMembership(
        subscription_id="sub_1",
        supporter=SupporterDetails(email="grace@example.org", name="Grace Hopper"),
        monthly_amount=Money(1000, "USD"),
        status=MembershipStatus.ACTIVE,
        as_of=WHEN,
    )
    payment = RecordMembershipPayment(report, "in_1", "pi_in_1", Money(1000, "USD"), WHEN)
    gift_id = patronage.giving.record_membership_payment(payment)
    assert patronage.giving.record_membership_payment(payment) == gift_id
    membership_id = patronage.giving.report_membership(report)
    membership = patronage.ledger.get_typed(membership_id, Membership)
    assert membership.payments == {"in_1": Money(1000, "USD")}
    assert membership.status == MembershipStatus.ACTIVE
    gift = patronage.ledger.get_typed(gift_id, Gift)
    assert gift.kind == GiftKind.MONTHLY
    assert gift.membership_id == membership_id


def _gift_ids(patronage: Patronage, payment_ids: list[str]) -> list[object]:
    from patronage.domain.gift import gift_id_for

    return [gift_id_for(p) for p in payment_ids]


def test_gifts_booked_before_the_membership_knew_its_ask_learn_it(patronage: Patronage) -> None:
    """An invoice (no attribution) arrives before the subscription's report (with it)."""
    bare = ReportMembership(
        subscription_id="sub_9",
        supporter=SupporterDetails(email="grace@example.org", name="Grace Hopper"),
        monthly_amount=Money(1000, "USD"),
        status=None,
        as_of=WHEN,
        amount_is_current=False,
    )
    gift_id = patronage.giving.record_membership_payment(
        RecordMembershipPayment(bare, "in_9", "in_9", Money(1000, "USD"), WHEN)
    )
    assert patronage.ledger.get_typed(gift_id, Gift).attribution == Attribution()
    attribution = Attribution(article_id="a-7", campaign="spring", variant="b")
    patronage.giving.report_membership(
        ReportMembership(
            subscription_id="sub_9",
            supporter=bare.supporter,
            monthly_amount=Money(1000, "USD"),
            status=MembershipStatus.ACTIVE,
            as_of=WHEN,
            attribution=attribution,
        )
    )
    assert patronage.ledger.get_typed(gift_id, Gift).attribution == attribution
