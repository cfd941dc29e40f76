"""Gift and membership facts a view keeps to interpret later events about them.

A refund or a dispute names only its gift, a membership payment only its membership: a
view that counts refunds by article, or members by status, keeps these few facts per gift
and membership in its own tables (views never read each other, so each rebuilds alone).
The membership status rules mirror `Membership` exactly: reports older than the current
status never overwrite it, and a cancelled membership stays cancelled.
"""

from __future__ import annotations

from typing import Any

from patronage.domain.gift import DisputeStatus, Gift
from patronage.domain.membership import Membership, MembershipStatus
from patronage.projections.base import Handlers, iso
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
        status TEXT NOT NULL)""",
}

MEMBERSHIP_TABLES = {
    "memberships": """CREATE TABLE IF NOT EXISTS {memberships} (
        membership_id TEXT PRIMARY KEY, supporter_id TEXT NOT NULL, status TEXT NOT NULL,
        status_as_of TEXT NOT NULL, monthly_minor BIGINT NOT NULL, currency TEXT NOT NULL,
        started_at TEXT NOT NULL, cancelled_at TEXT)""",
}

_CLOSED = (DisputeStatus.WON.value, DisputeStatus.LOST.value)


def gift(tx: ViewTx, gift_id: object) -> Row:
    row = tx.one("SELECT * FROM {gifts} WHERE gift_id = :id", id=str(gift_id))
    if row is None:
        raise LookupError(f"gift {gift_id} has no Received event before this one")
    return row


# Handlers that keep the gift facts up to date. A view registers its own handlers for the
# same events after these (Handlers.extend), and reads the facts they left.
gift_facts = Handlers()


@gift_facts.on(Gift, "Received")
def _received(tx: ViewTx, e: Any) -> None:
    tx.run(
        "INSERT INTO {gifts} (gift_id, supporter_id, currency, kind, article_id, campaign,"
        " variant, received_at, amount) VALUES (:gift_id, :supporter_id, :currency, :kind,"
        " :article_id, :campaign, :variant, :received_at, :amount)",
        gift_id=str(e.originator_id),
        supporter_id=str(e.supporter_id),
        currency=e.amount.currency,
        kind=str(e.kind),
        article_id=e.attribution.article_id,
        campaign=e.attribution.campaign,
        variant=e.attribution.variant,
        received_at=iso(e.received_at),
        amount=e.amount.minor,
    )


@gift_facts.on(Gift, "Refunded")
def _refunded(tx: ViewTx, e: Any) -> None:
    tx.run(
        "INSERT INTO {refunds} (refund_id, gift_id, amount, refunded_at)"
        " VALUES (:refund_id, :gift_id, :amount, :at)",
        refund_id=e.refund_id,
        gift_id=str(e.originator_id),
        amount=e.amount.minor,
        at=iso(e.refunded_at),
    )
    tx.run(
        "UPDATE {gifts} SET refunded = refunded + :amount WHERE gift_id = :id",
        amount=e.amount.minor,
        id=str(e.originator_id),
    )


def reversed_refund(tx: ViewTx, e: Any) -> Row | None:
    """The refund a RefundReversed gives back (None when it was never booked)."""
    return tx.one("SELECT * FROM {refunds} WHERE refund_id = :id AND reversed = 0", id=e.refund_id)


@gift_facts.on(Gift, "RefundReversed")
def _refund_reversed(tx: ViewTx, e: Any) -> None:
    refund = reversed_refund(tx, e)
    if refund is None:
        return
    tx.run("UPDATE {refunds} SET reversed = 1 WHERE refund_id = :id", id=e.refund_id)
    tx.run(
        "UPDATE {gifts} SET refunded = refunded - :amount WHERE gift_id = :id",
        amount=refund["amount"],
        id=refund["gift_id"],
    )


@gift_facts.on(Gift, "DisputeOpened")
def _dispute_opened(tx: ViewTx, e: Any) -> None:
    tx.run(
        "INSERT INTO {disputes} (dispute_id, gift_id, amount, status)"
        " VALUES (:dispute_id, :gift_id, :amount, :status)",
        dispute_id=e.dispute_id,
        gift_id=str(e.originator_id),
        amount=e.amount.minor,
        status=DisputeStatus.OPEN.value,
    )
    tx.run(
        "UPDATE {gifts} SET open_disputes = open_disputes + 1 WHERE gift_id = :id",
        id=str(e.originator_id),
    )


def dispute(tx: ViewTx, dispute_id: str) -> Row:
    row = tx.one("SELECT * FROM {disputes} WHERE dispute_id = :id", id=dispute_id)
    if row is None:
        raise LookupError(f"dispute {dispute_id} was never opened")
    return row


def loses(e: Any) -> bool:
    """Whether this DisputeUpdated is the one that loses the money (closed stays closed)."""
    return str(e.status) == DisputeStatus.LOST.value


@gift_facts.on(Gift, "DisputeUpdated")
def _dispute_updated(tx: ViewTx, e: Any) -> None:
    row = dispute(tx, e.dispute_id)
    status = str(e.status)
    tx.run(
        "UPDATE {disputes} SET status = :status WHERE dispute_id = :id",
        status=status,
        id=e.dispute_id,
    )
    closes = status in _CLOSED and row["status"] not in _CLOSED
    tx.run(
        "UPDATE {gifts} SET open_disputes = open_disputes - :closes,"
        " lost = lost + :lost WHERE gift_id = :id",
        closes=int(closes),
        lost=row["amount"] if loses(e) else 0,
        id=row["gift_id"],
    )


@gift_facts.on(Gift, "ReceiptAttached", "ReceiptDetached")
def _receipt(tx: ViewTx, e: Any) -> None:
    attached = type(e).__name__ == "ReceiptAttached"
    tx.run(
        "UPDATE {gifts} SET receipt_id = :receipt WHERE gift_id = :id",
        receipt=str(e.receipt_id) if attached else None,
        id=str(e.originator_id),
    )


# Memberships -------------------------------------------------------------------------------

membership_facts = Handlers()


def membership(tx: ViewTx, membership_id: object) -> Row:
    row = tx.one("SELECT * FROM {memberships} WHERE membership_id = :id", id=str(membership_id))
    if row is None:
        raise LookupError(f"membership {membership_id} has no Started event before this one")
    return row


def _set_status(tx: ViewTx, e: Any, status: str, as_of: str) -> None:
    tx.run(
        "UPDATE {memberships} SET status = :status, status_as_of = :as_of"
        " WHERE membership_id = :id",
        status=status,
        as_of=as_of,
        id=str(e.originator_id),
    )


@membership_facts.on(Membership, "Started")
def _started(tx: ViewTx, e: Any) -> None:
    tx.run(
        "INSERT INTO {memberships} (membership_id, supporter_id, status, status_as_of,"
        " monthly_minor, currency, started_at) VALUES (:id, :supporter_id, :status, :as_of,"
        " :minor, :currency, :as_of)",
        id=str(e.originator_id),
        supporter_id=str(e.supporter_id),
        status=MembershipStatus.INCOMPLETE.value,
        as_of=iso(e.started_at),
        minor=e.monthly_amount.minor,
        currency=e.monthly_amount.currency,
    )


@membership_facts.on(Membership, "PaymentReceived")
def _paid(tx: ViewTx, e: Any) -> None:
    row = membership(tx, e.originator_id)
    waiting = (MembershipStatus.INCOMPLETE.value, MembershipStatus.PAST_DUE.value)
    if row["status"] in waiting and iso(e.paid_at) >= row["status_as_of"]:
        _set_status(tx, e, MembershipStatus.ACTIVE.value, iso(e.paid_at))


@membership_facts.on(Membership, "PaymentFailed")
def _failed(tx: ViewTx, e: Any) -> None:
    row = membership(tx, e.originator_id)
    cancelled = row["status"] == MembershipStatus.CANCELLED.value
    if not cancelled and iso(e.failed_at) >= row["status_as_of"]:
        _set_status(tx, e, MembershipStatus.PAST_DUE.value, iso(e.failed_at))


@membership_facts.on(Membership, "AmountChanged")
def _amount_changed(tx: ViewTx, e: Any) -> None:
    tx.run(
        "UPDATE {memberships} SET monthly_minor = :minor WHERE membership_id = :id",
        minor=e.monthly_amount.minor,
        id=str(e.originator_id),
    )


@membership_facts.on(Membership, "Cancelled")
def _cancelled(tx: ViewTx, e: Any) -> None:
    row = membership(tx, e.originator_id)
    at = iso(e.cancelled_at)
    _set_status(tx, e, MembershipStatus.CANCELLED.value, max(at, row["status_as_of"]))
    tx.run(
        "UPDATE {memberships} SET cancelled_at = :at WHERE membership_id = :id",
        at=at,
        id=str(e.originator_id),
    )


@membership_facts.on(Membership, "CancellationScheduled", "Paused", "Resumed", "StatusChanged")
def _status(tx: ViewTx, e: Any) -> None:
    named = {
        "CancellationScheduled": MembershipStatus.CANCELLATION_SCHEDULED.value,
        "Paused": MembershipStatus.PAUSED.value,
    }
    status = named.get(type(e).__name__) or str(e.status)
    _set_status(tx, e, status, iso(e.as_of))
