"""Emails to supporters besides receipts: a thank-you after each gift that no single receipt
thanks for, and a notice when a renewal failed and Stripe will try again. Every email
about a membership carries its one-click cancellation link.

The sender follows the event log from where it last stopped (a cursor in the ledger), so
each gift and each failed payment is considered once, in any process. News older than
`fresh_for` (an import, a replayed backlog) is passed over: a thank-you weeks late is worse
than none. A notice that the mail server refused is logged, recorded as failed and not
tried again (the supporter page and receipts carry what it said).
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any, Protocol
from uuid import UUID

import structlog
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic

from patronage.application.clock import Clock, utc_now
from patronage.application.identity import SupporterDirectory
from patronage.application.ledger import Ledger, UnitOfWork
from patronage.application.supporter_access import SupporterLinks
from patronage.domain.gift import Gift, GiftKind
from patronage.domain.membership import Membership, MembershipStatus
from patronage.domain.notice import NOTICE_CURSOR_ID, NoticeCursor, SupporterNotice
from patronage.domain.supporter import Supporter
from patronage.logs import mask_email
from patronage.projections.base import event_class
from patronage.receipts.mail import DeliveryFailedError
from patronage.receipts.notices import Links, renewal_failed_message, thank_you_message

log = structlog.get_logger(__name__)

GIFT_RECEIVED = event_class(Gift, "Received")
PAYMENT_FAILED = event_class(Membership, "PaymentFailed")
TOPICS = [get_topic(GIFT_RECEIVED), get_topic(PAYMENT_FAILED)]
_BATCH = 100


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> None: ...


@dataclass(frozen=True)
class NoticeSettings:
    organisation: str
    sender: str
    # One-time gifts are thanked by their single receipt's email when those are automatic.
    receipts_thank_one_time_gifts: bool
    fresh_for: timedelta = timedelta(days=3)


@dataclass(eq=False)
class SupporterNotices:
    ledger: Ledger
    mailer: Mailer
    links: SupporterLinks
    settings: NoticeSettings
    clock: Clock = utc_now

    def send_new(self) -> int:
        """Consider what happened since the last call; returns how many emails were sent."""
        cursor = self.ledger.get_or_none(NOTICE_CURSOR_ID, NoticeCursor)
        if cursor is None:
            # The first run starts from now: what happened before it is history, not news.
            cursor = NoticeCursor(self.ledger.head())
            with suppress(IntegrityError):
                self.ledger.save(cursor)
            return 0
        batch = self.ledger.recorder.select_notifications(
            start=cursor.position, limit=_BATCH, topics=TOPICS, inclusive_of_start=False
        )
        sent = 0
        for notification in batch:
            sent += self._consider(self.ledger.mapper.to_domain_event(notification))
        if batch:
            cursor.advance(batch[-1].id)
            # Another process may have advanced it: the claims kept us from sending twice.
            with suppress(IntegrityError):
                self.ledger.save(cursor)
        return sent

    def _consider(self, event: Any) -> int:
        if isinstance(event, GIFT_RECEIVED):
            return self._thank(event.originator_id)
        return self._renewal_failed(event.originator_id, event.invoice_id, event.failed_at)

    def _links(self, membership_id: UUID | None) -> Links:
        cancel = "" if membership_id is None else self.links.cancel(membership_id)
        return Links(page=self.links.page, cancel=cancel)

    def _thank(self, gift_id: UUID) -> int:
        gift = self.ledger.get_typed(gift_id, Gift)
        if not gift.through_stripe or self.clock() - gift.received_at > self.settings.fresh_for:
            return 0
        if gift.kind == GiftKind.ONE_TIME and self.settings.receipts_thank_one_time_gifts:
            return 0
        supporter = self._reachable(gift.supporter_id)
        if supporter is None:
            return 0
        membership = (
            None
            if gift.membership_id is None
            else self.ledger.get_or_none(gift.membership_id, Membership)
        )
        message = thank_you_message(
            supporter, gift.amount, membership, self._links(gift.membership_id),
            self.settings.organisation, self.settings.sender,
        )  # fmt: skip
        return self._send_once("thanks", str(gift_id), supporter, message)

    def _renewal_failed(self, membership_id: UUID, invoice_id: str, failed_at: datetime) -> int:
        if self.clock() - failed_at > self.settings.fresh_for:
            return 0
        membership = self.ledger.get_typed(membership_id, Membership)
        if membership.status != MembershipStatus.PAST_DUE:
            return 0  # a first payment (the member is on the page), or recovered since
        supporter = self._reachable(membership.supporter_id)
        if supporter is None:
            return 0
        message = renewal_failed_message(
            supporter, membership, self._links(membership_id),
            self.settings.organisation, self.settings.sender,
        )  # fmt: skip
        return self._send_once("renewal-failed", invoice_id, supporter, message)

    def _reachable(self, supporter_id: UUID) -> Supporter | None:
        found = SupporterDirectory(self.ledger).find(UnitOfWork(self.ledger), supporter_id, "")
        return found if found is not None and found.is_active and found.email else None

    def _send_once(self, kind: str, about: str, to: Supporter, message: EmailMessage) -> int:
        notice = SupporterNotice(kind, about, to.id, self.clock())
        try:
            self.ledger.save(notice)
        except IntegrityError:
            return 0  # claimed before, here or in another process
        try:
            self.mailer.send(message)
        except DeliveryFailedError as error:
            notice.failed(str(error), self.clock())
            self.ledger.save(notice)
            log.warning(
                "supporter_notice_failed", kind=kind, to=mask_email(to.email), error=str(error)
            )
            return 0
        notice.sent(mask_email(to.email), self.clock())
        self.ledger.save(notice)
        log.info("supporter_notice_sent", kind=kind, to=mask_email(to.email))
        return 1
