"""Staff: the supporter list (search, sort, page; emails masked) and one supporter."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel, Field

from patronage.api.amounts import MoneyOut
from patronage.api.deps import PatronageDep, StaffDep, answers
from patronage.api.read_models import STAFF_READ_RESPONSES, OffsetQuery, fresh
from patronage.logs import mask_email
from patronage.projections import supporters as view

router = APIRouter(
    prefix="/staff/supporters", tags=["staff: supporters"], responses=STAFF_READ_RESPONSES
)


class CurrencyTotals(BaseModel):
    currency: str
    gross: MoneyOut
    refunded: MoneyOut
    disputes_lost: MoneyOut
    net: MoneyOut

    @classmethod
    def of(cls, t: view.MoneyTotals) -> CurrencyTotals:
        return cls(
            currency=t.currency,
            gross=MoneyOut.of(t.gross, t.currency),
            refunded=MoneyOut.of(t.refunded, t.currency),
            disputes_lost=MoneyOut.of(t.lost, t.currency),
            net=MoneyOut.of(t.net, t.currency),
        )


class Supporter(BaseModel):
    """One person who gives, as finance sees them; money per currency, never converted."""

    supporter_id: str
    email: str = Field(description="Masked (a***@example.org) in the list, whole for one")
    name: str = Field(description="Empty when Stripe had no name for them, or once erased")
    stripe_customer_ids: list[str] = Field(description="Their customers in Stripe (cus_...)")
    gift_count: int = Field(description="Gifts received from them; a refunded gift counts")
    first_gift_at: str | None = Field(description="When their first gift was received (ISO)")
    last_gift_at: str | None = Field(description="When their latest gift was received (ISO)")
    membership_status: str | None = Field(
        description="Their membership's status, a live one before an ended one; none if never"
    )
    membership_monthly: MoneyOut | None = Field(description="What that membership gives a month")
    receipts_issued: int = Field(description="Tax receipts issued to them and not voided")
    lifetime: list[CurrencyTotals] = Field(description="Every year's money, per currency")
    this_year: list[CurrencyTotals] = Field(
        description="This calendar year's (UTC): money in the year of its own event"
    )

    @classmethod
    def of(cls, row: view.SupporterRow, *, full_email: bool) -> Supporter:
        monthly = row.membership_monthly
        # The row's fields by their names, but for the email and the amounts.
        return cls.model_validate(
            vars(row)
            | {
                "email": row.email if full_email else mask_email(row.email),
                "membership_monthly": MoneyOut.of(monthly) if monthly else None,
                "lifetime": [CurrencyTotals.of(t) for t in row.lifetime],
                "this_year": [CurrencyTotals.of(t) for t in row.this_year],
            }
        )


class SupporterList(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[Supporter]


_Q = "part of an email or name, or a whole Stripe customer id"


def _this_year() -> int:
    return datetime.now(UTC).year


@router.get("", dependencies=[Depends(fresh("supporters"))])
def list_supporters(
    _staff: StaffDep,
    patronage: PatronageDep,
    # No control characters: PostgreSQL refuses NUL in text, and no name or email has them.
    q: Annotated[str, Query(max_length=200, pattern=r"^[^\x00-\x1f]*$", description=_Q)] = "",
    sort: view.SortKey = "name",
    order: Annotated[Literal["asc", "desc"], Query()] = "asc",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: OffsetQuery = 0,
) -> SupporterList:
    """Supporters matching `q`, sorted and paged; emails are masked in the list."""
    page = view.search(
        patronage.views.supporters,
        query=q,
        sort=sort,
        descending=order == "desc",
        limit=limit,
        offset=offset,
        year=_this_year(),
    )
    return SupporterList(
        total=page.total,
        limit=limit,
        offset=offset,
        items=[Supporter.of(r, full_email=False) for r in page.rows],
    )


@router.get(
    "/{supporter_id}",
    dependencies=[Depends(fresh("supporters"))],
    responses=answers(not_found="no such supporter"),
)
def get_supporter(_staff: StaffDep, patronage: PatronageDep, supporter_id: UUID) -> Supporter:
    """One supporter, with the full email address."""
    row = view.one(patronage.views.supporters, str(supporter_id), year=_this_year())
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no supporter {supporter_id}")
    return Supporter.of(row, full_email=True)
