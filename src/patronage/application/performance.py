"""Views, conversion and revenue per thousand views for each variant of a campaign.

Gifts per variant and the amount raised come from the totals views (projections); this
module only names what it needs from them, as Protocols the composition root wires.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from patronage.domain.campaign import VariantGifts
from patronage.domain.money import Money


class GiftsPerVariant(Protocol):
    def gifts_per_variant(self, campaign: str) -> Mapping[str, VariantGifts]:
        """Gifts attributed to each variant of `campaign` (by Attribution.variant)."""
        ...


class RaisedForCampaign(Protocol):
    def raised(self, campaign: str, currency: str) -> Money:
        """Money raised by gifts attributed to `campaign`, in `currency`, for its ticker."""
        ...


@dataclass(frozen=True, slots=True)
class VariantPerformance:
    variant: str
    views: int
    gifts: int
    conversion_bp: int | None  # gifts per 10,000 views; None before the first view
    revenue: tuple[Money, ...]
    revenue_per_mille: tuple[Money, ...]  # per currency, floored to a minor unit


def performance(
    variants: list[str], views: Mapping[str, int], gifts: Mapping[str, VariantGifts]
) -> list[VariantPerformance]:
    rows = []
    for name in variants:
        seen = views.get(name, 0)
        given = gifts.get(name, VariantGifts(0, ()))
        revenue = given.amounts
        rows.append(
            VariantPerformance(
                variant=name,
                views=seen,
                gifts=given.count,
                conversion_bp=given.count * 10_000 // seen if seen else None,
                revenue=revenue,
                revenue_per_mille=tuple(
                    Money(m.minor * 1000 // seen, m.currency) for m in revenue if seen
                ),
            )
        )
    return rows
