"""Each view equals a fold of the whole history computed from scratch, for random histories,
with the views caught up at random points along the way (and again at the end)."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patronage.bootstrap import bootstrap
from patronage.config import load_settings
from patronage.domain.tax_year import tax_year_bounds
from patronage.projections import register, supporters, ticker, totals
from patronage.projections.base import iso
from patronage.projections.catalog import Views
from tests.support.projections import (
    CAMPAIGNS,
    ORG_TIME_ZONE,
    YEARS,
    Expected,
    Step,
    catch_up_all,
    expected,
    run_step,
    steps,
)
from tests.support.stores import STORES, store_settings

NEW_YORK = ZoneInfo(ORG_TIME_ZONE)

THIS_YEAR = 2026


def _views_equal_fold(store: str, tmp_path: Path, history: list[Step]) -> None:
    with store_settings(store, tmp_path) as overrides:
        patronage = bootstrap(load_settings(_env_file=None, **overrides))
        try:
            for step in history:
                run_step(patronage, step)
            catch_up_all(patronage)
            _check(patronage.views, expected(patronage.ledger, THIS_YEAR))
        finally:
            patronage.close()


def _check(views: Views, want: Expected) -> None:
    page = supporters.search(views.supporters, limit=500, year=THIS_YEAR)
    got = {
        r.supporter_id: {
            "email": r.email,
            "name": r.name,
            "stripe_customer_ids": r.stripe_customer_ids,
            "gift_count": r.gift_count,
            "first_gift_at": r.first_gift_at,
            "last_gift_at": r.last_gift_at,
            "membership_status": r.membership_status,
            "membership_monthly": r.membership_monthly,
            "receipts_issued": r.receipts_issued,
            "lifetime": {t.currency: (t.gross, t.refunded, t.lost) for t in r.lifetime},
            "this_year": {t.currency: (t.gross, t.refunded, t.lost) for t in r.this_year},
        }
        for r in page.rows
    }
    for row in want.supporters.values():
        for key in ("first_gift_at", "last_gift_at"):
            row[key] = iso(row[key]) if row[key] else None
    assert page.total == len(want.supporters)
    assert got == want.supporters

    def amounts(rows: list[totals.TotalsRow]) -> dict[tuple[str, ...], dict[str, int]]:
        return {
            (*r.key, r.currency): {
                "gifts": r.amounts.gifts,
                "gross": r.amounts.gross,
                "refunded": r.amounts.refunded,
                "disputed": r.amounts.disputed,
                "lost": r.amounts.lost,
            }
            for r in rows
        }

    everything = totals.Filters()
    assert amounts(totals.by_period(views.totals, "day", everything)) == want.by_day
    assert amounts(totals.by_article(views.totals, everything)) == want.by_article
    assert amounts(totals.by_campaign(views.totals, everything)) == want.by_campaign
    by_year: dict[tuple[str, ...], dict[str, int]] = {}
    for (day, currency), v in want.by_day.items():
        acc = by_year.setdefault((day[:4], currency), dict.fromkeys(v, 0))
        for k, n in v.items():
            acc[k] += n
    assert amounts(totals.by_period(views.totals, "year", everything)) == by_year

    members = totals.members(views.totals)
    assert {a.currency: (a.members, a.monthly_recurring_minor) for a in members.active} == (
        want.active
    )
    assert {m.month: (m.started, m.lapsed) for m in members.months} == want.months

    total, entries = register.receipts(views.register, limit=1000)
    assert total == len(want.receipts)
    assert {
        e.number: {
            "supporter_id": e.supporter_id,
            "tax_year": e.tax_year,
            "amount_minor": e.amount_minor,
            "eligible_minor": e.eligible_minor,
            "status": e.status,
            "replaces_number": e.replaces_number,
        }
        for e in entries
    } == want.receipts
    got_unreceipted = {
        (year, u.supporter_id, u.currency): (u.gifts, u.amount_minor, u.held)
        for year in YEARS
        for u in register.unreceipted(views.register, tax_year_bounds(year, NEW_YORK))
    }
    assert got_unreceipted == want.unreceipted

    for campaign in CAMPAIGNS[1:]:
        r = ticker.raised(views.ticker, campaign)
        amounts_, backers, gifts = want.raised.get(campaign, ({}, 0, 0))
        assert {m.currency: m.minor for m in r.amounts} == amounts_
        assert (r.supporters, r.gifts) == (backers, gifts)


histories = st.lists(steps, min_size=10, max_size=40)


@pytest.mark.parametrize("store", STORES)
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(history=histories)
def test_every_view_equals_a_fold_of_the_history(
    store: str, tmp_path_factory: pytest.TempPathFactory, history: list[Step]
) -> None:
    _views_equal_fold(store, tmp_path_factory.mktemp("fold"), history)
