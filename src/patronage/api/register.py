"""Staff: the receipt register and the lists finance works from."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from patronage.api.amounts import MoneyOut
from patronage.api.deps import PatronageDep, StaffDep
from patronage.api.read_models import STAFF_READ_RESPONSES, OffsetQuery, fresh
from patronage.domain.tax_year import tax_year_bounds
from patronage.projections import register as view

router = APIRouter(
    prefix="/staff/receipts",
    tags=["staff: receipts"],
    dependencies=[Depends(fresh("register"))],
    responses=STAFF_READ_RESPONSES,
)

TaxYear = Annotated[int, Query(ge=1900, le=2999)]
Status = Literal["issued", "emailed", "void", "replaced"]


class Receipt(BaseModel):
    receipt_id: str
    number: str
    kind: Literal["single", "annual"]
    supporter_id: str
    donor_name: str
    tax_year: int
    amount: MoneyOut
    eligible_amount: MoneyOut
    gift_count: int
    status: Status
    issued_on: str
    replaces_number: str
    replaced_by_number: str
    void_reason: str
    email: Literal["pending", "sent", "failed"] = Field(
        description="the email outbox: pending, sent, or failed (retried with back-off)"
    )
    email_error: str
    needs_correction: bool = Field(
        description="a refund or lost dispute left a line above what its gift holds now"
    )

    @classmethod
    def of(cls, e: view.ReceiptEntry) -> Receipt:
        # The entry's fields by their names, but for its amounts (minor units, one currency)
        # and its email state.
        return cls.model_validate(
            vars(e)
            | {
                "amount": MoneyOut.of(e.amount_minor, e.currency),
                "eligible_amount": MoneyOut.of(e.eligible_minor, e.currency),
                "email": e.email_state,
            }
        )


class Register(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[Receipt]


Limit = Annotated[int, Query(ge=1, le=1000)]


@router.get("")
def receipt_register(
    _staff: StaffDep,
    patronage: PatronageDep,
    tax_year: TaxYear | None = None,
    supporter_id: UUID | None = None,
    status: Status | None = None,
    kind: Literal["single", "annual"] | None = None,
    search: Annotated[
        str | None,
        Query(
            max_length=200,
            pattern=r"^[^\x00-\x1f]*$",  # no control characters (PostgreSQL refuses NUL)
            description="a receipt number, supporter id or name",
        ),
    ] = None,
    limit: Limit = 100,
    offset: OffsetQuery = 0,
) -> Register:
    """Every receipt, voided and replaced ones included, by year and number."""
    total, entries = view.receipts(
        patronage.views.register,
        tax_year=tax_year,
        supporter_id=str(supporter_id) if supporter_id else None,
        status=status,
        kind=kind,
        search=search,
        limit=limit,
        offset=offset,
    )
    return Register(total=total, limit=limit, offset=offset, items=[Receipt.of(e) for e in entries])


@router.get("/needs-correction")
def needs_correction(
    _staff: StaffDep, patronage: PatronageDep, limit: Limit = 100, offset: OffsetQuery = 0
) -> Register:
    """Valid receipts a refund or a lost dispute has made wrong: replace each (one action
    voids it and issues the corrected receipt)."""
    total, entries = view.receipts(
        patronage.views.register, needs_correction=True, limit=limit, offset=offset
    )
    return Register(total=total, limit=limit, offset=offset, items=[Receipt.of(e) for e in entries])


class UnreceiptedGifts(BaseModel):
    supporter_id: str
    gifts: int
    amount: MoneyOut
    held: int


@router.get("/unreceipted")
def unreceipted(
    _staff: StaffDep, patronage: PatronageDep, tax_year: TaxYear
) -> list[UnreceiptedGifts]:
    """Per supporter and currency, the gifts of a tax year (in the organisation's time zone)
    no valid receipt covers yet (net of refunds; `held` counts those under an open dispute)."""
    year = tax_year_bounds(tax_year, patronage.settings.zone)
    return [
        UnreceiptedGifts(
            supporter_id=u.supporter_id,
            gifts=u.gifts,
            amount=MoneyOut.of(u.amount_minor, u.currency),
            held=u.held,
        )
        for u in view.unreceipted(patronage.views.register, year)
    ]


class MissingDetailsOut(BaseModel):
    supporter_id: str
    name: str
    missing: list[str] = Field(examples=[["postal address"]])
    gifts: int


@router.get("/missing-details")
def missing_details(
    _staff: StaffDep, patronage: PatronageDep, tax_year: TaxYear
) -> list[MissingDetailsOut]:
    """Supporters with gifts of the year to receipt whose details the organisation's
    receipts require but who lack them: complete these before year end."""
    return [
        MissingDetailsOut(
            supporter_id=m.supporter_id, name=m.name, missing=m.missing, gifts=m.gifts
        )
        for m in patronage.receipting.missing_details(tax_year)
    ]


class GiftOut(BaseModel):
    gift_id: str
    kind: str
    received_at: str
    amount: MoneyOut
    refunded: MoneyOut
    disputed_lost: MoneyOut
    open_disputes: int
    receipt_number: str = Field(description="the valid receipt covering it; empty if none")
    receipt_status: str


@router.get("/supporters/{supporter_id}/gifts")
def supporter_gifts(supporter_id: UUID, _staff: StaffDep, patronage: PatronageDep) -> list[GiftOut]:
    """A supporter's gifts, newest first, with their ids (for a single receipt) and the
    receipt covering each."""
    return [
        GiftOut(
            gift_id=g.gift_id,
            kind=g.kind,
            received_at=g.received_at,
            amount=MoneyOut.of(g.amount_minor, g.currency),
            refunded=MoneyOut.of(g.refunded_minor, g.currency),
            disputed_lost=MoneyOut.of(g.lost_minor, g.currency),
            open_disputes=g.open_disputes,
            receipt_number=g.receipt_number,
            receipt_status=g.receipt_status,
        )
        for g in view.supporter_gifts(patronage.views.register, str(supporter_id))
    ]
