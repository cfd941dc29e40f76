"""Campaign commands: each change checked by the campaign's rules and recorded with who made
it; the catalogue the asks read follows at once."""

from __future__ import annotations

from dataclasses import replace

import pytest

from patronage.application.campaigns import CampaignSettings, UnknownCampaignError
from patronage.domain.campaign import CampaignRuleError, CampaignStatus, Targeting
from patronage.domain.money import Money
from tests.support.campaigns import variant
from tests.support.memory import Services

SETTINGS = CampaignSettings(
    "spring-drive", "Spring drive", 10, Targeting(holdback_bp=500), Money(2_500_000, "USD")
)


def test_staff_manage_a_campaign_and_see_who_changed_it(services: Services) -> None:
    campaigns = services.campaigns
    campaigns.create(SETTINGS, [variant("control")], by="staff-key-1")
    with pytest.raises(CampaignRuleError, match="already exists"):
        campaigns.create(SETTINGS, [variant("control")], by="staff-key-1")

    assert campaigns.start("spring-drive", by="staff-key-1").status == CampaignStatus.LIVE
    edited = campaigns.edit_copy(
        "spring-drive", replace(variant("control"), heading="New heading"), by="staff-key-2"
    )
    assert edited.variants[0].heading == "New heading"
    assert campaigns.pause("spring-drive", by="staff-key-1").status == CampaignStatus.PAUSED
    head = services.ledger.head()
    with pytest.raises(CampaignRuleError, match="cannot pause"):
        campaigns.pause("spring-drive", by="staff-key-1")
    assert services.ledger.head() == head, "a refused change records nothing"
    with pytest.raises(UnknownCampaignError):
        campaigns.start("nope", by="staff-key-1")

    history = campaigns.history("spring-drive")
    assert [h.change for h in history] == [
        "Created", "VariantAdded", "Started", "CopyEdited", "Paused"
    ]  # fmt: skip
    assert [h.by for h in history] == ["staff-key-1"] * 3 + ["staff-key-2", "staff-key-1"]
    [spec] = campaigns.catalogue.specs()
    assert (spec.code, spec.status, spec.goal) == (
        "spring-drive",
        CampaignStatus.PAUSED,
        Money(2_500_000, "USD"),
    )
