"""A receipt's email: the message with its PDF attached, and the SMTP client that sends it."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from functools import cached_property

from patronage.domain.receipt import TaxReceipt
from patronage.receipts.profiles import profile_for


class DeliveryFailedError(Exception):
    """The mail server did not accept the message; the outbox tries again later."""


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: str  # "none" | "starttls" | "tls"
    username: str
    password: str
    sender: str
    timeout: float

    @property
    def sender_domain(self) -> str:
        address = parseaddr(self.sender)[1]
        return address.rpartition("@")[2] or "localhost"


def compose(
    receipt: TaxReceipt,
    pdf: bytes,
    sender: str,
    message_id: str,
    now: datetime,
    page_url: str = "",
    cancel_urls: Sequence[str] = (),
) -> EmailMessage:
    """The receipt's message: plain text, the PDF attached, and the request's Message-ID
    (the same on every attempt, so a copy after a crash is recognisably the same message).
    With `page_url`, it names the supporter page, where every receipt can be downloaded, and
    the one-click cancellation of each live membership the receipt covers (`cancel_urls`)."""
    title = profile_for(receipt.organisation.jurisdiction).title(receipt.kind)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = receipt.donor.email
    message["Subject"] = f"{title} {receipt.number} from {receipt.organisation.name}"
    message["Message-ID"] = message_id
    message["Date"] = format_datetime(now)
    lines = [
        f"Dear {receipt.donor.name or 'supporter'},",
        "",
        f"Thank you for your support of {receipt.organisation.name}.",
        f"Your receipt No. {receipt.number} for {receipt.total} "
        f"(tax year {receipt.tax_year}) is attached as a PDF.",
    ]
    if receipt.replaces_number:
        lines.append(
            f"It replaces receipt No. {receipt.replaces_number}, which is no longer valid."
        )
    if page_url:
        lines += ["", f"See all your gifts and receipts, or manage a membership: {page_url}"]
    for url in cancel_urls:
        lines.append(f"Cancel your membership in one click (no sign-in needed): {url}")
    lines += ["", receipt.organisation.name, receipt.organisation.address]
    message.set_content("\n".join(lines))
    message.add_attachment(
        pdf, maintype="application", subtype="pdf", filename=f"receipt-{receipt.number}.pdf"
    )
    return message


class SmtpMailer:
    """Sends over SMTP with STARTTLS, implicit TLS, or (loopback catchers only) neither."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    @cached_property
    def _tls(self) -> ssl.SSLContext:
        """One TLS context for every session: making one loads the CA bundle, tens of
        milliseconds of CPU per email at year end."""
        return ssl.create_default_context()

    def send(self, message: EmailMessage) -> None:
        """Returns once the server accepted the message; DeliveryFailedError otherwise."""
        with self._session() as client:
            client.send_message(message)

    def check(self) -> None:
        """Connect, secure and log in as a send would, then say NOOP; DeliveryFailedError
        with the reason otherwise (`patronage check`)."""
        with self._session() as client:
            client.noop()

    @contextmanager
    def _session(self) -> Iterator[smtplib.SMTP]:
        config = self.config
        try:
            if config.security == "tls":
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    config.host, config.port, timeout=config.timeout, context=self._tls
                )
            else:
                client = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
            with client:
                if config.security == "starttls":
                    client.starttls(context=self._tls)
                if config.username:
                    client.login(config.username, config.password)
                yield client
        except (smtplib.SMTPException, OSError) as error:
            # The class and the server's reply, never the credentials or the recipient.
            raise DeliveryFailedError(f"{type(error).__name__}: {_reply(error)}") from None


def _reply(error: Exception) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        reply = error.smtp_error
        text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
        return f"{error.smtp_code} {text[:200]}"
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "recipient refused"
    return str(error)[:200]
