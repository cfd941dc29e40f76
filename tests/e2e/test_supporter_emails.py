"""Emails to supporters over real SMTP: a thank-you after each gift (with the supporter
page's link), a notice when a renewal failed, and in every membership email a one-click
cancellation link that cancels exactly that membership once confirmed."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from patronage.domain.membership import Membership, MembershipStatus
from tests.support import http
from tests.support.polling import eventually
from tests.support.stripe_events import body_of, event, invoice, signature
from tests.support.supporters import WEBHOOK_SECRET, World, supporter_world

pytestmark = pytest.mark.e2e
ADA, BOB = "ada@example.org", "bob@example.org"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with supporter_world(tmp_path, {ADA: 2000, BOB: 1500}, receipts_worker_seconds=0.1) as running:
        yield running


def emails_to(world: World, email: str, subject: str) -> list[EmailMessage]:
    return [m for m in world.mail.messages() if m["To"] == email and subject in m["Subject"]]


def text_of(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    content: str = body.get_content()
    return content


def one(world: World, email: str, subject: str) -> str:
    [message] = eventually(
        lambda: emails_to(world, email, subject) or None, f"{subject!r} emailed to {email}"
    )
    return text_of(message)


def cancel_link(text: str) -> str:
    found = re.search(r"(http://\S+/my/cancel\?token=\S+)", text)
    assert found is not None, text
    return found.group(1)


def test_each_gift_is_thanked_and_the_membership_email_cancels_exactly_its_membership(
    world: World,
) -> None:
    one_time = one(world, ADA, "Thank you for your gift")
    assert "50.00 USD" in one_time and f"{world.api.url}/my" in one_time
    assert "/my/cancel" not in one_time  # not about a membership
    monthly = one(world, ADA, "Thank you for your membership")
    assert "20.00 USD every month" in monthly
    link = cancel_link(monthly)
    bob_link = cancel_link(one(world, BOB, "Thank you for your membership"))
    assert link != bob_link

    with http.client() as client:
        confirm = client.get(link)
        assert confirm.status_code == 200 and "Cancel my membership" in confirm.text
        assert world.subscription(ADA)["status"] == "active"
        token = link.split("token=", 1)[1]
        done = client.post(f"{world.api.url}/my/cancel", data={"token": token})
        assert done.status_code == 200, done.text
    assert world.subscription(ADA)["status"] == "canceled"
    assert world.subscription(BOB)["status"] == "active"
    eventually(
        lambda: (
            world.api.patronage.ledger.get_typed(world.membership(ADA).id, Membership).is_cancelled
        ),
        "localstripe's customer.subscription.deleted in the ledger",
    )


def test_a_failed_renewal_is_announced_with_what_the_member_can_do(world: World) -> None:
    subscription = world.subscription(BOB)
    failed = invoice(
        "in_renewal_failed", subscription["id"], 1500, subscription["metadata"], BOB,
        status="open", paid_at=None, customer=subscription["customer"],
    )  # fmt: skip
    world.membership(BOB)
    body = body_of(event("invoice.payment_failed", failed, created=int(time.time())))
    answer = http.post(
        f"{world.api.url}/webhooks/stripe",
        content=body.encode(),
        headers={"Stripe-Signature": signature(body, WEBHOOK_SECRET)},
    )
    assert answer.status_code == 200, answer.text
    notice = one(world, BOB, "did not go through")
    assert "15.00 USD" in notice and "try the same card again" in notice
    assert f"{world.api.url}/my" in notice and "/my/cancel?token=" in notice
    membership = world.api.patronage.ledger.get_typed(world.membership(BOB).id, Membership)
    assert membership.status == MembershipStatus.PAST_DUE
    assert emails_to(world, ADA, "did not go through") == []


def test_a_receipt_for_membership_payments_carries_the_cancellation_link(world: World) -> None:
    patronage = world.api.patronage
    gifts = eventually(
        lambda: world.membership(BOB).payment_gifts or None, "Bob's first membership payment"
    )
    [gift_id] = gifts.values()
    monthly = patronage.receipting.issue_single(gift_id)
    one_time = patronage.receipting.issue_single(world.gift(BOB).id)
    text = one(world, BOB, monthly.number)
    assert f"{world.api.url}/my" in text
    link = cancel_link(text)
    assert link == cancel_link(one(world, BOB, "Thank you for your membership"))
    assert "/my/cancel" not in one(world, BOB, one_time.number)  # no membership in it
