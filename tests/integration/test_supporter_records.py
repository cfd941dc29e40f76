"""What the console's supporter page and the cancellation link read through the services:
a supporter's record, a membership's subscription and history, the membership a link names."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from patronage.application.giving import (
    RecordMembershipPayment,
    ReportMembership,
    SupporterDetails,
)
from patronage.application.member_changes import NotYourMembershipError
from patronage.application.supporters import UnknownSupporterError
from patronage.bootstrap import Patronage
from patronage.domain.membership import MembershipStatus, membership_id_for
from patronage.domain.money import Money

MARCH = datetime(2026, 3, 1, tzinfo=UTC)


def join(patronage: Patronage) -> None:
    ada = SupporterDetails(email="ada@example.org", name="Ada Lovelace")
    report = ReportMembership("sub_1", ada, Money(1500, "USD"), MembershipStatus.ACTIVE, MARCH)
    patronage.giving.record_membership_payment(
        RecordMembershipPayment(report, "in_1", "pi_member", Money(1500, "USD"), MARCH)
    )


def test_a_supporter_and_a_membership_with_its_history(patronage: Patronage) -> None:
    join(patronage)
    ada = patronage.giving.directory.id_for("ada@example.org")
    person = patronage.supporters.supporter(ada)
    assert (person.id, person.name) == (ada, "Ada Lovelace")
    record = patronage.supporters.membership(membership_id_for("sub_1"))
    assert record.subscription_id == "sub_1"
    # In finance's words, dated when each happened at Stripe (not when we learnt it).
    assert [(line.event, line.at, line.detail) for line in record.history] == [
        ("Started", MARCH, "15.00 USD a month, from no article or campaign"),
        ("Status", MARCH, "active"),
        ("Payment received", MARCH, "15.00 USD, invoice in_1"),
    ]


def test_an_unknown_supporter_or_linked_membership_is_refused(patronage: Patronage) -> None:
    with pytest.raises(UnknownSupporterError):
        patronage.supporters.supporter(uuid.uuid4())
    with pytest.raises(NotYourMembershipError):
        patronage.member_changes.linked(uuid.uuid4())
    join(patronage)
    membership = patronage.member_changes.linked(membership_id_for("sub_1"))
    assert membership.subscription_id == "sub_1" and not membership.is_cancelled
