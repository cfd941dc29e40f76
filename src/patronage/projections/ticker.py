"""The campaign ticker: money raised and distinct supporters per campaign code, from the
attribution of gifts. Raised is net of refunds and lost disputes, per currency. The goal
belongs to the Campaign aggregate; `raised()` is what a ticker combines with it.
A monthly gift that learns its attribution late counts for its campaign from then on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from patronage.domain.gift import Gift
from patronage.domain.money import Money
from patronage.domain.supporter import Supporter
from patronage.projections import facts
from patronage.projections.base import Handlers, ViewProjection
from patronage.projections.store import Row, Sums, ViewSchema, ViewStore, ViewTx, adding

SCHEMA = ViewSchema(
    name="ticker",
    tables={
        "campaigns": """CREATE TABLE IF NOT EXISTS {campaigns} (
            campaign TEXT NOT NULL, currency TEXT NOT NULL, raised BIGINT NOT NULL DEFAULT 0,
            gifts INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (campaign, currency))""",
        "backers": """CREATE TABLE IF NOT EXISTS {backers} (
            campaign TEXT NOT NULL, supporter_id TEXT NOT NULL,
            PRIMARY KEY (campaign, supporter_id))""",
        **facts.GIFT_TABLES,
    },
)


_ADD_TO_TOTAL = adding("campaign, currency", "raised", "gifts")
_ONCE = "ON CONFLICT (campaign, supporter_id) DO NOTHING"


def _total_of(gift: Row) -> Row:
    return {"campaign": gift["campaign"], "currency": gift["currency"]}


def _backer_of(gift: Row) -> Row:
    return {"campaign": gift["campaign"], "supporter_id": gift["supporter_id"]}


def _raise(tx: ViewTx, gift: Row, minor: int, gifts: int = 0) -> None:
    if not gift["campaign"]:
        return
    total = _total_of(gift) | {"raised": minor, "gifts": gifts}
    tx.insert_rows("campaigns", [total], on_conflict=_ADD_TO_TOTAL)


def _rebook(tx: ViewTx, gift: Row, sign: int) -> None:
    """Count (+1) or take back (-1) one gift's net money and its supporter for its campaign."""
    if not gift["campaign"]:
        return
    _raise(tx, gift, sign * (gift["amount"] - gift["refunded"] - gift["lost"]), gifts=sign)
    backer = _backer_of(gift)
    if sign > 0:
        tx.insert_rows("backers", [backer], on_conflict=_ONCE)
        return
    tx.run(
        "DELETE FROM {campaigns} WHERE campaign = :campaign AND currency = :currency AND gifts = 0",
        campaign=gift["campaign"],
        currency=gift["currency"],
    )
    # The supporter still backs the campaign if another of their gifts is in it.
    tx.run(
        "DELETE FROM {backers} WHERE campaign = :campaign AND supporter_id = :supporter_id"
        " AND NOT EXISTS (SELECT 1 FROM {gifts} WHERE campaign = :campaign"
        " AND supporter_id = :supporter_id AND gift_id <> :gift_id)",
        gift_id=gift["gift_id"],
        **backer,
    )


handlers = Handlers()
handlers.extend(facts.gift_facts(_rebook))


@handlers.on(Supporter, "Absorbed")
def _absorbed(tx: ViewTx, e: Any) -> None:
    """A merge: one person backs a campaign once, whichever record their gifts were on."""
    survivor, duplicate = str(e.originator_id), str(e.duplicate_id)
    facts.move_supporter(tx, duplicate, survivor, ["gifts"])
    tx.run(
        "INSERT INTO {backers} (campaign, supporter_id)"
        " SELECT campaign, :survivor FROM {backers} WHERE supporter_id = :duplicate"
        " ON CONFLICT (campaign, supporter_id) DO NOTHING",
        survivor=survivor,
        duplicate=duplicate,
    )
    tx.run("DELETE FROM {backers} WHERE supporter_id = :duplicate", duplicate=duplicate)


@handlers.on(Gift, "Received")
def _received(tx: ViewTx, e: Any) -> None:
    _rebook(tx, facts.gift(tx, e.originator_id), +1)


@handlers.fold(Gift, "Received")
class _GiftsReceived(facts.GiftsReceived):
    """Received gifts as one: each campaign's total and each new backer written once for
    the run (what `_received` books gift by gift)."""

    def __init__(self) -> None:
        super().__init__()
        self.totals, self.backers = Sums(), Sums()

    def book(self, gift: Row) -> None:
        if gift["campaign"]:
            self.totals.add(_total_of(gift), raised=gift["amount"], gifts=1)
            self.backers.add(_backer_of(gift))

    def write_bookings(self, tx: ViewTx) -> None:
        tx.insert_rows("campaigns", self.totals.rows, on_conflict=_ADD_TO_TOTAL)
        tx.insert_rows("backers", self.backers.rows, on_conflict=_ONCE)


@handlers.on(Gift, "Refunded")
def _refunded(tx: ViewTx, e: Any) -> None:
    _raise(tx, facts.gift(tx, e.originator_id), -e.amount.minor)


@handlers.on(Gift, "RefundReversed")
def _refund_reversed(tx: ViewTx, e: Any) -> None:
    refund = tx.one(
        "SELECT * FROM {refunds} WHERE refund_id = :id AND reversed = 1", id=e.refund_id
    )
    if refund is not None:
        _raise(tx, facts.gift(tx, refund["gift_id"]), refund["amount"])


@handlers.on(Gift, "DisputeUpdated")
def _dispute_updated(tx: ViewTx, e: Any) -> None:
    if change := facts.lost_change(e):  # lost, or given back by an appeal won
        d = facts.dispute(tx, e.dispute_id)
        _raise(tx, facts.gift(tx, d["gift_id"]), -change * d["amount"])


class TickerProjection(ViewProjection):
    schema = SCHEMA
    handlers = handlers


@dataclass(frozen=True)
class Raised:
    campaign: str
    amounts: list[Money]  # one per currency, sorted by currency
    gifts: int
    supporters: int


def raised(store: ViewStore, campaign: str) -> Raised:
    with store.read() as tx:
        rows = tx.all(
            "SELECT currency, raised, gifts FROM {campaigns} WHERE campaign = :c ORDER BY currency",
            c=campaign,
        )
        supporters = tx.value("SELECT COUNT(*) AS n FROM {backers} WHERE campaign = :c", c=campaign)
    return Raised(
        campaign=campaign,
        amounts=[Money(int(r["raised"]), r["currency"]) for r in rows],
        gifts=sum(int(r["gifts"]) for r in rows),
        supporters=int(supporters),
    )
