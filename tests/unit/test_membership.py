from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from patronage.domain.errors import DomainError
from patronage.domain.membership import Membership, MembershipStatus, membership_id_for
from patronage.domain.money import Money
from patronage.domain.values import Attribution

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(days: int) -> datetime:
    return T0 + timedelta(days=days)


def a_membership() -> Membership:
    return Membership(
        subscription_id="sub_1",
        supporter_id=uuid4(),
        monthly_amount=Money(1000, "USD"),
        attribution=Attribution(campaign="c"),
        started_at=T0,
    )


def test_id_comes_from_the_subscription() -> None:
    assert a_membership().id == membership_id_for("sub_1")


def test_a_membership_needs_a_positive_amount() -> None:
    with pytest.raises(DomainError):
        Membership(
            subscription_id="sub_2",
            supporter_id=uuid4(),
            monthly_amount=Money(0, "USD"),
            attribution=Attribution(),
            started_at=T0,
        )


def test_each_invoice_is_credited_once_and_activates() -> None:
    membership = a_membership()
    assert membership.receive_payment("in_1", Money(1000, "USD"), uuid4(), at(0))
    assert not membership.receive_payment("in_1", Money(1000, "USD"), uuid4(), at(0))
    assert membership.status == MembershipStatus.ACTIVE
    assert membership.payments == {"in_1": Money(1000, "USD")}


def test_failure_makes_past_due_and_the_next_payment_restores() -> None:
    membership = a_membership()
    membership.receive_payment("in_1", Money(1000, "USD"), uuid4(), at(0))
    membership.fail_payment("in_2", "card_declined", at(31))
    assert membership.status == MembershipStatus.PAST_DUE
    membership.receive_payment("in_2", Money(1000, "USD"), uuid4(), at(33))
    assert membership.status == MembershipStatus.ACTIVE


def test_an_older_status_never_overwrites_a_newer_one() -> None:
    membership = a_membership()
    membership.report_status(MembershipStatus.CANCELLATION_SCHEDULED, at(10))
    membership.report_status(MembershipStatus.ACTIVE, at(5))
    assert membership.status == MembershipStatus.CANCELLATION_SCHEDULED
    membership.report_status(MembershipStatus.ACTIVE, at(12))
    assert membership.status == MembershipStatus.ACTIVE
    assert [type(e).__name__ for e in membership.collect_events()][-1] == "Resumed"


def test_cancelled_is_final() -> None:
    membership = a_membership()
    membership.report_status(MembershipStatus.CANCELLED, at(3))
    membership.report_status(MembershipStatus.ACTIVE, at(40))
    membership.fail_payment("in_9", "late failure", at(41))
    assert membership.status == MembershipStatus.CANCELLED


def test_pause_and_amount_change() -> None:
    membership = a_membership()
    membership.report_status(MembershipStatus.PAUSED, at(1))
    assert membership.status == MembershipStatus.PAUSED
    membership.change_amount(Money(1500, "USD"), at(2))
    membership.change_amount(Money(1500, "USD"), at(3))
    assert membership.monthly_amount == Money(1500, "USD")
    names = [type(e).__name__ for e in membership.collect_events()]
    assert names.count("AmountChanged") == 1


def test_a_first_invoice_failing_is_incomplete_a_renewal_past_due_and_expiry_final() -> None:
    first = a_membership()
    first.fail_payment("in_1", "card_declined", at(1), first=True)
    assert first.status == MembershipStatus.INCOMPLETE
    first.report_status(MembershipStatus.INCOMPLETE_EXPIRED, at(2))
    first.report_status(MembershipStatus.ACTIVE, at(3))  # nothing comes back from it
    assert first.status == MembershipStatus.INCOMPLETE_EXPIRED
    assert first.is_cancelled
    renewal = a_membership()
    renewal.fail_payment("in_2", "card_declined", at(31))
    assert renewal.status == MembershipStatus.PAST_DUE


def test_the_newest_schedule_report_wins_in_any_order() -> None:
    early, late = (at(30), None), (at(60), at(45))
    in_order, reversed_order = a_membership(), a_membership()
    in_order.report_schedule(*early, as_of=at(1))
    in_order.report_schedule(*late, as_of=at(2))
    reversed_order.report_schedule(*late, as_of=at(2))
    reversed_order.report_schedule(*early, as_of=at(1))
    for membership in (in_order, reversed_order):
        assert (membership.period_ends_at, membership.resumes_at) == late
