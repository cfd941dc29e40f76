"""Finance's supporter actions: merge two records of one person, erase a person on request.

Both leave a trail (events on the supporters themselves, with who and why) and keep the
money: gifts, amounts, dates and receipt numbers are never touched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import structlog
from eventsourcing.domain import DomainEvent

from patronage.application.identity import SupporterDirectory
from patronage.application.ledger import Ledger, UnitOfWork, in_one_transaction
from patronage.application.payloads import StripePayloads
from patronage.application.sealing import supporter_subject
from patronage.domain.membership import Membership
from patronage.domain.supporter import Supporter, is_email
from patronage.domain.values import Attribution, BillingPeriod
from patronage.projections.base import event_class

log = structlog.get_logger(__name__)


class UnknownSupporterError(LookupError):
    pass


@dataclass(frozen=True)
class Erasure:
    supporter_ids: list[UUID]  # the person's record and any merged into it
    payloads_reduced: int


@dataclass(frozen=True)
class HistoryLine:
    """One thing that happened to a membership, for finance: when it happened (Stripe's time,
    not when we learnt it), what, and the figures."""

    event: str
    at: datetime
    detail: str


def _day(moment: datetime | None) -> str:
    return "unknown" if moment is None else f"{moment:%Y-%m-%d}"


def _campaign(attribution: Attribution) -> str:
    parts = [attribution.article_id, attribution.campaign, attribution.variant]
    return " · ".join(part for part in parts if part) or "no article or campaign"


def _per(e: Any) -> str:
    period = e.period or BillingPeriod()  # None in events stored before other periods
    return f"{e.monthly_amount} {'a' if period.count == 1 else 'every'} {period}"


def _ends(e: Any) -> str:
    resumes = f"; a pause ends {_day(e.resumes_at)}" if e.resumes_at else ""
    return f"the current period ends {_day(e.period_ends_at)}{resumes}"


# What each of a membership's events says, and when it happened, by the event's class.
# Confirmations of what was known (AmountConfirmed, StatusConfirmed) say nothing new.
_MEMBERSHIP_LINES: dict[type[DomainEvent], Callable[[Any], tuple[str, datetime, str]]] = {
    event_class(Membership, "Started"): lambda e: (
        "Started",
        e.started_at,
        f"{_per(e)}, from {_campaign(e.attribution)}",
    ),
    event_class(Membership, "PaymentReceived"): lambda e: (
        "Payment received",
        e.paid_at,
        f"{e.amount}, invoice {e.invoice_id}",
    ),
    event_class(Membership, "PaymentFailed"): lambda e: (
        "Payment failed",
        e.failed_at,
        f"invoice {e.invoice_id}: {e.reason}",
    ),
    event_class(Membership, "AmountChanged"): lambda e: ("Amount changed", e.as_of, _per(e)),
    event_class(Membership, "ScheduleReported"): lambda e: ("Schedule", e.as_of, _ends(e)),
    event_class(Membership, "StartMoved"): lambda e: (
        "Start corrected",
        e.started_at,
        "Stripe reported an earlier start",
    ),
    event_class(Membership, "AttributionLearnt"): lambda e: (
        "Attribution learnt",
        e.timestamp,
        _campaign(e.attribution),
    ),
    event_class(Membership, "Cancelled"): lambda e: ("Cancelled", e.cancelled_at, ""),
    event_class(Membership, "CancellationScheduled"): lambda e: (
        "Cancellation scheduled",
        e.as_of,
        "ends with the current period",
    ),
    event_class(Membership, "Paused"): lambda e: ("Paused", e.as_of, ""),
    event_class(Membership, "Resumed"): lambda e: ("Resumed", e.as_of, f"now {e.status}"),
    event_class(Membership, "StatusChanged"): lambda e: ("Status", e.as_of, str(e.status)),
}


@dataclass(frozen=True)
class MembershipRecord:
    """A membership as the supporter's page shows it beside the view's line."""

    subscription_id: str
    history: list[HistoryLine]


class Supporters:
    def __init__(self, ledger: Ledger, payloads: StripePayloads) -> None:
        self.ledger = ledger
        self.directory = SupporterDirectory(ledger)
        self.payloads = payloads

    def _find(self, unit: UnitOfWork, who: str | UUID) -> Supporter:
        """By id or by any email the person is known by; the survivor of any merge."""
        text = str(who).strip()
        if is_email(text):
            found = self.directory.find(unit, None, text)
        else:
            try:
                found = self.directory.find(unit, UUID(text), "")
            except ValueError:
                raise UnknownSupporterError(f"{text!r} is neither an email nor an id") from None
        if found is None:
            raise UnknownSupporterError("no such supporter")
        return found

    def supporter(self, supporter_id: UUID) -> Supporter:
        """The supporter's record as it stands (merged or erased ones too)."""
        supporter = self.ledger.get_or_none(supporter_id, Supporter)
        if supporter is None:
            raise UnknownSupporterError(f"no supporter {supporter_id}")
        return supporter

    def membership(self, membership_id: UUID) -> MembershipRecord:
        """A membership's Stripe subscription and its history, oldest first."""
        membership = self.ledger.get_typed(membership_id, Membership)
        return MembershipRecord(membership.subscription_id, self._history(membership_id))

    def _history(self, membership_id: UUID) -> list[HistoryLine]:
        return [
            HistoryLine(*_MEMBERSHIP_LINES[type(event)](event))
            for event in self.ledger.events.get(membership_id)
            if isinstance(event, DomainEvent) and type(event) in _MEMBERSHIP_LINES
        ]

    def resolve(self, who: str | UUID) -> UUID:
        return self._find(UnitOfWork(self.ledger), who).id

    def merge(self, duplicate_id: UUID, survivor_id: UUID, by: str, reason: str) -> UUID:
        """Merge `duplicate_id` into `survivor_id`; returns the survivor's id."""

        def work(unit: UnitOfWork) -> UUID:
            duplicate = unit.get_or_none(duplicate_id, Supporter)
            survivor = unit.get_or_none(survivor_id, Supporter)
            if duplicate is None or survivor is None:
                raise UnknownSupporterError("no such supporter")
            duplicate.merge_into(survivor, by=by, reason=reason)
            return survivor.id

        merged = in_one_transaction(self.ledger, work)
        log.info("supporters_merged", duplicate=str(duplicate_id), survivor=str(merged), by=by)
        return merged

    def erase(self, who: str | UUID, by: str, reason: str) -> Erasure:
        """Forget a person: their record and every record merged into it. Safe to repeat:
        a repeat finishes what a crash may have left (keys, payloads)."""

        def work(unit: UnitOfWork) -> tuple[list[UUID], set[str]]:
            records = [self._find(unit, who)]
            for record in records:  # grows: whatever was merged into a merged record too
                records.extend(unit.get_typed(i, Supporter) for i in record.absorbed)
            # What kept payloads may name them by, read before the details are gone.
            needles = {str(r.id) for r in records}
            for record in records:
                needles.update(record.stripe_customer_ids)
                needles.add(record.email.lower())
                record.erase(by=by, reason=reason)
            return [r.id for r in records], needles

        ids, needles = in_one_transaction(self.ledger, work)
        for supporter_id in ids:
            self.ledger.keys.delete(supporter_subject(supporter_id))
        sweep = self.payloads.reduce_mentioning(needles)
        log.info("supporter_erased", supporter_ids=[str(i) for i in ids], by=by)
        return Erasure(supporter_ids=ids, payloads_reduced=sweep.reduced)
