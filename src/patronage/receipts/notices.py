"""Emails to supporters other than receipts: the sign-in link, a thank-you, a failed
renewal's notice (plain text; every one about a membership carries its cancellation link)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Protocol

from patronage.domain.money import Money
from patronage.domain.values import BillingPeriod


class Addressee(Protocol):
    @property
    def email(self) -> str: ...
    @property
    def name(self) -> str: ...


def _message(sender: str, to: Addressee, subject: str, lines: list[str]) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to.email
    message["Subject"] = subject
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(domain=domain)
    message["Date"] = format_datetime(datetime.now(UTC))
    message.set_content("\n".join([f"Dear {to.name or 'supporter'},", "", *lines]))
    return message


def sign_in_message(
    to: Addressee, link: str, minutes: int, organisation: str, sender: str
) -> EmailMessage:
    return _message(
        sender,
        to,
        f"Your sign-in link for {organisation}",
        [
            "Here is your link to see your gifts and receipts and manage your membership:",
            "",
            link,
            "",
            f"It works once, for {minutes} minutes. If you did not ask for it, ignore this",
            "email: nobody can sign in without it.",
            "",
            organisation,
        ],
    )


@dataclass(frozen=True)
class Links:
    page: str  # the supporter page (sign in there)
    cancel: str = ""  # the membership's one-click cancellation page, when about one


class MembershipTerms(Protocol):
    @property
    def monthly_amount(self) -> Money: ...
    @property
    def period(self) -> BillingPeriod: ...


def _membership_footer(links: Links) -> list[str]:
    return [
        "",
        f"See your gifts and receipts, change your amount or pause: {links.page}",
        f"Cancel your membership in one click (no sign-in needed): {links.cancel}",
    ]


def thank_you_message(
    to: Addressee,
    amount: Money,
    membership: MembershipTerms | None,
    links: Links,
    organisation: str,
    sender: str,
) -> EmailMessage:
    """Thanks for a gift: a one-time gift, or one payment of a membership."""
    if membership is None:
        lines = [
            f"Thank you for your gift of {amount} to {organisation}.",
            "",
            f"See your gifts and receipts any time: {links.page}",
            "",
            organisation,
        ]
        return _message(sender, to, f"Thank you for your gift to {organisation}", lines)
    lines = [
        f"Thank you: your membership payment of {amount} to {organisation} went through.",
        f"You give {membership.monthly_amount} every {membership.period}.",
        *_membership_footer(links),
        "",
        organisation,
    ]
    return _message(sender, to, f"Thank you for your membership of {organisation}", lines)


def renewal_failed_message(
    to: Addressee, membership: MembershipTerms, links: Links, organisation: str, sender: str
) -> EmailMessage:
    """Before Stripe tries a failed renewal again: what failed, and what the member can do."""
    lines = [
        f"Your membership payment of {membership.monthly_amount} to {organisation} did not go"
        " through.",
        "Stripe will try the same card again in the next few days. To use another card, sign in",
        f"and choose Update card: {links.page}",
        *_membership_footer(links),
        "",
        organisation,
    ]
    return _message(sender, to, f"Your payment to {organisation} did not go through", lines)
