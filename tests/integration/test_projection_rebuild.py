"""A rebuild swapped in under a runner that had fallen behind: the runner's next write is
refused, and it resumes from the rebuilt view's position without counting anything twice."""

from __future__ import annotations

import pytest
from eventsourcing.persistence import IntegrityError

from patronage.bootstrap import Patronage, rebuild_view
from patronage.projections import ticker
from patronage.projections.polling import apply_notification, catch_up, select_after
from tests.support.projections import expected, seed_many


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_a_lagging_runner_resumes_from_the_rebuilt_position(patronage: Patronage) -> None:
    ledger = patronage.ledger
    seed_many(ledger, supporters=10, gifts_each=3)
    live = patronage.views.projection("ticker")
    catch_up(ledger, live)
    lagging_at = live.view.position(ledger.name)
    seed_many(
        ledger, supporters=3, gifts_each=2, prefix="late"
    )  # events the live runner has not seen yet

    rebuilt_at = rebuild_view(patronage.settings, "ticker")
    assert rebuilt_at > lagging_at
    assert live.view.position(ledger.name) == rebuilt_at  # same names, now the new tables

    behind = select_after(ledger, live.topics, lagging_at)[0]
    with pytest.raises(IntegrityError):
        apply_notification(ledger, live, behind)  # what the lagging runner tries next
    assert catch_up(ledger, live) == rebuilt_at

    want = expected(ledger, 2026).raised
    for campaign, (amounts, backers, gifts) in want.items():
        got = ticker.raised(patronage.views.ticker, campaign)
        assert {m.currency: m.minor for m in got.amounts} == amounts
        assert (got.supporters, got.gifts) == (backers, gifts)
