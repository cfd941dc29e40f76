"""Staff: issue, void and replace tax receipts.

Each action answers once the receipt register has applied it (read-your-writes), so the
person who acted sees the receipt in the register straight away.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from fastapi import APIRouter, HTTPException, Path, status
from pydantic import BaseModel, Field

from patronage.api.deps import AUTH_RESPONSES, PatronageDep, StaffDep
from patronage.api.register import Receipt
from patronage.application.receipting import IssueReceipt
from patronage.bootstrap import Patronage
from patronage.domain.gift import Gift
from patronage.domain.money import MoneyError, normalise_currency
from patronage.domain.receipt import ReceiptKind, TaxReceipt, receipt_id_for
from patronage.projections import register as view

router = APIRouter(
    prefix="/staff/receipts",
    tags=["staff: receipts"],
    responses={
        **AUTH_RESPONSES,
        404: {"description": "no such gift, supporter or receipt"},
        409: {"description": "a receipt rule refused it (already receipted, void, held, ...)"},
    },
)

ReceiptNumber = Annotated[str, Path(pattern=r"^\d{4}-\d{6}$", examples=["2026-000042"])]


class IssueSingleIn(BaseModel):
    gift_id: UUID


class IssueAnnualIn(BaseModel):
    supporter_id: UUID
    tax_year: int = Field(ge=1900, le=2999)
    currency: str = Field(min_length=3, max_length=3, examples=["USD"])


class ReasonIn(BaseModel):
    reason: str = Field(min_length=3, max_length=500, examples=["donor's name misspelt"])


class ReceiptActionOut(BaseModel):
    receipt_id: UUID
    number: str
    position: int = Field(description="the event log position of the action (for ?after=)")
    in_register: Receipt | None = Field(
        description="the register's entry; null if the view did not catch up in time"
    )


def _today() -> datetime:
    return datetime.now(UTC)


def _answer(patronage: Patronage, receipt_id: UUID) -> ReceiptActionOut:
    """The receipt as the register shows it, once the register has applied the action."""
    number = patronage.ledger.get_typed(receipt_id, TaxReceipt).number
    position = patronage.ledger.head()
    entry = None
    try:
        patronage.views.wait(
            "register", position, patronage.settings.read_your_writes_timeout_seconds
        )
        _total, entries = view.receipts(patronage.views.register, number=number, limit=1)
        entry = Receipt.of(entries[0]) if entries else None
    except TimeoutError:
        entry = None
    return ReceiptActionOut(
        receipt_id=receipt_id, number=number, position=position, in_register=entry
    )


def _not_found(what: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no {what}")


@router.post("/single", status_code=status.HTTP_201_CREATED)
def issue_single(body: IssueSingleIn, staff: StaffDep, patronage: PatronageDep) -> ReceiptActionOut:
    """Issue a receipt for one gift, numbered next in its tax year's series."""
    gift = patronage.ledger.get_or_none(body.gift_id, Gift)
    if gift is None:
        raise _not_found(f"gift {body.gift_id}")
    tax_year = gift.received_at.year
    with patronage.audit.action(staff, "receipt.issued", f"gift {gift.id}"):
        receipt_id = patronage.receipting.issue(
            IssueReceipt([gift.id], ReceiptKind.SINGLE, tax_year, _today().date())
        )
    return _answer(patronage, receipt_id)


@router.post("/annual", status_code=status.HTTP_201_CREATED)
def issue_annual(body: IssueAnnualIn, staff: StaffDep, patronage: PatronageDep) -> ReceiptActionOut:
    """Issue one annual receipt for a supporter's gifts of a year in one currency that no
    valid receipt covers yet (gifts receipted singly are left out; disputed ones wait)."""
    try:
        currency = normalise_currency(body.currency)
    except MoneyError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(error)) from None
    patronage.views.wait(
        "register", patronage.ledger.head(), patronage.settings.read_your_writes_timeout_seconds
    )
    gift_ids = view.unreceipted_gift_ids(
        patronage.views.register, str(body.supporter_id), body.tax_year, currency
    )
    if not gift_ids:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            detail=f"no unreceipted {currency} gifts of {body.tax_year} for this supporter",
        )
    subject = f"supporter {body.supporter_id}"
    with patronage.audit.action(staff, "receipt.issued", subject, {"year": str(body.tax_year)}):
        receipt_id = patronage.receipting.issue(
            IssueReceipt(
                [UUID(g) for g in gift_ids], ReceiptKind.ANNUAL, body.tax_year, _today().date()
            )
        )
    return _answer(patronage, receipt_id)


@router.post("/{number}/void")
def void_receipt(
    number: ReceiptNumber, body: ReasonIn, staff: StaffDep, patronage: PatronageDep
) -> ReceiptActionOut:
    """Void a receipt: it stays in the register, is never emailed again, and its gifts may
    be receipted again."""
    receipt_id = receipt_id_for(number)
    try:
        with patronage.audit.action(staff, "receipt.voided", number, {"reason": body.reason}):
            patronage.receipting.void(receipt_id, body.reason, by=staff)
    except AggregateNotFoundError:
        raise _not_found(f"receipt {number}") from None
    return _answer(patronage, receipt_id)


@router.post("/{number}/replace", status_code=status.HTTP_201_CREATED)
def replace_receipt(
    number: ReceiptNumber, body: ReasonIn, staff: StaffDep, patronage: PatronageDep
) -> ReceiptActionOut:
    """Void a receipt and issue its replacement, which names the original's number."""
    try:
        with patronage.audit.action(staff, "receipt.replaced", number, {"reason": body.reason}):
            replacement = patronage.receipting.replace(
                receipt_id_for(number), body.reason, by=staff, issued_on=_today().date()
            )
    except AggregateNotFoundError:
        raise _not_found(f"receipt {number}") from None
    return _answer(patronage, replacement)
