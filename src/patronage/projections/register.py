"""The receipt register: every receipt with its number, kind, supporter, year, amount,
status (issued, emailed, void, replaced) and email state (pending, sent, failed), and what
finance works from: the gifts not yet receipted, the receipts a refund or a lost dispute has
made wrong ("needs correction"), and the supporters whose details a receipt still lacks.

A gift waits for a receipt while it has money left to receipt (gross - refunded - lost)
and no valid receipt covers it; one under an open dispute is held. A valid receipt needs
correction while any of its lines is more than what its gift still holds. Tax years are
ranges of UTC instants decided in the organisation's time zone (domain/tax_year.py); the
readers take those bounds, so this view never needs to know the zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from patronage.domain.gift import Gift, GiftKind
from patronage.domain.receipt import ReceiptStatus, TaxReceipt
from patronage.domain.supporter import Supporter
from patronage.domain.values import PostalAddress
from patronage.projections import facts
from patronage.projections.base import EventLog, Handlers, ViewProjection, iso, update_of
from patronage.projections.polling import wait_for
from patronage.projections.store import (
    Row,
    ViewSchema,
    ViewStore,
    ViewTx,
    Where,
    from_row,
)

REPLACED = "replaced"
VALID = (ReceiptStatus.ISSUED.value, ReceiptStatus.EMAILED.value)

SCHEMA = ViewSchema(
    name="register",
    tables={
        "receipts": """CREATE TABLE IF NOT EXISTS {receipts} (
            receipt_id TEXT PRIMARY KEY, number TEXT NOT NULL, kind TEXT NOT NULL,
            supporter_id TEXT NOT NULL, donor_name TEXT NOT NULL, tax_year INTEGER NOT NULL,
            currency TEXT NOT NULL, amount BIGINT NOT NULL, eligible BIGINT NOT NULL,
            gift_count INTEGER NOT NULL, status TEXT NOT NULL, issued_on TEXT NOT NULL,
            replaces_number TEXT NOT NULL, replaced_by_number TEXT NOT NULL DEFAULT '',
            void_reason TEXT NOT NULL DEFAULT '', email_state TEXT NOT NULL DEFAULT 'pending',
            email_error TEXT NOT NULL DEFAULT '', retry_at TEXT)""",
        "receipt_lines": """CREATE TABLE IF NOT EXISTS {receipt_lines} (
            receipt_id TEXT NOT NULL, gift_id TEXT NOT NULL, amount BIGINT NOT NULL,
            PRIMARY KEY (receipt_id, gift_id))""",
        "donors": """CREATE TABLE IF NOT EXISTS {donors} (
            supporter_id TEXT PRIMARY KEY, name TEXT NOT NULL, line1 TEXT NOT NULL DEFAULT '',
            city TEXT NOT NULL DEFAULT '', postal_code TEXT NOT NULL DEFAULT '')""",
        **facts.GIFT_TABLES,
    },
    indexes={
        "receipts": {
            "year": "tax_year, number",
            "number": "number",
            "outbox": "email_state, retry_at",
        },
        "receipt_lines": {"gift": "gift_id"},
        "gifts": {"open": "receipt_id", "received": "received_at", "supporter": "supporter_id"},
    },
)

_set_donor = update_of("donors", "supporter_id")
_set_receipt = update_of("receipts", "receipt_id")

handlers = Handlers()
handlers.extend(facts.gift_facts())


def _donor_row(e: Any) -> Row:
    """The row a `Supporter.Registered` inserts."""
    return {"supporter_id": str(e.originator_id), "name": e.name}


@handlers.on(Supporter, "Registered")
def _donor_registered(tx: ViewTx, e: Any) -> None:
    tx.insert("donors", **_donor_row(e))


# The register keeps only the facts of a received gift and the new donors' rows: a run of
# them is two inserts.
@handlers.fold(Supporter, "Registered")
@handlers.fold(Gift, "Received")
class _GiftsAndDonors(facts.GiftsAndNewGivers):
    givers_table = "donors"

    def giver_row(self, e: Any) -> Row:
        return _donor_row(e)


@handlers.on(Supporter, "Renamed")
def _donor_renamed(tx: ViewTx, e: Any) -> None:
    _set_donor(tx, e, name=e.name)


@handlers.on(Supporter, "AddressChanged")
def _donor_moved(tx: ViewTx, e: Any) -> None:
    a = e.address
    _set_donor(tx, e, line1=a.line1, city=a.city, postal_code=a.postal_code)


@handlers.on(TaxReceipt, "Issued")
def _issued(tx: ViewTx, e: Any) -> None:
    amount = sum(g.amount_minor for g in e.gifts)
    receipt_id = str(e.originator_id)
    tx.insert(
        "receipts",
        receipt_id=receipt_id,
        number=e.number,
        kind=str(e.kind),
        supporter_id=e.donor.supporter_id,
        donor_name=e.donor.name,
        tax_year=e.tax_year,
        currency=e.currency,
        amount=amount,
        eligible=amount - sum(g.benefit_minor for g in e.gifts),
        gift_count=len(e.gifts),
        status=ReceiptStatus.ISSUED.value,
        issued_on=e.issued_on.isoformat(),
        replaces_number=e.replaces_number,
    )
    for line in e.gifts:
        tx.insert(
            "receipt_lines", receipt_id=receipt_id, gift_id=line.gift_id, amount=line.amount_minor
        )


@handlers.on(Supporter, "Absorbed")
def _absorbed(tx: ViewTx, e: Any) -> None:
    duplicate = str(e.duplicate_id)
    facts.move_supporter(tx, duplicate, str(e.originator_id), ["gifts", "receipts"])
    tx.run("DELETE FROM {donors} WHERE supporter_id = :id", id=duplicate)


@handlers.on(Supporter, "Erased")
def _erased(tx: ViewTx, e: Any) -> None:
    # The receipt numbers, amounts and dates stay for the books; the name goes.
    sid = str(e.originator_id)
    tx.run("UPDATE {receipts} SET donor_name = '' WHERE supporter_id = :id", id=sid)
    _set_donor(tx, e, name="", line1="", city="", postal_code="")


def _set_email(
    tx: ViewTx, e: Any, state: str, error: str = "", retry_at: str | None = None
) -> None:
    """The receipt's place in the email outbox: pending, sent or failed (and when to retry)."""
    _set_receipt(tx, e, email_state=state, email_error=error, retry_at=retry_at)


@handlers.on(TaxReceipt, "Emailed")
def _emailed(tx: ViewTx, e: Any) -> None:
    tx.run(
        "UPDATE {receipts} SET status = :emailed WHERE receipt_id = :id AND status = :issued",
        issued=ReceiptStatus.ISSUED.value,
        emailed=ReceiptStatus.EMAILED.value,
        id=str(e.originator_id),
    )
    _set_email(tx, e, "sent")


@handlers.on(TaxReceipt, "EmailFailed")
def _email_failed(tx: ViewTx, e: Any) -> None:
    _set_email(tx, e, "failed", e.error, iso(e.retry_at))


@handlers.on(TaxReceipt, "ResendRequested")
def _resend(tx: ViewTx, e: Any) -> None:
    _set_email(tx, e, "pending")


@handlers.on(TaxReceipt, "Voided")
def _voided(tx: ViewTx, e: Any) -> None:
    _set_receipt(
        tx,
        e,
        status=REPLACED if e.replaced_by_number else ReceiptStatus.VOID.value,
        replaced_by_number=e.replaced_by_number,
        void_reason=e.reason,
    )


class RegisterProjection(ViewProjection):
    schema = SCHEMA
    handlers = handlers


# Reading -----------------------------------------------------------------------------------

# A valid receipt with a line worth more than its gift still holds (a refund, a lost dispute).
_NEEDS_CORRECTION = (
    "(r.status IN ('issued', 'emailed') AND EXISTS (SELECT 1 FROM {receipt_lines} l"
    " JOIN {gifts} g ON g.gift_id = l.gift_id WHERE l.receipt_id = r.receipt_id"
    " AND g.amount - g.refunded - g.lost < l.amount))"
)


@dataclass(frozen=True)
class ReceiptEntry:
    receipt_id: str
    number: str
    kind: str
    supporter_id: str
    donor_name: str
    tax_year: int
    currency: str
    amount_minor: int
    eligible_minor: int
    gift_count: int
    status: str
    issued_on: str
    replaces_number: str
    replaced_by_number: str
    void_reason: str
    email_state: str
    email_error: str
    needs_correction: bool


@dataclass(frozen=True)
class Unreceipted:
    supporter_id: str
    currency: str
    gifts: int
    amount_minor: int
    held: int  # gifts under an open dispute, not receiptable until it closes


@dataclass(frozen=True)
class GiftState:
    gift_id: str
    kind: str
    received_at: str
    currency: str
    amount_minor: int
    refunded_minor: int
    lost_minor: int
    open_disputes: int
    receipt_number: str
    receipt_status: str

    @property
    def receiptable(self) -> bool:
        """No valid receipt covers it, no dispute holds it, and refunds left some money."""
        net = self.amount_minor - self.refunded_minor - self.lost_minor
        return not self.receipt_number and not self.open_disputes and net > 0


@dataclass(frozen=True)
class DonorWaiting:
    """A supporter with gifts to receipt, and the details the register knows of them."""

    supporter_id: str
    name: str
    address: PostalAddress
    gifts: int


def _entry(r: Row) -> ReceiptEntry:
    return from_row(ReceiptEntry, r, amount_minor="amount", eligible_minor="eligible")


def receipts(
    store: ViewStore,
    *,
    tax_year: int | None = None,
    supporter_id: str | None = None,
    status: str | None = None,
    kind: str | None = None,
    number: str | None = None,
    search: str | None = None,
    needs_correction: bool = False,
    limit: int = 100,
    offset: int = 0,
) -> tuple[int, list[ReceiptEntry]]:
    chosen = Where()
    chosen.equal(
        "r", tax_year=tax_year, supporter_id=supporter_id, status=status, kind=kind, number=number
    )
    if search:
        # A number, a supporter id, or part of the donor's name.
        chosen.add(
            "(r.number = :exact OR r.supporter_id = :exact OR LOWER(r.donor_name) LIKE :like)",
            exact=search.strip(),
            like=f"%{search.strip().lower()}%",
        )
    if needs_correction:
        chosen.add(_NEEDS_CORRECTION)
    where, params = chosen.sql, chosen.params
    with store.read() as tx:
        total = tx.value(f"SELECT COUNT(*) AS n FROM {{receipts}} r WHERE {where}", **params)
        rows = tx.all(
            f"SELECT r.*, {_NEEDS_CORRECTION} AS needs_correction FROM {{receipts}} r"
            f" WHERE {where} ORDER BY r.tax_year, r.number LIMIT :limit OFFSET :offset",
            limit=limit,
            offset=offset,
            **params,
        )
    return int(total), [_entry(r) for r in rows]


_RECEIPTABLE = "g.receipt_id IS NULL AND g.amount - g.refunded - g.lost > 0"
_IN_YEAR = "g.received_at >= :start AND g.received_at < :end"


def _bounds(year: tuple[datetime, datetime]) -> dict[str, str]:
    return {"start": iso(year[0]), "end": iso(year[1])}


def unreceipted(store: ViewStore, year: tuple[datetime, datetime]) -> list[Unreceipted]:
    """Per supporter and currency, the gifts of a tax year no valid receipt covers yet."""
    with store.read() as tx:
        rows = tx.all(
            "SELECT g.supporter_id, g.currency, COUNT(*) AS gifts,"
            " SUM(g.amount - g.refunded - g.lost) AS amount,"
            " SUM(CASE WHEN g.open_disputes > 0 THEN 1 ELSE 0 END) AS held"
            f" FROM {{gifts}} g WHERE {_RECEIPTABLE} AND {_IN_YEAR}"
            " GROUP BY g.supporter_id, g.currency ORDER BY g.supporter_id, g.currency",
            **_bounds(year),
        )
    return [from_row(Unreceipted, r, amount_minor="amount") for r in rows]


def supporter_gifts(store: ViewStore, supporter_id: str) -> list[GiftState]:
    """A supporter's gifts, newest first, each with the valid receipt covering it."""
    with store.read() as tx:
        rows = tx.all(
            "SELECT g.*, COALESCE(r.number, '') AS receipt_number,"
            " COALESCE(r.status, '') AS receipt_status FROM {gifts} g"
            " LEFT JOIN {receipts} r ON r.receipt_id = g.receipt_id"
            " WHERE g.supporter_id = :sid ORDER BY g.received_at DESC, g.gift_id",
            sid=supporter_id,
        )
    return [
        from_row(GiftState, r, amount_minor="amount", refunded_minor="refunded", lost_minor="lost")
        for r in rows
    ]


def _donors_waiting(store: ViewStore, year: tuple[datetime, datetime]) -> list[DonorWaiting]:
    with store.read() as tx:
        rows = tx.all(
            "SELECT d.supporter_id, d.name, d.line1, d.city, d.postal_code, COUNT(*) AS gifts"
            f" FROM {{gifts}} g JOIN {{donors}} d ON d.supporter_id = g.supporter_id"
            f" WHERE {_RECEIPTABLE} AND {_IN_YEAR}"
            " GROUP BY d.supporter_id, d.name, d.line1, d.city, d.postal_code"
            " ORDER BY d.name, d.supporter_id",
            **_bounds(year),
        )
    return [
        DonorWaiting(
            supporter_id=r["supporter_id"],
            name=r["name"],
            address=PostalAddress(line1=r["line1"], city=r["city"], postal_code=r["postal_code"]),
            gifts=int(r["gifts"]),
        )
        for r in rows
    ]


class RegisterQueries:
    """What receipting reads from the register to find work (the truth stays in the
    aggregates it then loads): annual groups, one-time gifts to receipt, emails due."""

    def __init__(self, store: ViewStore, ledger: EventLog, catch_up_seconds: float) -> None:
        self.store = store
        self.ledger = ledger
        self.catch_up_seconds = catch_up_seconds

    def catch_up(self, timeout: float | None = None) -> None:
        """Wait until the register has applied every event recorded so far."""
        head = self.ledger.recorder.max_notification_id() or 0
        wait = self.catch_up_seconds if timeout is None else timeout
        wait_for(self.ledger, self.store, RegisterProjection.topics, head, wait)

    def annual_groups(
        self,
        year: tuple[datetime, datetime],
        supporter_id: UUID | None = None,
        currency: str | None = None,
    ) -> list[tuple[UUID, str, list[UUID]]]:
        """(supporter, currency, gifts) an annual receipt would cover now; disputed gifts wait."""
        where = Where(_RECEIPTABLE, _IN_YEAR, "g.open_disputes = 0", **_bounds(year))
        where.add("g.supporter_id = :sid", sid=None if supporter_id is None else str(supporter_id))
        where.equal("g", currency=currency)
        with self.store.read() as tx:
            rows = tx.all(
                "SELECT g.supporter_id, g.currency, g.gift_id FROM {gifts} g WHERE "
                + where.sql
                + " ORDER BY g.supporter_id, g.currency, g.received_at, g.gift_id",
                **where.params,
            )
        groups: dict[tuple[str, str], list[UUID]] = {}
        for r in rows:
            groups.setdefault((r["supporter_id"], r["currency"]), []).append(UUID(r["gift_id"]))
        return [(UUID(s), c, gifts) for (s, c), gifts in groups.items()]

    def one_time_gifts_to_receipt(self, since: datetime, limit: int) -> list[UUID]:
        """One-time gifts received since `since` that no receipt covers and none holds."""
        with self.store.read() as tx:
            rows = tx.all(
                f"SELECT g.gift_id FROM {{gifts}} g WHERE {_RECEIPTABLE} AND g.kind = :kind"
                " AND g.open_disputes = 0 AND g.received_at >= :since"
                " ORDER BY g.received_at LIMIT :limit",
                kind=GiftKind.ONE_TIME.value,
                since=iso(since),
                limit=limit,
            )
        return [UUID(r["gift_id"]) for r in rows]

    def donors_waiting(self, year: tuple[datetime, datetime]) -> list[DonorWaiting]:
        """Supporters with gifts of the year to receipt, and the details the register knows."""
        return _donors_waiting(self.store, year)

    def receipt_entry(self, number: str, after: int) -> ReceiptEntry | None:
        """Receipt `number`'s entry once the register has applied the events up to
        position `after` (read-your-writes); TimeoutError if not within the wait."""
        wait_for(self.ledger, self.store, RegisterProjection.topics, after, self.catch_up_seconds)
        _total, found = receipts(self.store, number=number, limit=1)
        return found[0] if found else None

    def emails_due(self, now: datetime, limit: int) -> list[UUID]:
        """Valid receipts whose email is pending, or failed and due for another try."""
        with self.store.read() as tx:
            rows = tx.all(
                "SELECT receipt_id FROM {receipts} WHERE status IN ('issued', 'emailed')"
                " AND (email_state = 'pending' OR (email_state = 'failed' AND retry_at <= :now))"
                " ORDER BY issued_on, number LIMIT :limit",
                now=iso(now),
                limit=limit,
            )
        return [UUID(r["receipt_id"]) for r in rows]


def counts(store: ViewStore) -> dict[tuple[str, str], int]:
    """How many receipts are in each (status, email state): issued, emailed, void or
    replaced; and pending, sent or failed."""
    with store.read() as tx:
        rows = tx.all(
            "SELECT status, email_state, COUNT(*) AS n FROM {receipts} GROUP BY status, email_state"
        )
    return {(str(r["status"]), str(r["email_state"])): int(r["n"]) for r in rows}
