"""Staff: the receipt register and the gifts not yet receipted."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from patronage.api.deps import PatronageDep, StaffDep
from patronage.api.read_models import STAFF_READ_RESPONSES, MoneyOut, OffsetQuery, fresh
from patronage.projections import register as view

router = APIRouter(
    prefix="/staff/receipts",
    tags=["staff: receipts"],
    dependencies=[Depends(fresh("register"))],
    responses=STAFF_READ_RESPONSES,
)

TaxYear = Annotated[int, Query(ge=1900, le=2999)]


class Receipt(BaseModel):
    receipt_id: str
    number: str
    kind: str
    supporter_id: str
    donor_name: str
    tax_year: int
    amount: MoneyOut
    eligible_amount: MoneyOut
    gift_count: int
    status: Literal["issued", "emailed", "void", "replaced"]
    issued_on: str
    replaces_number: str
    replaced_by_number: str

    @classmethod
    def of(cls, e: view.ReceiptEntry) -> Receipt:
        return cls(
            receipt_id=e.receipt_id,
            number=e.number,
            kind=e.kind,
            supporter_id=e.supporter_id,
            donor_name=e.donor_name,
            tax_year=e.tax_year,
            amount=MoneyOut.of(e.amount_minor, e.currency),
            eligible_amount=MoneyOut.of(e.eligible_minor, e.currency),
            gift_count=e.gift_count,
            status=e.status,
            issued_on=e.issued_on,
            replaces_number=e.replaces_number,
            replaced_by_number=e.replaced_by_number,
        )


class Register(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[Receipt]


@router.get("")
def receipt_register(
    _staff: StaffDep,
    patronage: PatronageDep,
    tax_year: TaxYear | None = None,
    supporter_id: UUID | None = None,
    status: Literal["issued", "emailed", "void", "replaced"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: OffsetQuery = 0,
) -> Register:
    """Every receipt, voided and replaced ones included, by year and number."""
    total, entries = view.receipts(
        patronage.views.register,
        tax_year=tax_year,
        supporter_id=str(supporter_id) if supporter_id else None,
        status=status,
        limit=limit,
        offset=offset,
    )
    return Register(
        total=total,
        limit=limit,
        offset=offset,
        items=[Receipt.of(e) for e in entries],
    )


class UnreceiptedGifts(BaseModel):
    supporter_id: str
    gifts: int
    amount: MoneyOut
    held: int


@router.get("/unreceipted")
def unreceipted(
    _staff: StaffDep, patronage: PatronageDep, tax_year: TaxYear
) -> list[UnreceiptedGifts]:
    """Per supporter and currency, the gifts of a tax year no valid receipt covers yet
    (net of refunds; `held` counts those under an open dispute)."""
    return [
        UnreceiptedGifts(
            supporter_id=u.supporter_id,
            gifts=u.gifts,
            amount=MoneyOut.of(u.amount_minor, u.currency),
            held=u.held,
        )
        for u in view.unreceipted(patronage.views.register, tax_year)
    ]
