"""Staff: the supporter list (search, sort, page; emails masked) and one supporter."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel

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
    supporter_id: str
    email: str
    name: str
    stripe_customer_ids: list[str]
    gift_count: int
    first_gift_at: str | None
    last_gift_at: str | None
    membership_status: str | None
    membership_monthly: MoneyOut | None
    receipts_issued: int
    lifetime: list[CurrencyTotals]
    this_year: list[CurrencyTotals]

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
