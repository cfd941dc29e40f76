"""What each campaign has won, read from the views: gifts per variant, and money raised.

The asks side (performance per variant, the bandit, the ticker) names these needs as
Protocols in `application/performance.py`; this is their one implementation, over the totals and
ticker views.
"""

from __future__ import annotations

from collections import defaultdict

from patronage.domain.campaign import VariantGifts
from patronage.domain.money import Money
from patronage.projections import totals
from patronage.projections.catalog import Views


class CampaignResults:
    def __init__(self, views: Views) -> None:
        self.views = views

    def gifts_per_variant(self, campaign: str) -> dict[str, VariantGifts]:
        """Gift count and net amount per currency for each variant of `campaign`."""
        rows = totals.by_campaign(self.views.totals, totals.Filters(campaign=campaign))
        per_variant: dict[str, list[totals.TotalsRow]] = defaultdict(list)
        for row in rows:
            per_variant[row.key[1]].append(row)
        return {
            variant: VariantGifts(
                count=sum(r.amounts.gifts for r in variant_rows),
                amounts=tuple(Money(r.amounts.net, r.currency) for r in variant_rows),
            )
            for variant, variant_rows in per_variant.items()
        }

    def raised(self, campaign: str, currency: str) -> Money:
        """Money raised for the campaign's ticker, in the goal's currency."""
        amounts = self.views.raised(campaign).amounts
        return next((m for m in amounts if m.currency == currency), Money.zero(currency))
