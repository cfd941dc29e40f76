"""A burst of first gifts alternates each giver's registration and their gift; the views
that keep a row per supporter fold both into one run (facts.GiftsAndNewGivers). The rows a
folded run leaves are those its events leave applied one by one, in either order."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest

from patronage.bootstrap import Patronage
from patronage.domain.gift import Gift
from patronage.domain.money import Money
from patronage.domain.supporter import Supporter
from patronage.domain.values import Attribution
from patronage.projections import supporters
from patronage.projections.supporters import SupporterRow


def _registration_and_gift(name: str) -> list[Any]:
    supporter = Supporter.register(uuid4(), f"{name}@example.org", name, consent_to_contact=False)
    gift = Gift(
        payment_id=f"pi_{name}",
        supporter_id=supporter.id,
        amount=Money(2500, "USD"),
        received_at=datetime(2026, 5, 1, tzinfo=UTC),
        kind="one_time",
        attribution=Attribution("story-1", "spring", "a"),
        benefit_value=Money.zero("USD"),
        fee_covered=Money.zero("USD"),
    )
    return [*supporter.collect_events(), *gift.collect_events()]


def _without_who(row: SupporterRow) -> tuple[Any, ...]:
    return (row.gift_count, row.first_gift_at, row.last_gift_at, row.lifetime, row.this_year)


@pytest.mark.parametrize("gift_first", [False, True], ids=["registered first", "gift first"])
def test_a_folded_run_of_new_givers_leaves_the_rows_of_its_events_one_by_one(
    patronage: Patronage, gift_first: bool
) -> None:
    projection = patronage.views.projection("supporters")
    view = projection.view
    folded, alone = _registration_and_gift("folded"), _registration_and_gift("alone")
    if gift_first:  # never from a checkout, but the log's order decides, not the fold
        folded.reverse()
        alone.reverse()

    with view.transaction(commit=True) as cursor:
        projection.apply_all(view.tx(cursor), folded)
    for event in alone:
        with view.transaction(commit=True) as cursor:
            projection.handlers.dispatch(view.tx(cursor), event)

    rows = {r.name: r for r in supporters.search(view, year=2026).rows}
    assert _without_who(rows["folded"]) == _without_who(rows["alone"])
    assert rows["folded"].gift_count == (0 if gift_first else 1)
