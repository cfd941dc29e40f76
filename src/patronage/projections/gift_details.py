"""What the staff lists and exports show about a gift beyond the money facts: its Stripe
payment id, the fee the donor covered, the tribute, and the number of the receipt that
covers it. Kept in the supporters view (docs/projections.md), whose gift facts they extend.
"""

from __future__ import annotations

from typing import Any

from patronage.domain.gift import Gift
from patronage.domain.receipt import TaxReceipt
from patronage.projections.base import Handlers
from patronage.projections.store import Row, ViewTx

TABLES = {
    "gift_details": """CREATE TABLE IF NOT EXISTS {gift_details} (
        gift_id TEXT PRIMARY KEY, payment_id TEXT NOT NULL, fee_covered BIGINT NOT NULL,
        tribute_kind TEXT NOT NULL, tribute_name TEXT NOT NULL)""",
    "receipt_numbers": """CREATE TABLE IF NOT EXISTS {receipt_numbers} (
        receipt_id TEXT PRIMARY KEY, number TEXT NOT NULL)""",
}

handlers = Handlers()


def details_of(e: Any) -> Row:
    """The row of `gift_details` a `Gift.Received` inserts."""
    return {
        "gift_id": str(e.originator_id),
        "payment_id": e.payment_id,
        "fee_covered": e.fee_covered.minor,
        "tribute_kind": e.tribute.kind if e.tribute else "",
        "tribute_name": e.tribute.name if e.tribute else "",
    }


@handlers.on(Gift, "Received")
def _received(tx: ViewTx, e: Any) -> None:
    tx.insert("gift_details", **details_of(e))


@handlers.on(TaxReceipt, "Issued")
def _receipt_issued(tx: ViewTx, e: Any) -> None:
    tx.insert("receipt_numbers", receipt_id=str(e.originator_id), number=e.number)
