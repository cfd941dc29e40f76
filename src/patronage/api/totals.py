"""Staff: totals by period, article and campaign, and members, with filters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, ClassVar, Self

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from patronage.api.amounts import MoneyOut
from patronage.api.deps import PatronageDep, StaffDep
from patronage.api.read_models import (
    CURRENCY_PATTERN,
    STAFF_READ_RESPONSES,
    currency_param,
    fresh,
    invalid_query,
)
from patronage.projections import totals as view
from patronage.projections.store import ViewStore

router = APIRouter(
    prefix="/staff/totals",
    tags=["staff: totals"],
    dependencies=[Depends(fresh("totals"))],
    responses=STAFF_READ_RESPONSES,
)

_CODE = r"^[A-Za-z0-9_.:/-]{1,100}$"


def filters(
    since: Annotated[date | None, Query(description="first day, inclusive (UTC)")] = None,
    until: Annotated[date | None, Query(description="last day, inclusive (UTC)")] = None,
    currency: Annotated[str | None, Query(pattern=CURRENCY_PATTERN)] = None,
    campaign: Annotated[str | None, Query(pattern=_CODE)] = None,
    article: Annotated[str | None, Query(pattern=_CODE)] = None,
) -> view.Filters:
    if since and until and since > until:
        raise invalid_query("until", str(until), f"until ({until}) is before since ({since})")
    return view.Filters(since, until, currency_param(currency), campaign, article)


@dataclass(frozen=True)
class TotalsRead:
    """A staff read of the totals view, with the filters it asks for."""

    store: ViewStore
    filters: view.Filters


def totals_read(
    _staff: StaffDep, patronage: PatronageDep, filters: Annotated[view.Filters, Depends(filters)]
) -> TotalsRead:
    return TotalsRead(patronage.views.totals, filters)


ReadDep = Annotated[TotalsRead, Depends(totals_read)]


class Totals(BaseModel):
    KEY: ClassVar[tuple[str, ...]] = ()  # the fields a row's key fills, in its order

    currency: str
    gifts: int
    gross: MoneyOut
    refunded: MoneyOut
    disputed: MoneyOut
    disputes_lost: MoneyOut
    net: MoneyOut
    one_time_gross: MoneyOut
    monthly_gross: MoneyOut

    @classmethod
    def of(cls, row: view.TotalsRow) -> Self:
        a, c = row.amounts, row.currency
        return cls(
            **dict(zip(cls.KEY, row.key, strict=True)),
            currency=c,
            gifts=a.gifts,
            gross=MoneyOut.of(a.gross, c),
            refunded=MoneyOut.of(a.refunded, c),
            disputed=MoneyOut.of(a.disputed, c),
            disputes_lost=MoneyOut.of(a.lost, c),
            net=MoneyOut.of(a.net, c),
            one_time_gross=MoneyOut.of(a.one_time_gross, c),
            monthly_gross=MoneyOut.of(a.monthly_gross, c),
        )


class PeriodTotals(Totals):
    KEY = ("period",)
    period: str


class ArticleTotals(Totals):
    KEY = ("article_id",)
    article_id: str


class CampaignTotals(Totals):
    KEY = ("campaign", "variant")
    campaign: str
    variant: str


@router.get("")
def totals_by_period(read: ReadDep, period: view.Period = "month") -> list[PeriodTotals]:
    """Money per day, month or year and currency."""
    return [PeriodTotals.of(r) for r in view.by_period(read.store, period, read.filters)]


@router.get("/articles")
def totals_by_article(read: ReadDep) -> list[ArticleTotals]:
    """Money per article ("" for gifts no article page led to)."""
    return [ArticleTotals.of(r) for r in view.by_article(read.store, read.filters)]


@router.get("/campaigns")
def totals_by_campaign(read: ReadDep) -> list[CampaignTotals]:
    """Gifts and money per campaign and variant of the ask."""
    return [CampaignTotals.of(r) for r in view.by_campaign(read.store, read.filters)]


class ActiveMembers(BaseModel):
    currency: str
    members: int
    monthly_recurring_revenue: MoneyOut


class MemberMonth(BaseModel):
    month: str
    started: int
    lapsed: int


class Members(BaseModel):
    active: list[ActiveMembers]
    months: list[MemberMonth]


@router.get("/members")
def members(_staff: StaffDep, patronage: PatronageDep) -> Members:
    """Active members and monthly recurring revenue now; memberships started and lapsed
    (cancelled) per month. Active means active, past due or cancelling at period end."""
    m = view.members(patronage.views.totals)
    return Members(
        active=[
            ActiveMembers(
                currency=a.currency,
                members=a.members,
                monthly_recurring_revenue=MoneyOut.of(a.monthly_recurring_minor, a.currency),
            )
            for a in m.active
        ],
        months=[MemberMonth(month=x.month, started=x.started, lapsed=x.lapsed) for x in m.months],
    )
