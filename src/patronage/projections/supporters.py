"""The supporter view: who gives, how much (lifetime and this year, per currency), their
membership and receipts; searched by email, name or Stripe customer id, sorted and paged.

Money is booked in the year of its own event: a gift in the year it was received, a refund
in the year it was made, a lost dispute in the year it was lost; net = gross - refunded -
lost. A refund that failed later (RefundReversed) is taken out of the year it was booked;
a gift whose received time moves earlier (ReceivedAtCorrected) moves to that year, and its
supporter's first and last gift follow. A year left with nothing in it is deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from patronage.domain.gift import Gift
from patronage.domain.membership import ENDED, Membership
from patronage.domain.money import Money
from patronage.domain.receipt import TaxReceipt
from patronage.domain.supporter import Supporter
from patronage.projections import facts, gift_details
from patronage.projections.base import Handlers, ViewProjection, iso, update_of
from patronage.projections.store import Row, Sums, Takings, ViewSchema, ViewStore, ViewTx, adding

SCHEMA = ViewSchema(
    name="supporters",
    tables={
        "supporters": """CREATE TABLE IF NOT EXISTS {supporters} (
            supporter_id TEXT PRIMARY KEY, email TEXT NOT NULL, name TEXT NOT NULL,
            name_key TEXT NOT NULL, customer_ids TEXT NOT NULL DEFAULT ' ',
            first_gift_at TEXT, last_gift_at TEXT, gift_count INTEGER NOT NULL DEFAULT 0,
            membership_status TEXT, membership_minor BIGINT, membership_currency TEXT,
            receipts_issued INTEGER NOT NULL DEFAULT 0)""",
        "money": """CREATE TABLE IF NOT EXISTS {money} (
            supporter_id TEXT NOT NULL, currency TEXT NOT NULL, year INTEGER NOT NULL,
            gross BIGINT NOT NULL DEFAULT 0, refunded BIGINT NOT NULL DEFAULT 0,
            lost BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (supporter_id, currency, year))""",
        "receipts": """CREATE TABLE IF NOT EXISTS {receipts} (
            receipt_id TEXT PRIMARY KEY, supporter_id TEXT NOT NULL)""",
        **facts.GIFT_TABLES,
        **facts.MEMBERSHIP_TABLES,
        **gift_details.TABLES,
    },
    indexes={
        "supporters": {"email": "email", "name": "name_key"},
        "money": {"supporter": "supporter_id"},
        "memberships": {"supporter": "supporter_id"},
        "gifts": {"supporter": "supporter_id, received_at", "received": "received_at"},
    },
)


def _book(tx: ViewTx, supporter_id: str, currency: str, at: str, column: str, minor: int) -> None:
    assert column in ("gross", "refunded", "lost")
    key = {"sid": supporter_id, "currency": currency, "year": int(at[:4])}
    tx.run(
        "INSERT INTO {money} AS cur (supporter_id, currency, year, " + column + ")"
        " VALUES (:sid, :currency, :year, :minor) ON CONFLICT (supporter_id, currency, year)"
        " DO UPDATE SET " + column + " = cur." + column + " + excluded." + column,
        minor=minor,
        **key,
    )
    if minor < 0:
        tx.run(
            "DELETE FROM {money} WHERE supporter_id = :sid AND currency = :currency"
            " AND year = :year AND gross = 0 AND refunded = 0 AND lost = 0",
            **key,
        )


def _rebook(tx: ViewTx, gift: Row, sign: int) -> None:
    """Book (+1) or take back (-1) a gift's money in the year it was received; refunds and
    losses are booked in their own years, which do not move."""
    sid = gift["supporter_id"]
    _book(tx, sid, gift["currency"], gift["received_at"], "gross", sign * gift["amount"])
    if sign > 0:
        tx.run(
            "UPDATE {supporters} SET"
            " first_gift_at = (SELECT MIN(received_at) FROM {gifts} WHERE supporter_id = :id),"
            " last_gift_at = (SELECT MAX(received_at) FROM {gifts} WHERE supporter_id = :id)"
            " WHERE supporter_id = :id",
            id=sid,
        )


_set_supporter = update_of("supporters", "supporter_id")

handlers = Handlers()
handlers.extend(facts.gift_facts(_rebook))
handlers.extend(facts.membership_facts)
handlers.extend(gift_details.handlers)


def _supporter_row(e: Any) -> Row:
    """The row a `Supporter.Registered` inserts."""
    return {
        "supporter_id": str(e.originator_id),
        "email": e.email.strip().lower(),
        "name": e.name.strip(),
        "name_key": e.name.strip().lower(),
    }


@handlers.on(Supporter, "Registered")
def _registered(tx: ViewTx, e: Any) -> None:
    tx.insert("supporters", **_supporter_row(e))


@handlers.on(Supporter, "Renamed")
def _renamed(tx: ViewTx, e: Any) -> None:
    _set_supporter(tx, e, name=e.name, name_key=e.name.lower())


@handlers.on(Supporter, "EmailChanged")
def _email_changed(tx: ViewTx, e: Any) -> None:
    _set_supporter(tx, e, email=e.email)


@handlers.on(Supporter, "StripeCustomerLinked")
def _customer_linked(tx: ViewTx, e: Any) -> None:
    # Space-delimited so that a search for ' cus_x ' matches one whole id.
    tx.run(
        "UPDATE {supporters} SET customer_ids = customer_ids || :cid WHERE supporter_id = :id",
        cid=f"{e.customer_id} ",
        id=str(e.originator_id),
    )


@handlers.on(Gift, "Received")
def _gift_received(tx: ViewTx, e: Any) -> None:
    at = iso(e.received_at)
    sid = str(e.supporter_id)
    _book(tx, sid, e.amount.currency, at, "gross", e.amount.minor)
    tx.run(
        "UPDATE {supporters} SET gift_count = gift_count + 1,"
        " first_gift_at = CASE WHEN first_gift_at IS NULL OR first_gift_at > :at"
        "  THEN :at ELSE first_gift_at END,"
        " last_gift_at = CASE WHEN last_gift_at IS NULL OR last_gift_at < :at"
        "  THEN :at ELSE last_gift_at END"
        " WHERE supporter_id = :id",
        at=at,
        id=sid,
    )


_MONEY_KEY = "supporter_id, currency, year"
# A run's gifts per supporter added to their row: the count, and the first and last gift.
_GIFTS_OF = (
    "gift_count = cur.gift_count + v.gifts,"
    " first_gift_at = CASE WHEN cur.first_gift_at IS NULL OR cur.first_gift_at > v.first_at"
    "  THEN v.first_at ELSE cur.first_gift_at END,"
    " last_gift_at = CASE WHEN cur.last_gift_at IS NULL OR cur.last_gift_at < v.last_at"
    "  THEN v.last_at ELSE cur.last_gift_at END"
)


@handlers.fold(Supporter, "Registered")
@handlers.fold(Gift, "Received")
class _GiftsReceived(facts.GiftsAndNewGivers):
    """Received gifts and new supporters as one: the supporters' rows, the gifts' details,
    each supporter's money per currency and year, and each supporter's count and first and
    last gift, written once for the run (what `_registered`, the details' handler and
    `_gift_received` do event by event)."""

    givers_table = "supporters"

    def __init__(self) -> None:
        super().__init__()
        self.details: list[Row] = []
        self.money = Sums()
        self.givers: dict[str, Row] = {}

    def received(self, e: Any) -> None:
        super().received(e)
        self.details.append(gift_details.details_of(e))

    def giver_row(self, e: Any) -> Row:
        return _supporter_row(e)

    def registered(self, e: Any) -> None:
        # A gift before its giver's registration in the log (never in a burst of first
        # gifts) counted for no row, as `_gift_received` updates only an existing one.
        self.givers.pop(str(e.originator_id), None)
        super().registered(e)

    def book(self, gift: Row) -> None:
        sid, at = gift["supporter_id"], gift["received_at"]
        year = int(at[:4])
        self.money.add({"supporter_id": sid, "currency": gift["currency"], "year": year},
                       gross=gift["amount"])  # fmt: skip
        giver = self.givers.setdefault(
            sid, {"supporter_id": sid, "gifts": 0, "first_at": at, "last_at": at}
        )
        giver["gifts"] += 1
        giver["first_at"], giver["last_at"] = min(giver["first_at"], at), max(giver["last_at"], at)

    def write_bookings(self, tx: ViewTx) -> None:
        tx.insert_rows("gift_details", self.details)
        tx.insert_rows("money", self.money.rows, adding(_MONEY_KEY, "gross"))
        tx.update_rows("supporters", list(self.givers.values()), "supporter_id", _GIFTS_OF)


@handlers.on(Gift, "Refunded")
def _refunded(tx: ViewTx, e: Any) -> None:
    row = facts.gift(tx, e.originator_id)
    _book(tx, row["supporter_id"], row["currency"], iso(e.refunded_at), "refunded", e.amount.minor)


@handlers.on(Gift, "RefundReversed")
def _refund_reversed(tx: ViewTx, e: Any) -> None:
    # The facts handler has marked it reversed; read what it was from the refunds table.
    refund = tx.one(
        "SELECT * FROM {refunds} WHERE refund_id = :id AND reversed = 1", id=e.refund_id
    )
    if refund is None:
        return
    row = facts.gift(tx, refund["gift_id"])
    _book(tx, row["supporter_id"], row["currency"], refund["refunded_at"], "refunded",
          -refund["amount"])  # fmt: skip


@handlers.on(Gift, "DisputeUpdated")
def _dispute_updated(tx: ViewTx, e: Any) -> None:
    if change := facts.lost_change(e):  # lost, or given back by an appeal won
        d = facts.dispute(tx, e.dispute_id)
        row = facts.gift(tx, d["gift_id"])
        _book(tx, row["supporter_id"], row["currency"], iso(e.at), "lost", change * d["amount"])


# A supporter may have had several memberships: show the one that matters now, a live one
# before an ended one, then the most recently started.
_ENDED_SQL = ", ".join(f"'{status.value}'" for status in sorted(ENDED))
_LIVE_FIRST = f"CASE WHEN status IN ({_ENDED_SQL}) THEN 1 ELSE 0 END"


@handlers.on(
    Membership,
    "Started",
    "AmountChanged",
    "StartMoved",
    "Cancelled",
    "CancellationScheduled",
    "Paused",
    "Resumed",
    "StatusChanged",
)
def _membership_changed(tx: ViewTx, e: Any) -> None:
    _show_membership(tx, facts.membership(tx, e.originator_id)["supporter_id"])


def _show_membership(tx: ViewTx, sid: str) -> None:
    current = tx.one(
        "SELECT status, monthly_minor, currency FROM {memberships} WHERE supporter_id = :sid"
        f" ORDER BY {_LIVE_FIRST}, started_at DESC, membership_id LIMIT 1",
        sid=sid,
    )
    if current is None:
        return
    tx.run(
        "UPDATE {supporters} SET membership_status = :status, membership_minor = :minor,"
        " membership_currency = :currency WHERE supporter_id = :sid",
        status=current["status"],
        minor=current["monthly_minor"],
        currency=current["currency"],
        sid=sid,
    )


@handlers.on(Supporter, "Absorbed")
def _absorbed(tx: ViewTx, e: Any) -> None:
    """A merge: the duplicate's money, gifts, memberships and receipts move to the survivor,
    and the duplicate's row goes."""
    survivor, duplicate = str(e.originator_id), str(e.duplicate_id)
    for row in tx.all("SELECT * FROM {money} WHERE supporter_id = :id", id=duplicate):
        for column in ("gross", "refunded", "lost"):
            _book(tx, survivor, row["currency"], f"{row['year']:04d}", column, row[column])
    tx.run("DELETE FROM {money} WHERE supporter_id = :id", id=duplicate)
    facts.move_supporter(tx, duplicate, survivor, ["gifts", "memberships", "receipts"])
    gone = tx.one("SELECT * FROM {supporters} WHERE supporter_id = :id", id=duplicate)
    if gone is not None:
        tx.run(
            "UPDATE {supporters} SET gift_count = gift_count + :gifts,"
            " receipts_issued = receipts_issued + :receipts,"
            " customer_ids = customer_ids || :cids,"
            " first_gift_at = (SELECT MIN(received_at) FROM {gifts} WHERE supporter_id = :id),"
            " last_gift_at = (SELECT MAX(received_at) FROM {gifts} WHERE supporter_id = :id)"
            " WHERE supporter_id = :id",
            gifts=gone["gift_count"],
            receipts=gone["receipts_issued"],
            cids=gone["customer_ids"].lstrip(),
            id=survivor,
        )
        tx.run("DELETE FROM {supporters} WHERE supporter_id = :id", id=duplicate)
    _show_membership(tx, survivor)


@handlers.on(Supporter, "Erased")
def _erased(tx: ViewTx, e: Any) -> None:
    _set_supporter(tx, e, email="", name="", name_key="")


@handlers.on(TaxReceipt, "Issued")
def _receipt_issued(tx: ViewTx, e: Any) -> None:
    sid = e.donor.supporter_id
    tx.insert("receipts", receipt_id=str(e.originator_id), supporter_id=sid)
    tx.run(
        "UPDATE {supporters} SET receipts_issued = receipts_issued + 1 WHERE supporter_id = :sid",
        sid=sid,
    )


@handlers.on(TaxReceipt, "Voided")
def _receipt_voided(tx: ViewTx, e: Any) -> None:
    sid = tx.value("SELECT supporter_id FROM {receipts} WHERE receipt_id = :id",
                   id=str(e.originator_id))  # fmt: skip
    tx.run(
        "UPDATE {supporters} SET receipts_issued = receipts_issued - 1 WHERE supporter_id = :sid",
        sid=sid,
    )


class SupportersProjection(ViewProjection):
    schema = SCHEMA
    handlers = handlers


# Reading -----------------------------------------------------------------------------------

SortKey = Literal["name", "email", "last_gift", "first_gift", "gifts", "lifetime_net"]
_ORDER: dict[str, str] = {
    "name": "s.name_key",
    "email": "s.email",
    "last_gift": "COALESCE(s.last_gift_at, '')",
    "first_gift": "COALESCE(s.first_gift_at, '')",
    "gifts": "s.gift_count",
    "lifetime_net": "COALESCE(t.net, 0)",
}


@dataclass(frozen=True)
class MoneyTotals(Takings):
    currency: str


@dataclass(frozen=True)
class SupporterRow:
    supporter_id: str
    email: str
    name: str
    stripe_customer_ids: list[str]
    gift_count: int
    first_gift_at: str | None
    last_gift_at: str | None
    membership_status: str | None
    membership_monthly: Money | None
    receipts_issued: int
    lifetime: list[MoneyTotals]
    this_year: list[MoneyTotals]


@dataclass(frozen=True)
class SupporterPage:
    total: int
    rows: list[SupporterRow]


def _money(rows: list[Row], year: int | None) -> list[MoneyTotals]:
    sums: dict[str, list[int]] = {}
    for r in rows:
        if year is None or r["year"] == year:
            acc = sums.setdefault(r["currency"], [0, 0, 0])
            acc[0] += r["gross"]
            acc[1] += r["refunded"]
            acc[2] += r["lost"]
    return [
        MoneyTotals(currency=c, gross=gross, refunded=refunded, lost=lost)
        for c, (gross, refunded, lost) in sorted(sums.items())
    ]


def _rows(tx: ViewTx, rows: list[Row], year: int) -> list[SupporterRow]:
    """Supporter rows with their money, read in one query for the whole page."""
    ids = {f"id{i}": r["supporter_id"] for i, r in enumerate(rows)}
    money: dict[str, list[Row]] = {r["supporter_id"]: [] for r in rows}
    if ids:
        placeholders = ", ".join(f":{name}" for name in ids)
        for m in tx.all(f"SELECT * FROM {{money}} WHERE supporter_id IN ({placeholders})", **ids):
            money[m["supporter_id"]].append(m)
    return [_row(r, money[r["supporter_id"]], year) for r in rows]


def _row(r: Row, money: list[Row], year: int) -> SupporterRow:
    monthly = None
    if r["membership_minor"] is not None:
        monthly = Money(int(r["membership_minor"]), r["membership_currency"])
    return SupporterRow(
        supporter_id=r["supporter_id"],
        email=r["email"],
        name=r["name"],
        stripe_customer_ids=r["customer_ids"].split(),
        gift_count=r["gift_count"],
        first_gift_at=r["first_gift_at"],
        last_gift_at=r["last_gift_at"],
        membership_status=r["membership_status"],
        membership_monthly=monthly,
        receipts_issued=r["receipts_issued"],
        lifetime=_money(money, None),
        this_year=_money(money, year),
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(
    store: ViewStore,
    *,
    query: str = "",
    sort: SortKey = "name",
    descending: bool = False,
    limit: int = 50,
    offset: int = 0,
    year: int,
) -> SupporterPage:
    """A page of supporters matching `query` (part of an email or name, or a whole Stripe
    customer id), in a stable order. Lifetime net sorts across currencies by minor units."""
    where = ""
    params: dict[str, Any] = {}
    if query.strip():
        q = _escape_like(query.strip())
        where = (
            "WHERE s.email LIKE :like ESCAPE '\\' OR s.name_key LIKE :like ESCAPE '\\'"
            " OR s.customer_ids LIKE :cid ESCAPE '\\'"
        )
        params = {"like": f"%{q.lower()}%", "cid": f"% {q} %"}
    direction = "DESC" if descending else "ASC"
    with store.read() as tx:
        total = tx.value(f"SELECT COUNT(*) AS n FROM {{supporters}} s {where}", **params)
        rows = tx.all(
            "SELECT s.* FROM {supporters} s LEFT JOIN (SELECT supporter_id,"
            " SUM(gross - refunded - lost) AS net FROM {money} GROUP BY supporter_id) t"
            f" ON t.supporter_id = s.supporter_id {where}"
            f" ORDER BY {_ORDER[sort]} {direction}, s.supporter_id {direction}"
            " LIMIT :limit OFFSET :offset",
            limit=limit,
            offset=offset,
            **params,
        )
        return SupporterPage(total=int(total), rows=_rows(tx, rows, year))


def one(store: ViewStore, supporter_id: str, *, year: int) -> SupporterRow | None:
    with store.read() as tx:
        r = tx.one("SELECT * FROM {supporters} WHERE supporter_id = :id", id=supporter_id)
        return None if r is None else _rows(tx, [r], year)[0]


def membership_ids(store: ViewStore, supporter_id: str) -> list[str]:
    """A supporter's memberships (and those of records merged into them), newest first."""
    with store.read() as tx:
        rows = tx.all(
            "SELECT membership_id FROM {memberships} WHERE supporter_id = :sid"
            " ORDER BY started_at DESC, membership_id",
            sid=supporter_id,
        )
    return [r["membership_id"] for r in rows]
