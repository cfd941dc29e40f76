"""The receipt register: every receipt with its number, kind, supporter, year, amount and
status (issued, emailed, void, replaced), and the gifts not yet receipted for a year.

A gift waits for a receipt while it has money left to receipt (gross - refunded - lost)
and no valid receipt covers it; one under an open dispute is listed as held.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from patronage.domain.receipt import ReceiptStatus, TaxReceipt
from patronage.domain.supporter import Supporter
from patronage.projections import facts
from patronage.projections.base import Handlers, ViewProjection
from patronage.projections.store import Index, ViewSchema, ViewStore, ViewTx

REPLACED = "replaced"

SCHEMA = ViewSchema(
    name="register",
    tables={
        "receipts": """CREATE TABLE IF NOT EXISTS {receipts} (
            receipt_id TEXT PRIMARY KEY, number TEXT NOT NULL, kind TEXT NOT NULL,
            supporter_id TEXT NOT NULL, donor_name TEXT NOT NULL, tax_year INTEGER NOT NULL,
            currency TEXT NOT NULL, amount BIGINT NOT NULL, eligible BIGINT NOT NULL,
            gift_count INTEGER NOT NULL, status TEXT NOT NULL, issued_on TEXT NOT NULL,
            replaces_number TEXT NOT NULL, replaced_by_number TEXT NOT NULL DEFAULT '')""",
        **facts.GIFT_TABLES,
    },
    indexes=(Index("receipts", "year", "tax_year, number"), Index("gifts", "open", "receipt_id")),
)

handlers = Handlers()
handlers.extend(facts.gift_facts())


@handlers.on(TaxReceipt, "Issued")
def _issued(tx: ViewTx, e: Any) -> None:
    amount = sum(g.amount_minor for g in e.gifts)
    tx.run(
        "INSERT INTO {receipts} (receipt_id, number, kind, supporter_id, donor_name, tax_year,"
        " currency, amount, eligible, gift_count, status, issued_on, replaces_number) VALUES"
        " (:id, :number, :kind, :sid, :name, :year, :currency, :amount, :eligible, :count,"
        " :status, :issued_on, :replaces)",
        id=str(e.originator_id),
        number=e.number,
        kind=str(e.kind),
        sid=e.donor.supporter_id,
        name=e.donor.name,
        year=e.tax_year,
        currency=e.currency,
        amount=amount,
        eligible=amount - sum(g.benefit_minor for g in e.gifts),
        count=len(e.gifts),
        status=ReceiptStatus.ISSUED.value,
        issued_on=e.issued_on.isoformat(),
        replaces=e.replaces_number,
    )


@handlers.on(Supporter, "Absorbed")
def _absorbed(tx: ViewTx, e: Any) -> None:
    facts.move_supporter(tx, str(e.duplicate_id), str(e.originator_id), ["gifts", "receipts"])


@handlers.on(Supporter, "Erased")
def _erased(tx: ViewTx, e: Any) -> None:
    # The receipt numbers, amounts and dates stay for the books; the name goes.
    tx.run(
        "UPDATE {receipts} SET donor_name = '' WHERE supporter_id = :id", id=str(e.originator_id)
    )


@handlers.on(TaxReceipt, "Emailed")
def _emailed(tx: ViewTx, e: Any) -> None:
    tx.run(
        "UPDATE {receipts} SET status = :status WHERE receipt_id = :id",
        status=ReceiptStatus.EMAILED.value,
        id=str(e.originator_id),
    )


@handlers.on(TaxReceipt, "Voided")
def _voided(tx: ViewTx, e: Any) -> None:
    tx.run(
        "UPDATE {receipts} SET status = :status, replaced_by_number = :by WHERE receipt_id = :id",
        status=REPLACED if e.replaced_by_number else ReceiptStatus.VOID.value,
        by=e.replaced_by_number,
        id=str(e.originator_id),
    )


class RegisterProjection(ViewProjection):
    schema = SCHEMA
    handlers = handlers


# Reading -----------------------------------------------------------------------------------


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


@dataclass(frozen=True)
class Unreceipted:
    supporter_id: str
    currency: str
    gifts: int
    amount_minor: int
    held: int  # gifts under an open dispute, not receiptable until it closes


def receipts(
    store: ViewStore,
    *,
    tax_year: int | None = None,
    supporter_id: str | None = None,
    status: str | None = None,
    number: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[int, list[ReceiptEntry]]:
    clauses, params = ["1 = 1"], {}
    for column, value in (("tax_year", tax_year), ("supporter_id", supporter_id),
                          ("status", status), ("number", number)):  # fmt: skip
        if value is not None:
            clauses.append(f"{column} = :{column}")
            params[column] = value
    where = " AND ".join(clauses)
    with store.read() as tx:
        total = tx.value(f"SELECT COUNT(*) AS n FROM {{receipts}} WHERE {where}", **params)
        rows = tx.all(
            f"SELECT * FROM {{receipts}} WHERE {where} ORDER BY tax_year, number"
            " LIMIT :limit OFFSET :offset",
            limit=limit,
            offset=offset,
            **params,
        )
    return int(total), [
        ReceiptEntry(
            receipt_id=r["receipt_id"],
            number=r["number"],
            kind=r["kind"],
            supporter_id=r["supporter_id"],
            donor_name=r["donor_name"],
            tax_year=int(r["tax_year"]),
            currency=r["currency"],
            amount_minor=int(r["amount"]),
            eligible_minor=int(r["eligible"]),
            gift_count=int(r["gift_count"]),
            status=r["status"],
            issued_on=r["issued_on"],
            replaces_number=r["replaces_number"],
            replaced_by_number=r["replaced_by_number"],
        )
        for r in rows
    ]


def unreceipted(store: ViewStore, tax_year: int) -> list[Unreceipted]:
    """Per supporter and currency, the gifts of `tax_year` no valid receipt covers yet."""
    with store.read() as tx:
        rows = tx.all(
            "SELECT supporter_id, currency, COUNT(*) AS gifts,"
            " SUM(amount - refunded - lost) AS amount,"
            " SUM(CASE WHEN open_disputes > 0 THEN 1 ELSE 0 END) AS held"
            " FROM {gifts} WHERE receipt_id IS NULL AND amount - refunded - lost > 0"
            " AND SUBSTR(received_at, 1, 4) = :year"
            " GROUP BY supporter_id, currency ORDER BY supporter_id, currency",
            year=f"{tax_year:04d}",
        )
    return [
        Unreceipted(
            supporter_id=r["supporter_id"],
            currency=r["currency"],
            gifts=int(r["gifts"]),
            amount_minor=int(r["amount"]),
            held=int(r["held"]),
        )
        for r in rows
    ]


def unreceipted_gift_ids(
    store: ViewStore, supporter_id: str, tax_year: int, currency: str
) -> list[str]:
    """The gifts an annual receipt for this supporter, year and currency would cover now
    (gifts held by an open dispute wait until it closes)."""
    with store.read() as tx:
        rows = tx.all(
            "SELECT gift_id FROM {gifts} WHERE receipt_id IS NULL AND open_disputes = 0"
            " AND amount - refunded - lost > 0 AND supporter_id = :sid AND currency = :currency"
            " AND SUBSTR(received_at, 1, 4) = :year ORDER BY received_at, gift_id",
            sid=supporter_id,
            currency=currency,
            year=f"{tax_year:04d}",
        )
    return [r["gift_id"] for r in rows]
