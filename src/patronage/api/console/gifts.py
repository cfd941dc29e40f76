"""Console: the gift list with filters and totals, and totals by period, campaign, article."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response

from patronage.api.console.charts import BarChart, bar_chart
from patronage.api.console.filters import KINDS, STATUSES, GiftQuery, gift_query
from patronage.api.console.pages import FinancePage, money
from patronage.api.deps import PatronageDep
from patronage.projections import gift_list
from patronage.projections import totals as view

router = APIRouter(prefix="/console", include_in_schema=False)
PAGE = 50


@router.get("/gifts", response_class=HTMLResponse)
def gifts(
    page: FinancePage,
    patronage: PatronageDep,
    query: Annotated[GiftQuery, Depends(gift_query)],
    offset: int = 0,
) -> Response:
    store = patronage.views.supporters
    total, lines = gift_list.gift_page(store, query.filters, limit=PAGE, offset=max(offset, 0))
    return page.render(
        "gifts.html", lines=lines, total=total, limit=PAGE,
        offset=max(offset, 0), q=query, f=query.filters, kinds=KINDS, statuses=STATUSES,
        totals=gift_list.gift_totals(store, query.filters),
    )  # fmt: skip


def _chart(title: str, rows: list[view.TotalsRow], currency: str) -> BarChart:
    points = [
        (" · ".join(k for k in r.key if k) or "(none)", r.amounts.net,
         money(r.amounts.net, r.currency))
        for r in rows
        if r.currency == currency
    ]  # fmt: skip
    return bar_chart(title, points)


@router.get("/totals", response_class=HTMLResponse)
def totals(
    page: FinancePage,
    patronage: PatronageDep,
    period: Literal["day", "month", "year"] = "month",
    currency: str = "",
) -> Response:
    store = patronage.views.totals
    filters = view.Filters()
    periods = view.by_period(store, period, filters)
    campaigns = view.by_campaign(store, filters)
    articles = view.by_article(store, filters)
    default = patronage.settings.default_currency
    currencies = sorted({r.currency for r in periods} | {default})
    shown = currency.upper() if currency.upper() in currencies else default
    recent = [r for r in periods if r.currency == shown][-24:]
    return page.render(
        "totals.html", period=period, currency=shown, currencies=currencies,
        periods=periods, campaigns=campaigns, articles=articles,
        members=view.members(store),
        period_chart=_chart(f"Net {shown} by {period}", recent, shown),
        campaign_chart=_chart(f"Net {shown} by campaign and variant", campaigns, shown),
    )  # fmt: skip
