"""Membership and gift facts that must not depend on the order webhooks arrive in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import permutations
from uuid import uuid4

from patronage.domain.gift import DisputeStatus, Gift, GiftKind
from patronage.domain.membership import Membership, MembershipStatus
from patronage.domain.money import Money
from patronage.domain.values import Attribution

T = datetime(2026, 6, 1, tzinfo=UTC)
S = MembershipStatus


def membership(amount_as_of: datetime | None = None) -> Membership:
    return Membership(
        subscription_id="sub_1",
        supporter_id=uuid4(),
        monthly_amount=Money(1000, "USD"),
        attribution=Attribution(),
        started_at=T + timedelta(days=3),
        amount_as_of=amount_as_of,
    )


def final_status(reports: list[tuple[MembershipStatus, datetime]]) -> set[MembershipStatus]:
    outcomes = set()
    for order in permutations(reports):
        m = membership()
        for status, at in order:
            m.report_status(status, at)
        outcomes.add(m.status)
    return outcomes


def test_the_newest_status_wins_in_any_order() -> None:
    reports = [(S.ACTIVE, T), (S.PAST_DUE, T + timedelta(1)), (S.ACTIVE, T + timedelta(2))]
    assert final_status(reports) == {S.ACTIVE}


def test_reports_of_one_second_are_settled_by_rank() -> None:
    assert final_status([(S.INCOMPLETE, T), (S.ACTIVE, T)]) == {S.ACTIVE}
    assert final_status([(S.PAUSED, T), (S.ACTIVE, T)]) == {S.PAUSED}
    assert final_status([(S.ACTIVE, T), (S.CANCELLATION_SCHEDULED, T), (S.PAST_DUE, T)]) == {
        S.CANCELLATION_SCHEDULED
    }


def test_a_cancellation_is_final_whatever_comes_later() -> None:
    assert final_status([(S.CANCELLED, T), (S.ACTIVE, T + timedelta(days=9))]) == {S.CANCELLED}


def test_payments_and_failures_are_status_reports_too() -> None:
    outcomes = set()
    for order in permutations(["fail", "pay", "late-fail-of-paid-invoice"]):
        m = membership()
        for step in order:
            if step == "fail":
                m.fail_payment("in_2", "declined", T + timedelta(days=31))
            elif step == "pay":
                m.receive_payment("in_2", Money(1000, "USD"), uuid4(), T + timedelta(days=33))
            else:
                m.fail_payment("in_2", "declined", T + timedelta(days=32))
        outcomes.add((m.status, tuple(m.failures), tuple(m.payments)))
    assert outcomes == {(S.ACTIVE, ("in_2",), ("in_2",))}


def test_the_newest_subscription_amount_wins_over_any_invoice_amount() -> None:
    outcomes = set()
    reports = [(Money(1500, "USD"), T + timedelta(1)), (Money(2000, "USD"), T + timedelta(2))]
    for order in permutations(reports):
        m = membership(amount_as_of=None)  # started from an invoice's amount
        for amount, at in order:
            m.change_amount(amount, at)
        outcomes.add(m.monthly_amount)
    assert outcomes == {Money(2000, "USD")}


def test_the_earliest_start_and_the_first_attribution_are_kept() -> None:
    m = membership()
    m.note_start(T + timedelta(days=5))
    m.note_start(T)
    assert m.started_at == T
    m.learn_attribution(Attribution(campaign="members"))
    m.learn_attribution(Attribution(campaign="other"))
    assert m.attribution.campaign == "members"


def gift() -> Gift:
    usd = Money(0, "USD")
    return Gift(
        payment_id="pi_1",
        supporter_id=uuid4(),
        amount=Money(1000, "USD"),
        received_at=T + timedelta(seconds=2),
        kind=GiftKind.ONE_TIME,
        attribution=Attribution(),
        benefit_value=usd,
        fee_covered=usd,
    )


def dispute_outcomes(reports: list[tuple[DisputeStatus, datetime]]) -> set[DisputeStatus]:
    """Where one dispute ends after these reports, over every order they can arrive in."""
    outcomes = set()
    for order in permutations(reports):
        g = gift()
        for status, at in order:
            g.open_dispute("dp_1", Money(1000, "USD"), "fraudulent", at)
            g.update_dispute("dp_1", status, at)
        outcomes.add(g.disputes["dp_1"])
    return outcomes


def test_disputes_end_the_same_in_any_order() -> None:
    reports = [
        (DisputeStatus.OPEN, T),
        (DisputeStatus.FUNDS_WITHDRAWN, T + timedelta(1)),
        (DisputeStatus.FUNDS_REINSTATED, T + timedelta(2)),
    ]
    assert dispute_outcomes(reports) == {DisputeStatus.FUNDS_REINSTATED}


def test_a_later_open_report_never_undoes_a_funds_withdrawal() -> None:
    """Stripe's `updated` (under review) a second after `funds_withdrawn`: the money stays
    withdrawn, in whatever order the three reports arrive (a case the property test found)."""
    reports = [
        (DisputeStatus.OPEN, T),
        (DisputeStatus.FUNDS_WITHDRAWN, T),
        (DisputeStatus.OPEN, T + timedelta(seconds=1)),
    ]
    assert dispute_outcomes(reports) == {DisputeStatus.FUNDS_WITHDRAWN}


def test_a_loss_appealed_and_lost_again_ends_lost_in_any_order() -> None:
    """Lost, appealed in the same second, and lost again a second later: the second loss is
    the newest news, also when it arrives before the appeal and after the first loss (the
    same status reported again still moves the dispute's time on; a case the inbox's
    property test found)."""
    reports = [
        (DisputeStatus.OPEN, T),
        (DisputeStatus.LOST, T),
        (DisputeStatus.APPEALING, T),
        (DisputeStatus.LOST, T + timedelta(seconds=1)),
    ]
    assert dispute_outcomes(reports) == {DisputeStatus.LOST}


def test_a_gift_keeps_the_earliest_report_of_its_time() -> None:
    g = gift()
    g.note_received_at(T)
    g.note_received_at(T + timedelta(seconds=5))
    assert g.received_at == T
