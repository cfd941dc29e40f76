"""Totals for finance and editors: money by day, month or year per currency (gross,
refunded, disputed, lost, net), one-time against monthly, per article, per campaign and
variant; and members: active, monthly recurring revenue, new and lapsed per month.

The view keeps one row per day and (currency, kind, article, campaign, variant): every
report is a GROUP BY over it, so the filters (dates, currency, campaign, article) combine
freely. Money is booked on the day of its own event (see supporters.py); `disputed` is
money put under dispute that day, `lost` what disputes lost; net = gross - refunded - lost.
A gift whose received time or attribution moves takes all its bookings along, and a row
left with nothing in it is deleted, so reports never show empty rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from patronage.domain.gift import Gift
from patronage.domain.membership import MembershipStatus
from patronage.projections import facts
from patronage.projections.base import Handlers, ViewProjection, iso
from patronage.projections.store import (
    DayRange,
    Row,
    Sums,
    Takings,
    ViewSchema,
    ViewStore,
    ViewTx,
    adding,
)

_DIMS = "day, currency, kind, article_id, campaign, variant"

SCHEMA = ViewSchema(
    name="totals",
    tables={
        "daily": f"""CREATE TABLE IF NOT EXISTS {{daily}} (
            day TEXT NOT NULL, currency TEXT NOT NULL, kind TEXT NOT NULL,
            article_id TEXT NOT NULL, campaign TEXT NOT NULL, variant TEXT NOT NULL,
            gifts INTEGER NOT NULL DEFAULT 0, gross BIGINT NOT NULL DEFAULT 0,
            refunded BIGINT NOT NULL DEFAULT 0, disputed BIGINT NOT NULL DEFAULT 0,
            lost BIGINT NOT NULL DEFAULT 0, PRIMARY KEY ({_DIMS}))""",
        **facts.GIFT_TABLES,
        **facts.MEMBERSHIP_TABLES,
    },
    # A gift that moves finds its refunds and disputes.
    indexes={"refunds": {"gift": "gift_id"}, "disputes": {"gift": "gift_id"}},
)

_KEY = " AND ".join(f"{d} = :{d}" for d in ("day", "currency", "kind", "article_id",
                                             "campaign", "variant"))  # fmt: skip


def _day_of(gift: Row, at: str) -> Row:
    """The row of `daily` that a gift's money booked at `at` goes to."""
    return {
        "day": at[:10],
        "currency": gift["currency"],
        "kind": gift["kind"],
        "article_id": gift["article_id"],
        "campaign": gift["campaign"],
        "variant": gift["variant"],
    }


def _book(tx: ViewTx, gift: Row, at: str, column: str, minor: int, gifts: int = 0) -> None:
    assert column in ("gross", "refunded", "disputed", "lost")
    key = _day_of(gift, at)
    tx.insert_rows("daily", [key | {"gifts": gifts, column: minor}], adding(_DIMS, "gifts", column))
    if minor < 0:
        tx.run(
            f"DELETE FROM {{daily}} WHERE {_KEY} AND gifts = 0 AND gross = 0 AND refunded = 0"
            " AND disputed = 0 AND lost = 0",
            **key,
        )


def _rebook(tx: ViewTx, gift: Row, sign: int) -> None:
    """Book (+1) or take back (-1) everything booked against one gift."""
    _book(tx, gift, gift["received_at"], "gross", sign * gift["amount"], gifts=sign)
    for r in tx.all(
        "SELECT * FROM {refunds} WHERE gift_id = :id AND reversed = 0", id=gift["gift_id"]
    ):
        _book(tx, gift, r["refunded_at"], "refunded", sign * r["amount"])
    for d in tx.all("SELECT * FROM {disputes} WHERE gift_id = :id", id=gift["gift_id"]):
        _book(tx, gift, d["opened_at"], "disputed", sign * d["amount"])
        if d["lost_at"] is not None:
            _book(tx, gift, d["lost_at"], "lost", sign * d["amount"])


handlers = Handlers()
handlers.extend(facts.gift_facts(_rebook))
handlers.extend(facts.membership_facts)


@handlers.on(Gift, "Received")
def _received(tx: ViewTx, e: Any) -> None:
    gift = facts.gift(tx, e.originator_id)
    _book(tx, gift, gift["received_at"], "gross", gift["amount"], gifts=1)


@handlers.fold(Gift, "Received")
class _GiftsReceived(facts.GiftsReceived):
    """Received gifts as one: each day's row they add to, written once for the run (what
    `_received` books gift by gift)."""

    def __init__(self) -> None:
        super().__init__()
        self.daily = Sums()

    def book(self, gift: Row) -> None:
        self.daily.add(_day_of(gift, gift["received_at"]), gifts=1, gross=gift["amount"])

    def write_bookings(self, tx: ViewTx) -> None:
        tx.insert_rows("daily", self.daily.rows, adding(_DIMS, "gifts", "gross"))


@handlers.on(Gift, "Refunded")
def _refunded(tx: ViewTx, e: Any) -> None:
    _book(tx, facts.gift(tx, e.originator_id), iso(e.refunded_at), "refunded", e.amount.minor)


@handlers.on(Gift, "RefundReversed")
def _refund_reversed(tx: ViewTx, e: Any) -> None:
    refund = tx.one(
        "SELECT * FROM {refunds} WHERE refund_id = :id AND reversed = 1", id=e.refund_id
    )
    if refund is not None:
        gift = facts.gift(tx, refund["gift_id"])
        _book(tx, gift, refund["refunded_at"], "refunded", -refund["amount"])


@handlers.on(Gift, "DisputeOpened")
def _dispute_opened(tx: ViewTx, e: Any) -> None:
    _book(tx, facts.gift(tx, e.originator_id), iso(e.opened_at), "disputed", e.amount.minor)


@handlers.on(Gift, "DisputeUpdated")
def _dispute_updated(tx: ViewTx, e: Any) -> None:
    if change := facts.lost_change(e):  # lost, or given back by an appeal won
        d = facts.dispute(tx, e.dispute_id)
        _book(tx, facts.gift(tx, d["gift_id"]), iso(e.at), "lost", change * d["amount"])


class TotalsProjection(ViewProjection):
    schema = SCHEMA
    handlers = handlers


# Reading -----------------------------------------------------------------------------------

Period = Literal["day", "month", "year"]
_PERIOD_LENGTH = {"day": 10, "month": 7, "year": 4}

# Members still paid up or being retried count as active; paused, incomplete and ended do not.
ACTIVE_STATUSES = (
    MembershipStatus.ACTIVE.value,
    MembershipStatus.PAST_DUE.value,
    MembershipStatus.CANCELLATION_SCHEDULED.value,
)


@dataclass(frozen=True)
class Filters(DayRange):
    currency: str | None = None
    campaign: str | None = None
    article_id: str | None = None

    def where(self) -> tuple[str, dict[str, Any]]:
        where = self.days_of("day")
        where.equal(currency=self.currency, campaign=self.campaign, article_id=self.article_id)
        return where.sql, where.params


@dataclass(frozen=True)
class Amounts(Takings):
    gifts: int
    disputed: int
    one_time_gross: int
    monthly_gross: int


@dataclass(frozen=True)
class TotalsRow:
    key: tuple[str, ...]  # (period,) or (article_id,) or (campaign, variant)
    currency: str
    amounts: Amounts


_SUMS = (
    "SUM(gifts) AS gifts, SUM(gross) AS gross, SUM(refunded) AS refunded,"
    " SUM(disputed) AS disputed, SUM(lost) AS lost,"
    " SUM(CASE WHEN kind = 'one_time' THEN gross ELSE 0 END) AS one_time_gross,"
    " SUM(CASE WHEN kind = 'monthly' THEN gross ELSE 0 END) AS monthly_gross"
)


def _grouped(store: ViewStore, keys: list[str], filters: Filters) -> list[TotalsRow]:
    where, params = filters.where()
    select = ", ".join(f"{k} AS k{i}" for i, k in enumerate(keys))
    group = ", ".join(f"k{i}" for i in range(len(keys)))
    with store.read() as tx:
        rows = tx.all(
            f"SELECT {select}, currency, {_SUMS} FROM {{daily}} WHERE {where}"
            f" GROUP BY {group}, currency ORDER BY {group}, currency",
            **params,
        )
    return [
        TotalsRow(
            key=tuple(str(r[f"k{i}"]) for i in range(len(keys))),
            currency=r["currency"],
            amounts=Amounts(**{f: int(r[f]) for f in Amounts.__dataclass_fields__}),
        )
        for r in rows
    ]


def by_period(store: ViewStore, period: Period, filters: Filters) -> list[TotalsRow]:
    return _grouped(store, [f"SUBSTR(day, 1, {_PERIOD_LENGTH[period]})"], filters)


def by_article(store: ViewStore, filters: Filters) -> list[TotalsRow]:
    return _grouped(store, ["article_id"], filters)


def by_campaign(store: ViewStore, filters: Filters) -> list[TotalsRow]:
    return _grouped(store, ["campaign", "variant"], filters)


@dataclass(frozen=True)
class ActiveMembers:
    """The memberships of one currency that count as active now, and what they give a
    month together (monthly recurring revenue, minor units)."""

    currency: str
    members: int
    monthly_recurring_minor: int


@dataclass(frozen=True)
class MemberMonth:
    """One calendar month (`YYYY-MM`, UTC): memberships that started in it, and those
    that lapsed (were cancelled) in it."""

    month: str
    started: int
    lapsed: int


@dataclass(frozen=True)
class Members:
    active: list[ActiveMembers]
    months: list[MemberMonth]


def members(store: ViewStore) -> Members:
    """Active members and MRR now (per currency); memberships started and lapsed per month."""
    statuses = ", ".join(f"'{s}'" for s in ACTIVE_STATUSES)
    with store.read() as tx:
        active = tx.all(
            "SELECT currency, COUNT(*) AS n, SUM(monthly_minor) AS mrr FROM {memberships}"
            f" WHERE status IN ({statuses}) GROUP BY currency ORDER BY currency"
        )
        started = tx.all(
            "SELECT SUBSTR(started_at, 1, 7) AS month, COUNT(*) AS n FROM {memberships}"
            " GROUP BY SUBSTR(started_at, 1, 7)"
        )
        lapsed = tx.all(
            "SELECT SUBSTR(cancelled_at, 1, 7) AS month, COUNT(*) AS n FROM {memberships}"
            " WHERE cancelled_at IS NOT NULL GROUP BY SUBSTR(cancelled_at, 1, 7)"
        )
    new = {r["month"]: int(r["n"]) for r in started}
    gone = {r["month"]: int(r["n"]) for r in lapsed}
    return Members(
        active=[ActiveMembers(r["currency"], int(r["n"]), int(r["mrr"])) for r in active],
        months=[MemberMonth(m, new.get(m, 0), gone.get(m, 0)) for m in sorted({*new, *gone})],
    )
