"""Reading gifts and memberships line by line from the supporters view: the staff gift
list with its filters and totals, a supporter's history, and the streamed exports.

Exports page through the view by key (received time, id), one short read each, so a large
export never holds a transaction open while the client downloads.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from patronage.projections.store import DayRange, Takings, ViewStore, Where, from_row

GiftStatus = Literal["refunded", "disputed", "receipted", "unreceipted"]
_STATUS: dict[str, str] = {
    "refunded": "g.refunded > 0",
    "disputed": "(g.open_disputes > 0 OR g.lost > 0)",
    "receipted": "g.receipt_id IS NOT NULL",
    "unreceipted": "g.receipt_id IS NULL",
}
BATCH = 500


@dataclass(frozen=True)
class GiftFilters(DayRange):
    kind: str | None = None
    campaign: str | None = None
    status: GiftStatus | None = None
    currency: str | None = None
    supporter_id: str | None = None

    def where(self) -> tuple[str, dict[str, Any]]:
        where = self.days_of("g.received_at")
        where.equal(
            "g",
            kind=self.kind,
            campaign=self.campaign,
            currency=self.currency,
            supporter_id=self.supporter_id,
        )
        if self.status:
            where.add(_STATUS[self.status])
        return where.sql, where.params


@dataclass(frozen=True)
class GiftLine:
    gift_id: str
    received_at: str
    supporter_id: str
    email: str
    name: str
    kind: str
    currency: str
    amount: int
    fee_covered: int
    refunded: int
    lost: int
    open_disputes: int
    article_id: str
    campaign: str
    variant: str
    payment_id: str
    tribute_kind: str
    tribute_name: str
    receipt_number: str

    @property
    def net(self) -> int:
        return Takings(self.amount, self.refunded, self.lost).net


_GIFT_SELECT = (
    "SELECT g.*, s.email, s.name, COALESCE(d.payment_id, '') AS payment_id,"
    " COALESCE(d.fee_covered, 0) AS fee_covered, COALESCE(d.tribute_kind, '') AS tribute_kind,"
    " COALESCE(d.tribute_name, '') AS tribute_name, COALESCE(r.number, '') AS receipt_number"
    " FROM {gifts} g JOIN {supporters} s ON s.supporter_id = g.supporter_id"
    " LEFT JOIN {gift_details} d ON d.gift_id = g.gift_id"
    " LEFT JOIN {receipt_numbers} r ON r.receipt_id = g.receipt_id"
)


def gift_page(
    store: ViewStore, filters: GiftFilters, *, limit: int = 50, offset: int = 0
) -> tuple[int, list[GiftLine]]:
    """A page of gifts matching `filters`, newest first, and how many match in all."""
    where, params = filters.where()
    with store.read() as tx:
        total = tx.value(f"SELECT COUNT(*) AS n FROM {{gifts}} g WHERE {where}", **params)
        rows = tx.all(
            f"{_GIFT_SELECT} WHERE {where} ORDER BY g.received_at DESC, g.gift_id DESC"
            " LIMIT :limit OFFSET :offset",
            limit=limit,
            offset=offset,
            **params,
        )
    return int(total), [from_row(GiftLine, r) for r in rows]


def iter_gifts(store: ViewStore, filters: GiftFilters) -> Iterator[GiftLine]:
    """Every gift matching `filters`, oldest first, read in batches."""
    where, params = filters.where()
    after: tuple[str, str] = ("", "")
    while True:
        with store.read() as tx:
            rows = tx.all(
                f"{_GIFT_SELECT} WHERE {where} AND (g.received_at > :at OR"
                " (g.received_at = :at AND g.gift_id > :gid))"
                " ORDER BY g.received_at, g.gift_id LIMIT :batch",
                at=after[0],
                gid=after[1],
                batch=BATCH,
                **params,
            )
        yield from (from_row(GiftLine, r) for r in rows)
        if len(rows) < BATCH:
            return
        after = (rows[-1]["received_at"], rows[-1]["gift_id"])


@dataclass(frozen=True)
class GiftTotals(Takings):
    currency: str
    gifts: int


def gift_totals(store: ViewStore, filters: GiftFilters) -> list[GiftTotals]:
    """The matching gifts' money per currency."""
    where, params = filters.where()
    with store.read() as tx:
        rows = tx.all(
            "SELECT g.currency, COUNT(*) AS gifts, SUM(g.amount) AS gross,"
            " SUM(g.refunded) AS refunded, SUM(g.lost) AS lost"
            f" FROM {{gifts}} g WHERE {where} GROUP BY g.currency ORDER BY g.currency",
            **params,
        )
    return [
        GiftTotals(
            currency=r["currency"],
            gifts=int(r["gifts"]),
            gross=int(r["gross"]),
            refunded=int(r["refunded"]),
            lost=int(r["lost"]),
        )
        for r in rows
    ]


@dataclass(frozen=True)
class Movement:
    """A refund or dispute of a gift, for a supporter's history."""

    gift_id: str
    kind: Literal["refund", "dispute"]
    reference: str
    amount: int
    at: str
    status: str


def movements(store: ViewStore, gift_ids: list[str]) -> list[Movement]:
    if not gift_ids:
        return []
    names = {f"g{i}": g for i, g in enumerate(gift_ids)}
    placeholders = ", ".join(f":{n}" for n in names)
    with store.read() as tx:
        refunds = tx.all(f"SELECT * FROM {{refunds}} WHERE gift_id IN ({placeholders})", **names)
        disputes = tx.all(f"SELECT * FROM {{disputes}} WHERE gift_id IN ({placeholders})", **names)
    return [
        Movement(
            r["gift_id"],
            "refund",
            r["refund_id"],
            int(r["amount"]),
            r["refunded_at"],
            "reversed" if r["reversed"] else "refunded",
        )
        for r in refunds
    ] + [
        Movement(
            d["gift_id"], "dispute", d["dispute_id"], int(d["amount"]), d["opened_at"], d["status"]
        )
        for d in disputes
    ]


@dataclass(frozen=True)
class MembershipLine:
    membership_id: str
    supporter_id: str
    email: str
    name: str
    status: str
    monthly: int
    currency: str
    started_at: str
    cancelled_at: str


def iter_memberships(
    store: ViewStore, *, status: str | None = None, supporter_id: str | None = None
) -> Iterator[MembershipLine]:
    """Every membership (optionally in one status or of one supporter), oldest first."""
    chosen = Where()
    chosen.add("m.status = :status", status=status or None)
    chosen.add("m.supporter_id = :sid", sid=supporter_id or None)
    where, params = chosen.sql, chosen.params
    after = ("", "")
    while True:
        with store.read() as tx:
            rows = tx.all(
                "SELECT m.*, s.email, s.name FROM {memberships} m JOIN {supporters} s"
                f" ON s.supporter_id = m.supporter_id WHERE {where} AND (m.started_at > :at"
                " OR (m.started_at = :at AND m.membership_id > :mid))"
                " ORDER BY m.started_at, m.membership_id LIMIT :batch",
                at=after[0],
                mid=after[1],
                batch=BATCH,
                **params,
            )
        for r in rows:
            yield from_row(MembershipLine, r, monthly="monthly_minor")
        if len(rows) < BATCH:
            return
        after = (rows[-1]["started_at"], rows[-1]["membership_id"])
