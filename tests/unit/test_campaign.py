from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from patronage.domain.campaign import (
    Audience,
    Campaign,
    CampaignRuleError,
    CampaignStatus,
    SuggestedAmounts,
    Targeting,
    Variant,
)
from patronage.domain.money import Money
from tests.support.campaigns import variant


def new_campaign() -> Campaign:
    return Campaign.create("spring", "Spring", 1, Targeting(), Money(500000, "USD"), by="ed")


def test_lifecycle_records_who_changed_what() -> None:
    campaign = new_campaign()
    campaign.add_variant(variant("control"), by="ed")
    campaign.start(by="lead")
    campaign.pause(by="night-desk")
    campaign.end(by="lead")
    events = campaign.collect_events()
    assert [type(e).__name__ for e in events] == [
        "Created", "VariantAdded", "Started", "Paused", "Ended"
    ]  # fmt: skip
    assert [e.by for e in events] == ["ed", "ed", "lead", "night-desk", "lead"]  # type: ignore[attr-defined]
    assert campaign.status == CampaignStatus.ENDED
    with pytest.raises(CampaignRuleError, match="has ended"):
        campaign.start(by="lead")


def test_a_campaign_needs_a_variant_to_start_and_keeps_one_while_live() -> None:
    campaign = new_campaign()
    with pytest.raises(CampaignRuleError, match="needs a variant"):
        campaign.start(by="ed")
    campaign.add_variant(variant("control"), by="ed")
    campaign.start(by="ed")
    with pytest.raises(CampaignRuleError, match="at least one variant"):
        campaign.retire_variant("control", by="ed")


def test_retired_variant_names_are_never_reused() -> None:
    campaign = new_campaign()
    campaign.add_variant(variant("a"), by="ed")
    campaign.add_variant(variant("b"), by="ed")
    campaign.retire_variant("a", by="ed")
    assert [v.name for v in campaign.spec().variants] == ["b"]
    with pytest.raises(CampaignRuleError, match="already exists"):
        campaign.add_variant(variant("a"), by="ed")


def test_copy_edit_replaces_a_variant_and_no_change_records_nothing() -> None:
    campaign = new_campaign()
    campaign.add_variant(variant("a"), by="ed")
    campaign.collect_events()
    campaign.edit_copy(variant("a"), by="ed")
    assert campaign.collect_events() == []
    campaign.edit_copy(variant("a", heading="New heading"), by="sub")
    assert campaign.spec().variants[0].heading == "New heading"


def test_schedule_must_be_aware_and_ordered() -> None:
    campaign = new_campaign()
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(CampaignRuleError, match="end after"):
        campaign.schedule(now, now - timedelta(days=1), by="ed")
    with pytest.raises(CampaignRuleError, match="time zone"):
        campaign.schedule(datetime(2026, 1, 1), None, by="ed")
    campaign.schedule(now, now + timedelta(days=7), by="ed")
    assert campaign.spec().ends_at == now + timedelta(days=7)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"holdback_bp": 6000, "control_bp": 5000}, "more than everyone"),
        ({"min_articles": 5, "max_articles": 2}, "min_articles"),
        ({"audiences": ()}, "audience"),
        ({"countries": ("USA",)}, "two-letter"),
        ({"max_asks": 0}, "frequency cap"),
    ],
)
def test_targeting_refuses_impossible_settings(settings: dict[str, object], message: str) -> None:
    with pytest.raises(CampaignRuleError, match=message):
        Targeting(**settings)  # type: ignore[arg-type]


def test_targeting_and_variant_round_trip_through_plain_dicts() -> None:
    targeting = Targeting(
        include_tags=("politics",), audiences=(Audience.LAPSED,), countries=("GB",), signed_in=True
    )
    assert Targeting.from_dict(targeting.as_dict()) == targeting
    v = variant("x", highlighted="Every gift counts")
    assert Variant.from_dict(v.as_dict()) == v
    with pytest.raises(CampaignRuleError, match="unknown targeting"):
        Targeting.from_dict({"tagz": ["x"]})


def test_suggested_amounts_default_must_be_one_of_the_suggestions() -> None:
    with pytest.raises(CampaignRuleError, match="default"):
        SuggestedAmounts("USD", (500,), (500,), 700, 500)
    with pytest.raises(CampaignRuleError, match="positive"):
        SuggestedAmounts("USD", (0,), (500,), 0, 500)


def test_a_variant_shows_its_article_count_from_a_threshold_it_keeps() -> None:
    shown_from_three = replace(variant(), article_count_from=3)
    assert Variant.from_dict(shown_from_three.as_dict()) == shown_from_three
    older = {k: v for k, v in variant().as_dict().items() if k != "article_count_from"}
    assert Variant.from_dict(older).article_count_from == 5  # events from before the setting
    with pytest.raises(CampaignRuleError, match="article_count_from"):
        replace(variant(), article_count_from=0)
