"""Gift and membership facts a view keeps to interpret later events about them.

A refund or a dispute names only its gift, a membership payment only its membership: a
view that counts refunds by article, or members by status, keeps these few facts per gift
and membership in its own tables (views never read each other, so each rebuilds alone).
A membership's facts follow its own events: `Membership.report_status` decides which report
wins (newer time, then a fixed rank; cancelled stays cancelled) and records the outcome as an
event, so applying the events as they come mirrors the aggregate exactly, with no rules here.

A gift can move after it was booked: an earlier report of its payment moves `received_at`
(`ReceivedAtCorrected`), and a monthly gift booked without attribution learns it
(`AttributionLearnt`). A view whose bookings depend on those facts passes `gift_facts` a
`Rebook`: it is called with the gift as it was and -1 (take its bookings back), and then,
once the facts are updated, with the gift as it is and +1 (book them again).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

from patronage.domain.gift import DISPUTE_LOSING, DisputeStatus, Gift
from patronage.domain.membership import Membership, MembershipStatus
from patronage.domain.supporter import Supporter
from patronage.domain.values import BillingPeriod
from patronage.projections.base import Handlers, event_class, iso, update_of
from patronage.projections.store import Row, ViewTx

GIFT_TABLES = {
    "gifts": """CREATE TABLE IF NOT EXISTS {gifts} (
        gift_id TEXT PRIMARY KEY, supporter_id TEXT NOT NULL, currency TEXT NOT NULL,
        kind TEXT NOT NULL, article_id TEXT NOT NULL, campaign TEXT NOT NULL,
        variant TEXT NOT NULL, received_at TEXT NOT NULL, amount BIGINT NOT NULL,
        refunded BIGINT NOT NULL DEFAULT 0, lost BIGINT NOT NULL DEFAULT 0,
        open_disputes INTEGER NOT NULL DEFAULT 0, receipt_id TEXT)""",
    "refunds": """CREATE TABLE IF NOT EXISTS {refunds} (
        refund_id TEXT PRIMARY KEY, gift_id TEXT NOT NULL, amount BIGINT NOT NULL,
        refunded_at TEXT NOT NULL, reversed INTEGER NOT NULL DEFAULT 0)""",
    "disputes": """CREATE TABLE IF NOT EXISTS {disputes} (
        dispute_id TEXT PRIMARY KEY, gift_id TEXT NOT NULL, amount BIGINT NOT NULL,
        status TEXT NOT NULL, opened_at TEXT NOT NULL, lost_at TEXT)""",
}

MEMBERSHIP_TABLES = {
    "memberships": """CREATE TABLE IF NOT EXISTS {memberships} (
        membership_id TEXT PRIMARY KEY, supporter_id TEXT NOT NULL, status TEXT NOT NULL,
        status_as_of TEXT, monthly_minor BIGINT NOT NULL, currency TEXT NOT NULL,
        started_at TEXT NOT NULL, cancelled_at TEXT)""",
}

SUPPORTER_REGISTERED = event_class(Supporter, "Registered")

_CLOSED = (DisputeStatus.WON.value, DisputeStatus.LOST.value)


def move_supporter(tx: ViewTx, duplicate_id: str, survivor_id: str, tables: list[str]) -> None:
    """A merge: the duplicate's rows in these fact tables are the survivor's from now on."""
    for table in tables:
        assert table in ("gifts", "memberships", "receipts")
        tx.run(
            "UPDATE {" + table + "} SET supporter_id = :survivor WHERE supporter_id = :duplicate",
            survivor=survivor_id,
            duplicate=duplicate_id,
        )


def gift(tx: ViewTx, gift_id: object) -> Row:
    row = tx.one("SELECT * FROM {gifts} WHERE gift_id = :id", id=str(gift_id))
    if row is None:
        raise LookupError(f"gift {gift_id} has no Received event before this one")
    return row


# Handlers that keep the gift facts up to date. A view registers its own handlers for the
# same events after these (Handlers.extend), and reads the facts they left.
_gift_facts = Handlers()

# A view's bookings of one gift, given its facts: +1 books them, -1 takes them back.
Rebook = Callable[[ViewTx, Row, int], None]


def gift_facts(rebook: Rebook | None = None) -> Handlers:
    """The gift facts' handlers; `rebook` moves a view's bookings when a gift's facts move."""
    handlers = Handlers()
    handlers.extend(_gift_facts)

    def moved(update: Callable[[ViewTx, Any], None]) -> Callable[[ViewTx, Any], None]:
        def handler(tx: ViewTx, e: Any) -> None:
            if rebook is not None:
                rebook(tx, gift(tx, e.originator_id), -1)
            update(tx, e)
            if rebook is not None:
                rebook(tx, gift(tx, e.originator_id), +1)

        return handler

    handlers.on(Gift, "ReceivedAtCorrected")(moved(_received_at_corrected))
    handlers.on(Gift, "AttributionLearnt")(moved(_attribution_learnt))
    return handlers


_set_gift = update_of("gifts", "gift_id")


def _received_at_corrected(tx: ViewTx, e: Any) -> None:
    _set_gift(tx, e, received_at=iso(e.received_at))


def _attribution_learnt(tx: ViewTx, e: Any) -> None:
    a = e.attribution
    _set_gift(tx, e, article_id=a.article_id, campaign=a.campaign, variant=a.variant)


def received_gift(e: Any) -> Row:
    """The gift facts' row a `Gift.Received` inserts (nothing refunded or lost yet)."""
    return {
        "gift_id": str(e.originator_id),
        "supporter_id": str(e.supporter_id),
        "currency": e.amount.currency,
        "kind": str(e.kind),
        "article_id": e.attribution.article_id,
        "campaign": e.attribution.campaign,
        "variant": e.attribution.variant,
        "received_at": iso(e.received_at),
        "amount": e.amount.minor,
    }


@_gift_facts.on(Gift, "Received")
def _received(tx: ViewTx, e: Any) -> None:
    tx.insert("gifts", **received_gift(e))


class GiftsReceived:
    """A Fold of `Gift.Received`: the run's gift facts, written at once; a view that books
    more of each gift extends it (`book` each gift, `write_bookings` them all)."""

    def __init__(self) -> None:
        self.gifts: list[Row] = []

    def add(self, e: Any) -> None:
        gift = received_gift(e)
        self.gifts.append(gift)
        self.book(gift)

    def write(self, tx: ViewTx) -> None:
        tx.insert_rows("gifts", self.gifts)
        self.write_bookings(tx)

    def book(self, gift: Row) -> None:
        """Take in what the view books for one received gift (the facts alone: nothing)."""

    def write_bookings(self, tx: ViewTx) -> None:
        """Write what the run's gifts book, a statement per table (the facts alone: none)."""


class GiftsAndNewGivers(GiftsReceived, ABC):
    """A Fold of `Gift.Received` and `Supporter.Registered` together, for a view that keeps a
    row per supporter. A burst of first gifts alternates the two (each giver is registered
    just before their gift), so a fold of the gifts alone made runs of one gift: a few
    statements per webhook where a run needs a few in all.

    The new givers' rows (`giver_row`, into `givers_table`) are written before the gifts
    and their bookings, which may update those rows; that is the log's order for every
    gift that comes after its giver's registration (a view whose bookings update the row
    must also handle the reverse, see `registered`)."""

    givers_table: ClassVar[str]

    def __init__(self) -> None:
        super().__init__()
        self.new_givers: list[Row] = []

    def add(self, e: Any) -> None:
        if isinstance(e, SUPPORTER_REGISTERED):
            self.registered(e)
        else:
            self.received(e)

    def received(self, e: Any) -> None:
        super().add(e)

    def registered(self, e: Any) -> None:
        self.new_givers.append(self.giver_row(e))

    @abstractmethod
    def giver_row(self, e: Any) -> Row:
        """The row the view's own handler of `Supporter.Registered` inserts."""

    def write(self, tx: ViewTx) -> None:
        tx.insert_rows(self.givers_table, self.new_givers)
        super().write(tx)


def _add_to_gift(tx: ViewTx, gift_id: object, **amounts: int) -> None:
    """Add to a gift's running sums: money refunded and lost, disputes open."""
    sums = ", ".join(f"{column} = {column} + :{column}" for column in amounts)
    tx.run(f"UPDATE {{gifts}} SET {sums} WHERE gift_id = :gift_id", gift_id=str(gift_id), **amounts)


def _claim_on_gift(tx: ViewTx, e: Any, table: str, **row: Any) -> None:
    """The row of a refund or a dispute of the event's gift, for the event's amount."""
    tx.insert(table, gift_id=str(e.originator_id), amount=e.amount.minor, **row)


@_gift_facts.on(Gift, "Refunded")
def _refunded(tx: ViewTx, e: Any) -> None:
    _claim_on_gift(tx, e, "refunds", refund_id=e.refund_id, refunded_at=iso(e.refunded_at))
    _add_to_gift(tx, e.originator_id, refunded=e.amount.minor)


def reversed_refund(tx: ViewTx, e: Any) -> Row | None:
    """The refund a RefundReversed gives back (None when it was never booked)."""
    return tx.one("SELECT * FROM {refunds} WHERE refund_id = :id AND reversed = 0", id=e.refund_id)


@_gift_facts.on(Gift, "RefundReversed")
def _refund_reversed(tx: ViewTx, e: Any) -> None:
    refund = reversed_refund(tx, e)
    if refund is None:
        return
    tx.run("UPDATE {refunds} SET reversed = 1 WHERE refund_id = :id", id=e.refund_id)
    _add_to_gift(tx, refund["gift_id"], refunded=-refund["amount"])


@_gift_facts.on(Gift, "DisputeOpened")
def _dispute_opened(tx: ViewTx, e: Any) -> None:
    opened_at = iso(e.opened_at)
    status = DisputeStatus.OPEN.value
    _claim_on_gift(tx, e, "disputes", dispute_id=e.dispute_id, status=status, opened_at=opened_at)
    _add_to_gift(tx, e.originator_id, open_disputes=1)


def dispute(tx: ViewTx, dispute_id: str) -> Row:
    row = tx.one("SELECT * FROM {disputes} WHERE dispute_id = :id", id=dispute_id)
    if row is None:
        raise LookupError(f"dispute {dispute_id} was never opened")
    return row


def lost_change(e: Any) -> int:
    """What this DisputeUpdated does to the money lost: 1 when it takes the money (lost),
    -1 when it gives it back (won on appeal), 0 otherwise. Events stored before appeals
    carry no `previous`: a closed dispute stayed closed, so they only ever lost money."""
    previous = getattr(e, "previous", None)
    was_losing = previous is not None and DisputeStatus(previous) in DISPUTE_LOSING
    return int(DisputeStatus(e.status) in DISPUTE_LOSING) - int(was_losing)


@_gift_facts.on(Gift, "DisputeUpdated")
def _dispute_updated(tx: ViewTx, e: Any) -> None:
    row = dispute(tx, e.dispute_id)
    status = str(e.status)
    change = lost_change(e)
    tx.run(
        "UPDATE {disputes} SET status = :status, lost_at = :lost_at WHERE dispute_id = :id",
        status=status,
        lost_at=iso(e.at) if change > 0 else None if change < 0 else row["lost_at"],
        id=e.dispute_id,
    )
    # An appeal reopens a lost dispute: the gift is held again until it is decided.
    held = int(row["status"] in _CLOSED) - int(status in _CLOSED)
    _add_to_gift(tx, row["gift_id"], open_disputes=held, lost=change * row["amount"])


@_gift_facts.on(Gift, "ReceiptAttached")
def _receipt_attached(tx: ViewTx, e: Any) -> None:
    _set_gift(tx, e, receipt_id=str(e.receipt_id))


@_gift_facts.on(Gift, "ReceiptDetached")
def _receipt_detached(tx: ViewTx, e: Any) -> None:
    _set_gift(tx, e, receipt_id=None)


# Memberships -------------------------------------------------------------------------------

membership_facts = Handlers()


def membership(tx: ViewTx, membership_id: object) -> Row:
    row = tx.one("SELECT * FROM {memberships} WHERE membership_id = :id", id=str(membership_id))
    if row is None:
        raise LookupError(f"membership {membership_id} has no Started event before this one")
    return row


_set = update_of("memberships", "membership_id")


def _monthly_minor(e: Any) -> int:
    """The amount a month, whatever the plan's period (events before periods: monthly)."""
    period = getattr(e, "period", None) or BillingPeriod()
    return period.monthly_minor(e.monthly_amount.minor)


@membership_facts.on(Membership, "Started")
def _started(tx: ViewTx, e: Any) -> None:
    tx.insert(
        "memberships",
        membership_id=str(e.originator_id),
        supporter_id=str(e.supporter_id),
        status=MembershipStatus.INCOMPLETE.value,
        monthly_minor=_monthly_minor(e),
        currency=e.monthly_amount.currency,
        started_at=iso(e.started_at),
    )


@membership_facts.on(Membership, "AmountChanged")
def _amount_changed(tx: ViewTx, e: Any) -> None:
    _set(tx, e, monthly_minor=_monthly_minor(e))


@membership_facts.on(Membership, "StartMoved")
def _start_moved(tx: ViewTx, e: Any) -> None:
    _set(tx, e, started_at=iso(e.started_at))


@membership_facts.on(Membership, "Cancelled")
def _cancelled(tx: ViewTx, e: Any) -> None:
    at = iso(e.cancelled_at)
    _set(tx, e, status=MembershipStatus.CANCELLED.value, status_as_of=at, cancelled_at=at)


@membership_facts.on(Membership, "CancellationScheduled")
def _cancellation_scheduled(tx: ViewTx, e: Any) -> None:
    _set(tx, e, status=MembershipStatus.CANCELLATION_SCHEDULED.value, status_as_of=iso(e.as_of))


@membership_facts.on(Membership, "Paused")
def _paused(tx: ViewTx, e: Any) -> None:
    _set(tx, e, status=MembershipStatus.PAUSED.value, status_as_of=iso(e.as_of))


@membership_facts.on(Membership, "Resumed", "StatusChanged")
def _status(tx: ViewTx, e: Any) -> None:
    _set(tx, e, status=str(e.status), status_as_of=iso(e.as_of))


@membership_facts.on(Membership, "StatusConfirmed")
def _status_confirmed(tx: ViewTx, e: Any) -> None:
    _set(tx, e, status_as_of=iso(e.as_of))
