"""The receipt email outbox: every valid receipt is emailed at least once.

A send is three steps, each its own transaction on the receipt: claim the current request
(optimistic concurrency lets one sender in several processes have it, for a lease), hand
the message to the server, then record `Emailed`. A failure records `EmailFailed` with the
next try after an exponential back-off; a sender that crashes after claiming loses the
claim when the lease ends, and the next sender sends the same Message-ID. So a receipt is
sent twice only when a crash falls between the server's acceptance and the record, and
then both copies carry the same Message-ID. A void receipt is never sent.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Protocol
from uuid import UUID

import structlog
from eventsourcing.persistence import IntegrityError

from patronage.application.clock import Clock, utc_now
from patronage.application.ledger import Ledger, retrying
from patronage.application.receipting import Receipting
from patronage.application.supporter_access import SupporterLinks
from patronage.domain.gift import Gift
from patronage.domain.membership import Membership
from patronage.domain.receipt import TaxReceipt
from patronage.receipts.mail import DeliveryFailedError, compose
from patronage.receipts.pdf import Branding, render_receipt

log = structlog.get_logger(__name__)


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class EmailsDue(Protocol):
    def emails_due(self, now: datetime, limit: int) -> list[UUID]: ...


@dataclass(frozen=True)
class RetryPolicy:
    first: timedelta
    most: timedelta
    lease: timedelta

    def after(self, attempts: int) -> timedelta:
        """Wait before the next try: doubling from `first`, never more than `most`."""
        factor: int = 2 ** min(max(attempts - 1, 0), 30)
        return min(self.first * factor, self.most)


def mask(email: str) -> str:
    name, _, domain = email.partition("@")
    return f"{name[:1]}***@{domain}"


@dataclass(eq=False)
class ReceiptOutbox:
    ledger: Ledger
    due: EmailsDue
    mailer: Mailer
    sender: str
    sender_domain: str
    branding: Branding
    links: SupporterLinks | None  # the supporter page's, when it is on
    policy: RetryPolicy
    clock: Clock = utc_now

    def send_due(self, limit: int = 100) -> int:
        """Send the receipts whose email is due; returns how many the server accepted."""
        return sum(self.send(receipt_id) for receipt_id in self.due.emails_due(self.clock(), limit))

    def _claim(self, receipt_id: UUID) -> TaxReceipt | None:
        receipt = self.ledger.get_typed(receipt_id, TaxReceipt)
        if not receipt.email_due(self.clock()):
            return None
        receipt.claim_email(self.clock(), self.policy.lease)
        try:
            self.ledger.save(receipt)
        except IntegrityError:
            return None  # another sender claimed it first
        return receipt

    def send(self, receipt_id: UUID) -> bool:
        """Send one receipt if its email is due and no other sender has it."""
        receipt = self._claim(receipt_id)
        if receipt is None:
            return False
        message_id = receipt.message_id(self.sender_domain)
        message = compose(
            receipt,
            render_receipt(receipt, self.branding),
            self.sender,
            message_id,
            self.clock(),
            *self._links(receipt),
        )
        try:
            self.mailer.send(message)
        except DeliveryFailedError as error:
            reason = str(error)
            self._record(receipt_id, lambda r: self._failed(r, reason))
            log.warning("receipt_email_failed", number=receipt.number, error=reason)
            return False
        to = mask(receipt.donor.email)
        self._record(receipt_id, lambda r: r.record_emailed(to, message_id, self.clock()))
        log.info("receipt_emailed", number=receipt.number, to=to, message_id=message_id)
        return True

    def _links(self, receipt: TaxReceipt) -> tuple[str, list[str]]:
        """The supporter page, and the one-click cancellation of each live membership whose
        payments the receipt covers (a receipt to a member is a membership email too)."""
        if self.links is None:
            return "", []
        gifts = self.ledger.get_many([UUID(line.gift_id) for line in receipt.gifts], Gift)
        ids = sorted({g.membership_id for g in gifts.values() if g.membership_id is not None})
        memberships = self.ledger.get_many(ids, Membership)
        live = [i for i in ids if i in memberships and not memberships[i].is_cancelled]
        return self.links.page, [self.links.cancel(i) for i in live]

    def _failed(self, receipt: TaxReceipt, error: str) -> None:
        now = self.clock()
        receipt.record_email_failed(error, now, now + self.policy.after(receipt.email_attempts))

    def _record(self, receipt_id: UUID, change: Callable[[TaxReceipt], None]) -> None:
        def attempt() -> None:
            receipt = self.ledger.get_typed(receipt_id, TaxReceipt)
            change(receipt)
            self.ledger.save(receipt)

        retrying(attempt)


class ReceiptWorker:
    """In each service process: automatic single receipts (when on) and the outbox, every
    few seconds. Safe to run in many processes at once (claims and gift attachment)."""

    def __init__(
        self, receipting: Receipting, outbox: ReceiptOutbox | None, automatic: bool, every: float
    ) -> None:
        self.receipting = receipting
        self.outbox = outbox
        self.automatic = automatic
        self.every = every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> None:
        if self.automatic:
            self.receipting.issue_pending_singles()
        if self.outbox is not None:
            self.outbox.send_due()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # a bad tick must not end the loop; the next one retries
                log.exception("receipt_worker_failed")
            self._stop.wait(self.every)

    def start(self) -> None:
        if self.automatic or self.outbox is not None:
            self._thread = threading.Thread(target=self._loop, name="receipts", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
