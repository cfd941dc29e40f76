"""Sample campaigns and variants for tests."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from patronage.domain.campaign import (
    Action,
    CampaignSpec,
    CampaignStatus,
    SuggestedAmounts,
    Targeting,
    Variant,
)

USD = SuggestedAmounts("USD", (500, 1000, 2500), (500, 1000, 2000), 1000, 1000)


def variant(name: str = "control", **changes: Any) -> Variant:
    base = Variant(
        name=name,
        heading=f"Support us ({name})",
        paragraphs=("Independent journalism costs money.",),
        cta=Action("Give now", "https://example.org/give"),
        amounts=(USD,),
    )
    return replace(base, **changes)


def spec(code: str = "spring", priority: int = 0, **targeting: Any) -> CampaignSpec:
    return CampaignSpec(
        code=code,
        name=code.title(),
        priority=priority,
        status=CampaignStatus.LIVE,
        targeting=Targeting(**targeting),
        variants=(variant("control"), variant("urgent")),
    )
