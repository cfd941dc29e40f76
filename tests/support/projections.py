"""Test support for the views: random histories, and the views' expected contents folded
from scratch out of the Ledger (its events, and its aggregates' final states)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from patronage.application.giving import (
    CounterpartMissingError,
    RecordDispute,
    RecordGift,
    RecordMembershipFailure,
    RecordMembershipPayment,
    RecordRefund,
    ReportMembership,
    SupporterDetails,
)
from patronage.application.ledger import Ledger
from patronage.bootstrap import Patronage
from patronage.domain.errors import DomainError
from patronage.domain.gift import DISPUTE_LOSING, DisputeStatus, Gift, gift_id_for
from patronage.domain.membership import Membership, MembershipStatus
from patronage.domain.money import Money
from patronage.domain.receipt import TaxReceipt, receipt_id_for
from patronage.domain.supporter import Supporter
from patronage.domain.tax_year import tax_year_of
from patronage.domain.values import Attribution
from patronage.projections.polling import catch_up

EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
CURRENCIES = ("USD", "EUR", "JPY")
CAMPAIGNS = ("", "spring", "fall")


def moment(hours: int) -> datetime:
    return EPOCH + timedelta(hours=hours)


def catch_up_all(patronage: Patronage) -> None:
    for name in patronage.views.stores:
        catch_up(patronage.ledger, patronage.views.projection(name))


# Random histories --------------------------------------------------------------------------

hours = st.integers(0, 2 * 365 * 24 - 1)  # two tax years, 2025 and 2026
# ... and the days around them, where a payment reported again earlier or later may land.
YEARS = range(2024, 2028)
ORG_TIME_ZONE = "America/New_York"  # the settings' default, which tax years follow
# Membership reports often share a second, which the domain settles by a fixed rank.
member_hours = st.one_of(st.sampled_from((24, 25, 9000)), hours)
ATTRIBUTIONS = (Attribution(), Attribution("a1", "spring", "x"), Attribution("a2", "fall", "y"))


@dataclass(frozen=True)
class Step:
    kind: str
    args: tuple[Any, ...]


def _step(kind: str, *parts: st.SearchStrategy[Any]) -> st.SearchStrategy[Step]:
    return st.tuples(*parts).map(lambda args: Step(kind, args))


small = st.integers(0, 4)
steps = st.one_of(
    _step(
        "gift",
        small,
        small,
        st.integers(1, 5000),
        st.sampled_from(CURRENCIES),
        hours,
        st.sampled_from(CAMPAIGNS),
        st.sampled_from(("", "a1", "a2")),
        st.sampled_from("xy"),
    ),
    # A refund of a share (in percent) of the gift, so that most fit in what was paid.
    _step("refund", small, small, st.integers(1, 100), hours, st.booleans()),
    _step("dispute", small, small, st.sampled_from(list(DisputeStatus)), hours),
    # The same payment reported again, up to two days earlier (or later, which changes nothing).
    _step("again", small, small, st.integers(-6, 48), st.booleans()),
    _step(
        "report",
        small,
        small,
        st.integers(100, 2000),
        st.sampled_from(list(MembershipStatus)),
        member_hours,
        st.sampled_from(ATTRIBUTIONS),
    ),
    # An invoice may be the first news of its subscription: no status, an amount that only
    # starts the membership, no attribution (a later report brings it).
    _step("pay", small, small, member_hours, st.booleans()),
    _step("fail", small, small, member_hours),
    _step("receipt", small),
    _step("void", st.integers(1, 3), st.booleans()),
    _step("rename", small, st.sampled_from(("Ann", "Bea", "Cy"))),
    _step("catch_up"),
)


def _supporter(i: int) -> SupporterDetails:
    return SupporterDetails(
        email=f"Supporter{i}@Example.org", name=f"S{i}", stripe_customer_id=f"cus_{i}"
    )


def _membership(
    sub: int,
    supporter: int,
    minor: int,
    status: MembershipStatus | None,
    at: datetime,
    attribution: Attribution | None = None,
) -> ReportMembership:
    currency = CURRENCIES[sub % len(CURRENCIES)]
    return ReportMembership(
        f"sub_{sub}",
        _supporter(supporter),
        Money(minor, currency),
        status,
        at,
        attribution=attribution or Attribution(),
        amount_is_current=status is not None,
    )


def _pay(patronage: Patronage, sub: int, invoice: int, at: datetime, from_invoice: bool) -> None:
    status = None if from_invoice else MembershipStatus.ACTIVE
    report = _membership(sub, sub, 500, status, at)
    patronage.giving.record_membership_payment(
        RecordMembershipPayment(
            report, f"in_{sub}_{invoice}", f"pi_m{sub}_{invoice}", report.monthly_amount, at
        )
    )


def run_step(patronage: Patronage, step: Step) -> None:
    """Run one command; one the domain refuses changes nothing, which is part of the test."""
    giving, a = patronage.giving, step.args
    try:
        if step.kind == "gift":
            pay, who, minor, currency, h, campaign, article, variant = a
            giving.record_gift(
                RecordGift(
                    f"pi_{pay}",
                    _supporter(who),
                    Money(minor, currency),
                    moment(h),
                    Attribution(article, campaign, variant),
                )
            )
        elif step.kind == "refund":
            pay, ref, percent, h, ok = a
            gift = patronage.ledger.get_or_none(gift_id_for(f"pi_{pay}"), Gift)
            paid = gift.amount if gift else Money(100, "USD")
            minor = max(1, paid.minor * percent // 100)
            giving.record_refund(
                RecordRefund(
                    f"pi_{pay}",
                    f"re_{pay}_{ref}",
                    Money(minor, paid.currency),
                    moment(h),
                    succeeded=ok,
                )
            )
        elif step.kind == "dispute":
            pay, dis, status, h = a
            gift = patronage.ledger.get_or_none(gift_id_for(f"pi_{pay}"), Gift)
            if gift is not None:
                giving.record_dispute(
                    RecordDispute(
                        f"pi_{pay}", f"dp_{pay}_{dis}", gift.amount, status, "fraudulent", moment(h)
                    )
                )
        elif step.kind == "again":
            pay, invoice, back, monthly = a
            payment_id = f"pi_m{pay}_{invoice}" if monthly else f"pi_{pay}"
            gift = patronage.ledger.get_or_none(gift_id_for(payment_id), Gift)
            if gift is None:
                return
            at = gift.received_at - timedelta(hours=back)
            if monthly:
                _pay(patronage, pay, invoice, at, from_invoice=True)
            else:
                giving.record_gift(
                    RecordGift(payment_id, _supporter(0), gift.amount, at, gift.attribution)
                )
        elif step.kind == "report":
            sub, who, minor, status, h, attribution = a
            giving.report_membership(_membership(sub, who, minor, status, moment(h), attribution))
        elif step.kind == "pay":
            sub, invoice, h, from_invoice = a
            _pay(patronage, sub, invoice, moment(h), from_invoice)
        elif step.kind == "fail":
            sub, invoice, h = a
            report = _membership(sub, sub, 500, MembershipStatus.PAST_DUE, moment(h))
            giving.record_membership_failure(
                RecordMembershipFailure(report, f"in_{sub}_{invoice}", "card_declined", moment(h))
            )
        elif step.kind == "receipt":
            gift = patronage.ledger.get_or_none(gift_id_for(f"pi_{a[0]}"), Gift)
            if gift is not None:
                patronage.receipting.issue_single(gift.id)
        elif step.kind == "void":
            for year in YEARS:
                number = f"S{year}-{a[0]:06d}"
                if patronage.ledger.get_or_none(receipt_id_for(number), TaxReceipt) is None:
                    continue
                if a[1]:
                    patronage.receipting.replace(number, "typo in name", "staff")
                else:
                    patronage.receipting.void(number, "issued in error", "staff")
        elif step.kind == "rename":
            giving.register_supporter(
                SupporterDetails(email=f"supporter{a[0]}@example.org", name=a[1])
            )
        elif step.kind == "catch_up":
            catch_up_all(patronage)
    except (DomainError, CounterpartMissingError):
        pass


# The expected views, folded from scratch -----------------------------------------------------


def events(ledger: Ledger) -> list[Any]:
    notifications = ledger.recorder.select_notifications(start=1, limit=1_000_000)
    return [ledger.mapper.to_domain_event(n) for n in notifications]


def _name(e: Any) -> str:
    return type(e).__qualname__


@dataclass
class Expected:
    """What each view must show, computed without any SQL."""

    supporters: dict[str, dict[str, Any]]
    by_day: dict[tuple[str, str], dict[str, int]]
    by_article: dict[tuple[str, str], dict[str, int]]
    by_campaign: dict[tuple[str, str, str], dict[str, int]]
    active: dict[str, tuple[int, int]]
    months: dict[str, tuple[int, int]]
    receipts: dict[str, dict[str, Any]]
    unreceipted: dict[tuple[int, str, str], tuple[int, int, int]]
    raised: dict[str, tuple[dict[str, int], int, int]]


_ACTIVE = (
    MembershipStatus.ACTIVE,
    MembershipStatus.PAST_DUE,
    MembershipStatus.CANCELLATION_SCHEDULED,
)


def expected(ledger: Ledger, this_year: int) -> Expected:
    history = events(ledger)
    gifts: dict[UUID, Gift] = {
        e.originator_id: ledger.repository.get(e.originator_id)
        for e in history
        if _name(e) == "Gift.Received"
    }
    memberships: list[Membership] = [
        ledger.repository.get(e.originator_id) for e in history if _name(e) == "Membership.Started"
    ]
    supporters: list[Supporter] = [
        ledger.repository.get(e.originator_id)
        for e in history
        if _name(e) == "Supporter.Registered"
    ]
    receipts: list[TaxReceipt] = [
        ledger.repository.get(e.originator_id) for e in history if _name(e) == "TaxReceipt.Issued"
    ]

    # Money movements with the day each is booked on, from the events.
    refunds: dict[str, tuple[UUID, int, datetime]] = {}
    disputes: dict[str, tuple[UUID, int]] = {}
    losing: dict[str, bool] = {}
    moves: list[tuple[UUID, datetime, str, int]] = []  # (gift, when, column, minor)
    for e in history:
        n = _name(e)
        if n == "Gift.Received":
            # On the day the gift was received in the end: earlier reports move it.
            gift = gifts[e.originator_id]
            moves.append((gift.id, gift.received_at, "gross", gift.amount.minor))
        elif n == "Gift.Refunded":
            refunds[e.refund_id] = (e.originator_id, e.amount.minor, e.refunded_at)
            moves.append((e.originator_id, e.refunded_at, "refunded", e.amount.minor))
        elif n == "Gift.RefundReversed" and e.refund_id in refunds:
            gid, minor, at = refunds.pop(e.refund_id)
            moves.append((gid, at, "refunded", -minor))
        elif n == "Gift.DisputeOpened":
            disputes[e.dispute_id] = (e.originator_id, e.amount.minor)
            moves.append((e.originator_id, e.opened_at, "disputed", e.amount.minor))
        elif n == "Gift.DisputeUpdated":
            # Lost (or appealing) takes the money; an appeal won gives it back.
            gid, minor = disputes[e.dispute_id]
            was, now = losing.get(e.dispute_id, False), e.status in DISPUTE_LOSING
            losing[e.dispute_id] = now
            if now != was:
                moves.append((gid, e.at, "lost", minor if now else -minor))

    zero = {"gifts": 0, "gross": 0, "refunded": 0, "disputed": 0, "lost": 0}
    by_day: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: dict(zero))
    by_article: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: dict(zero))
    by_campaign: dict[tuple[str, str, str], dict[str, int]] = defaultdict(lambda: dict(zero))
    per_supporter: dict[str, dict[tuple[str, int], dict[str, int]]] = defaultdict(
        lambda: defaultdict(lambda: {"gross": 0, "refunded": 0, "lost": 0})
    )
    for gid, when, column, minor in moves:
        g = gifts[gid]
        c = g.amount.currency
        day = when.astimezone(UTC).date().isoformat()
        for bucket in (
            by_day[(day, c)],
            by_article[(g.attribution.article_id, c)],
            by_campaign[(g.attribution.campaign, g.attribution.variant, c)],
        ):
            bucket[column] += minor
            bucket["gifts"] += column == "gross"
        if column != "disputed":
            per_supporter[str(g.supporter_id)][(c, when.astimezone(UTC).year)][column] += minor

    # A row of nothing (a refund that failed, a gift moved away) is no row.
    def nonzero(buckets: dict[Any, dict[str, int]]) -> dict[Any, dict[str, int]]:
        return {k: v for k, v in buckets.items() if any(v.values())}

    def membership_of(sid: UUID) -> Membership | None:
        mine = [m for m in memberships if m.supporter_id == sid]
        mine.sort(key=lambda m: str(m.id))
        mine.sort(key=lambda m: m.started_at, reverse=True)
        mine.sort(key=lambda m: m.is_cancelled)
        return mine[0] if mine else None

    def totals(sid: str, year: int | None) -> dict[str, tuple[int, int, int]]:
        out: dict[str, list[int]] = {}
        for (c, y), v in nonzero(per_supporter[sid]).items():
            if year is None or y == year:
                acc = out.setdefault(c, [0, 0, 0])
                acc[0] += v["gross"]
                acc[1] += v["refunded"]
                acc[2] += v["lost"]
        return {c: (v[0], v[1], v[2]) for c, v in out.items()}

    expected_supporters = {}
    for s in supporters:
        mine = [g for g in gifts.values() if g.supporter_id == s.id]
        m = membership_of(s.id)
        expected_supporters[str(s.id)] = {
            "email": s.email,
            "name": s.name,
            "stripe_customer_ids": s.stripe_customer_ids,
            "gift_count": len(mine),
            "first_gift_at": min((g.received_at for g in mine), default=None),
            "last_gift_at": max((g.received_at for g in mine), default=None),
            "membership_status": m.status.value if m else None,
            "membership_monthly": (
                Money(m.period.monthly_minor(m.monthly_amount.minor), m.monthly_amount.currency)
                if m
                else None
            ),
            "receipts_issued": sum(
                1 for r in receipts if r.donor.supporter_id == str(s.id) and not r.is_void
            ),
            "lifetime": totals(str(s.id), None),
            "this_year": totals(str(s.id), this_year),
        }

    active: dict[str, tuple[int, int]] = {}
    for m in memberships:
        if m.status in _ACTIVE:
            n, mrr = active.get(m.monthly_amount.currency, (0, 0))
            monthly = m.period.monthly_minor(m.monthly_amount.minor)
            active[m.monthly_amount.currency] = (n + 1, mrr + monthly)
    months: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for m in memberships:  # started at the earliest time any report named
        months[m.started_at.astimezone(UTC).strftime("%Y-%m")][0] += 1
    for e in history:
        if _name(e) == "Membership.Cancelled":
            months[e.cancelled_at.astimezone(UTC).strftime("%Y-%m")][1] += 1

    expected_receipts = {
        r.number: {
            "supporter_id": r.donor.supporter_id,
            "tax_year": r.tax_year,
            "amount_minor": r.total.minor,
            "eligible_minor": r.eligible_amount.minor,
            "status": ("replaced" if r.replaced_by_number else r.status.value),
            "replaces_number": r.replaces_number,
        }
        for r in receipts
    }

    unreceipted: dict[tuple[int, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    raised: dict[str, tuple[dict[str, int], set[UUID], int]] = {}
    for g in gifts.values():
        if g.receipt_id is None and g.net.is_positive():
            year = tax_year_of(g.received_at, ZoneInfo(ORG_TIME_ZONE))
            u = unreceipted[(year, str(g.supporter_id), g.amount.currency)]
            u[0] += 1
            u[1] += g.net.minor
            u[2] += g.has_open_dispute
        if g.attribution.campaign:
            amounts, backers, count = raised.get(g.attribution.campaign, ({}, set(), 0))
            amounts[g.amount.currency] = amounts.get(g.amount.currency, 0) + g.net.minor
            backers.add(g.supporter_id)
            raised[g.attribution.campaign] = (amounts, backers, count + 1)

    return Expected(
        supporters=expected_supporters,
        by_day=nonzero(by_day),
        by_article=nonzero(by_article),
        by_campaign=nonzero(by_campaign),
        active=active,
        months={k: (v[0], v[1]) for k, v in months.items()},
        receipts=expected_receipts,
        unreceipted={k: (v[0], v[1], v[2]) for k, v in unreceipted.items()},
        raised={k: (a, len(b), n) for k, (a, b, n) in raised.items()},
    )


def seed_many(
    ledger: Ledger, supporters: int, gifts_each: int, batch: int = 200, prefix: str = "bulk"
) -> int:
    """A large history, fast: aggregates built directly and saved many per transaction.
    Returns the head of the log."""
    pending: list[Any] = []
    for i in range(supporters):
        supporter = Supporter.register(
            uuid4(), f"{prefix}{i}@example.org", f"Bulk {i}", consent_to_contact=False
        )
        pending.append(supporter)
        for j in range(gifts_each):
            currency = CURRENCIES[(i + j) % len(CURRENCIES)]
            gift = Gift(
                payment_id=f"pi_{prefix}_{i}_{j}",
                supporter_id=supporter.id,
                amount=Money(100 + i + j, currency),
                received_at=moment((i * 37 + j * 101) % (2 * 365 * 24)),
                kind="one_time",
                attribution=Attribution("story-1", CAMPAIGNS[(i + j) % 3], "a"),
                benefit_value=Money.zero(currency),
                fee_covered=Money.zero(currency),
            )
            if j % 5 == 0:
                gift.refund(f"re_{prefix}_{i}_{j}", Money(50, currency), moment(j))
            pending.append(gift)
        if len(pending) >= batch:
            ledger.save(*pending)
            pending = []
    if pending:
        ledger.save(*pending)
    return ledger.head()
