from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from patronage.domain.errors import (
    DisputeMismatchError,
    DomainError,
    GiftAlreadyReceiptedError,
    GiftNotReceiptableError,
    RefundExceedsPaymentError,
)
from patronage.domain.gift import (
    DisputeStatus,
    Gift,
    GiftKind,
    GiftReviewError,
    ReviewState,
    gift_id_for,
)
from patronage.domain.money import Money
from patronage.domain.values import Attribution

WHEN = datetime(2026, 5, 1, tzinfo=UTC)


def usd(minor: int) -> Money:
    return Money(minor, "USD")


def a_gift(minor: int = 5000, benefit: int = 0) -> Gift:
    return Gift(
        payment_id="pi_1",
        supporter_id=uuid4(),
        amount=usd(minor),
        received_at=WHEN,
        kind=GiftKind.ONE_TIME,
        attribution=Attribution(article_id="a1"),
        benefit_value=usd(benefit),
        fee_covered=usd(0),
    )


def test_id_comes_from_the_payment_id() -> None:
    assert a_gift().id == gift_id_for("pi_1")


@pytest.mark.parametrize(
    ("amount", "benefit", "fee"),
    [(usd(0), usd(0), usd(0)), (usd(100), usd(101), usd(0)), (usd(100), Money(1, "EUR"), usd(0))],
)
def test_invalid_amounts_are_refused(amount: Money, benefit: Money, fee: Money) -> None:
    with pytest.raises(DomainError):
        Gift(
            payment_id="pi_x",
            supporter_id=uuid4(),
            amount=amount,
            received_at=WHEN,
            kind=GiftKind.ONE_TIME,
            attribution=Attribution(),
            benefit_value=benefit,
            fee_covered=fee,
        )


def test_partial_refunds_add_up_and_cannot_exceed_the_payment() -> None:
    gift = a_gift(5000)
    gift.refund("re_1", usd(2000), WHEN)
    gift.refund("re_1", usd(2000), WHEN)  # the same refund reported again
    gift.refund("re_2", usd(3000), WHEN)
    assert gift.refunded == usd(5000)
    assert gift.net == usd(0)
    with pytest.raises(RefundExceedsPaymentError):
        gift.refund("re_3", usd(1), WHEN)


def test_a_failed_refund_returns_the_money_and_a_late_success_is_ignored() -> None:
    gift = a_gift(5000)
    gift.reverse_refund("re_1", "failed")  # failure reported before the refund itself
    gift.refund("re_1", usd(1000), WHEN)
    assert gift.refunded == usd(0)
    gift.refund("re_2", usd(1000), WHEN)
    gift.reverse_refund("re_2", "failed")
    assert gift.net == usd(5000)


def test_disputes_hold_receipts_and_a_lost_one_reduces_net() -> None:
    gift = a_gift(5000)
    gift.open_dispute("dp_1", usd(5000), "fraudulent", WHEN)
    assert gift.has_open_dispute
    with pytest.raises(GiftNotReceiptableError):
        gift.check_receiptable()
    gift.update_dispute("dp_1", DisputeStatus.LOST, WHEN)
    gift.update_dispute("dp_1", DisputeStatus.FUNDS_REINSTATED, WHEN)  # late news after close
    assert gift.disputes["dp_1"] == DisputeStatus.LOST
    assert gift.net == usd(0)


def test_a_dispute_lost_then_won_on_appeal_gives_the_money_back() -> None:
    gift = a_gift(5000)
    gift.open_dispute("dp_1", usd(5000), "fraudulent", WHEN)
    gift.update_dispute("dp_1", DisputeStatus.LOST, WHEN + timedelta(days=30))
    gift.update_dispute("dp_1", DisputeStatus.APPEALING, WHEN + timedelta(days=40))
    assert (gift.net, gift.has_open_dispute) == (usd(0), True)
    gift.update_dispute("dp_1", DisputeStatus.WON, WHEN + timedelta(days=90))
    gift.update_dispute("dp_1", DisputeStatus.LOST, WHEN + timedelta(days=30))  # redelivered
    assert gift.disputes["dp_1"] == DisputeStatus.WON
    assert (gift.net, gift.has_open_dispute) == (usd(5000), False)


def test_reports_of_one_second_settle_by_how_far_along_they_are() -> None:
    for order in ([DisputeStatus.LOST, DisputeStatus.APPEALING, DisputeStatus.WON],
                  [DisputeStatus.WON, DisputeStatus.LOST, DisputeStatus.APPEALING]):  # fmt: skip
        gift = a_gift(5000)
        gift.open_dispute("dp_1", usd(5000), "fraudulent", WHEN)
        for status in order:
            gift.update_dispute("dp_1", status, WHEN)
        assert gift.disputes["dp_1"] == DisputeStatus.WON


@pytest.mark.parametrize(
    ("amount", "reason"),
    [(Money(5000, "EUR"), "is in EUR"), (usd(5001), "not within"), (usd(0), "not within")],
)
def test_a_dispute_must_fit_its_gift_like_a_refund(amount: Money, reason: str) -> None:
    gift = a_gift(5000)
    with pytest.raises(DisputeMismatchError, match=reason):
        gift.open_dispute("dp_1", amount, "fraudulent", WHEN)
    assert gift.disputes == {}


def test_updating_an_unknown_dispute_is_an_error() -> None:
    with pytest.raises(DomainError):
        a_gift().update_dispute("dp_unknown", DisputeStatus.WON, WHEN)


def test_a_gift_is_receipted_once_until_its_receipt_is_detached() -> None:
    gift = a_gift()
    first, second = uuid4(), uuid4()
    gift.attach_receipt(first)
    with pytest.raises(GiftAlreadyReceiptedError):
        gift.attach_receipt(second)
    gift.detach_receipt(second)  # not the receipt covering it: nothing happens
    assert gift.receipt_id == first
    gift.detach_receipt(first)
    gift.attach_receipt(second)
    assert gift.receipt_id == second


def test_a_fully_refunded_gift_cannot_be_receipted() -> None:
    gift = a_gift(1000)
    gift.refund("re_1", usd(1000), WHEN)
    with pytest.raises(GiftNotReceiptableError):
        gift.attach_receipt(uuid4())


def test_a_gift_held_for_review_is_receipted_only_once_released() -> None:
    gift = a_gift()
    gift.hold_for_review("2 declined payment(s) from this address recently")
    with pytest.raises(GiftNotReceiptableError, match="held in staff review"):
        gift.check_receiptable()
    with pytest.raises(GiftReviewError, match="say why"):
        gift.reject_in_review("finance@news.example", " ")
    gift.release_from_review("finance@news.example")
    gift.release_from_review("finance@news.example")  # a replay changes nothing
    assert gift.review == ReviewState.RELEASED and gift.reviewed_by == "finance@news.example"
    gift.check_receiptable()
    with pytest.raises(GiftReviewError, match="released, not held"):
        gift.reject_in_review("other@news.example", "card testing")


def test_a_rejected_gift_is_never_receipted_and_a_gift_never_held_cannot_be_decided() -> None:
    gift = a_gift()
    with pytest.raises(GiftReviewError, match="not held"):
        gift.release_from_review("finance@news.example")
    gift.hold_for_review("3 different cards from this reader")
    gift.reject_in_review("finance@news.example", "card testing")
    gift.reject_in_review("finance@news.example", "card testing")  # the retry: no new event
    assert [type(e).__name__ for e in gift.collect_events()][-2:] == [
        "HeldForReview",
        "RejectedInReview",
    ]
    with pytest.raises(GiftNotReceiptableError, match="rejected"):
        gift.check_receiptable()
    with pytest.raises(GiftReviewError):
        gift.release_from_review("finance@news.example")
