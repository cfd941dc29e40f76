"""Emails to supporters other than receipts: the sign-in link (plain text, nothing to attach)."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Protocol


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
