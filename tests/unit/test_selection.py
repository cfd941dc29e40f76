from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patronage.asks.selection import (
    Ask,
    NoAsk,
    PageContext,
    ReaderContext,
    Rejection,
    Shortlists,
    Thanks,
    VariantScore,
    WeeklyCount,
    assign_variant,
    choose,
    in_priority_order,
    preview,
)
from patronage.domain.campaign import Allocation, Audience, CampaignSpec, CampaignStatus, Targeting
from tests.support.campaigns import spec, variant

NOW = datetime(2026, 6, 15, 12, tzinfo=UTC)
PAGE = PageContext(article_id="a1", section="politics", tags=("elections", "politics"))
READER = ReaderContext(reader_id="reader-1", country="US", device="mobile")


def reason(campaign: CampaignSpec, page: PageContext = PAGE, reader: ReaderContext = READER) -> str:
    choice = choose([campaign], page, reader, NOW)
    assert not isinstance(choice, Ask), f"{campaign.code} was not rejected"
    assert choice.rejections, choice
    return choice.rejections[0].reason


def test_a_campaign_that_passes_every_filter_is_chosen_with_tracking_fields() -> None:
    choice = choose([spec("spring")], PAGE, READER, NOW)
    assert isinstance(choice, Ask)
    assert choice.campaign.code == "spring"
    assert choice.variant.name in {"control", "urgent"}


def test_highest_priority_wins_and_lower_ones_are_not_tried() -> None:
    campaigns = in_priority_order([spec("low", priority=1), spec("high", priority=9)])
    choice = choose(campaigns, PAGE, READER, NOW)
    assert isinstance(choice, Ask) and choice.campaign.code == "high"
    assert choice.rejections == ()


def test_rejections_are_listed_in_priority_order_before_the_winner() -> None:
    blocked = spec("blocked", priority=9, exclude_tags=("politics",))
    choice = choose(in_priority_order([spec("open", priority=1), blocked]), PAGE, READER, NOW)
    assert isinstance(choice, Ask) and choice.campaign.code == "open"
    assert [(r.campaign, r.reason) for r in choice.rejections] == [("blocked", "excluded_tag")]


# 1. the page allows asks
def test_hidden_page_gets_no_ask_at_all() -> None:
    choice = choose([spec()], replace(PAGE, hidden=True), READER, NOW)
    assert choice == NoAsk("page_hidden")


def test_paid_pages_only_get_campaigns_allowed_there() -> None:
    paid = replace(PAGE, paid=True)
    assert reason(spec(), paid) == "paid_page"
    assert isinstance(choose([spec(paid_pages=True)], paid, READER, NOW), Ask)


def test_sensitive_pages_only_get_campaigns_meant_for_them() -> None:
    sensitive = replace(PAGE, sensitive=True)
    assert reason(spec(), sensitive) == "sensitive_page"
    assert isinstance(choose([spec(sensitive_pages=True)], sensitive, READER, NOW), Ask)


# 2. live and inside the schedule
@pytest.mark.parametrize(
    "status", [CampaignStatus.DRAFT, CampaignStatus.PAUSED, CampaignStatus.ENDED]
)
def test_only_live_campaigns_ask(status: CampaignStatus) -> None:
    assert reason(replace(spec(), status=status)) == f"not_live:{status.value}"


def test_schedule_bounds_are_respected() -> None:
    assert reason(replace(spec(), starts_at=NOW + timedelta(hours=1))) == "not_started"
    assert reason(replace(spec(), ends_at=NOW)) == "schedule_ended"
    inside = replace(spec(), starts_at=NOW - timedelta(days=1), ends_at=NOW + timedelta(days=1))
    assert isinstance(choose([inside], PAGE, READER, NOW), Ask)


# 3. tags and sections
@pytest.mark.parametrize(
    ("targeting", "expected"),
    [
        ({"exclude_tags": ("elections",)}, "excluded_tag"),
        ({"exclude_sections": ("politics",)}, "excluded_section"),
        ({"include_tags": ("climate",)}, "tag_not_included"),
        ({"include_sections": ("sport",)}, "section_not_included"),
    ],
)
def test_tag_and_section_lists(targeting: dict[str, Any], expected: str) -> None:
    assert reason(spec(**targeting)) == expected


def test_included_tag_matches_case_insensitively() -> None:
    page = replace(PAGE, tags=("Politics",), section="Politics")
    choice = choose(
        [spec(include_tags=("politics",), include_sections=("politics",))], page, READER, NOW
    )
    assert isinstance(choice, Ask)


# 4. audience, and thanks for supporters
def test_current_supporters_are_thanked_by_default() -> None:
    for audience in (Audience.CURRENT_MEMBERS, Audience.ONE_TIME_GIVERS):
        choice = choose([spec()], PAGE, replace(READER, audience=audience), NOW)
        assert isinstance(choice, Thanks)
        assert choice.rejections[0].reason == f"audience:{audience.value}"


def test_lapsed_supporters_are_asked_by_default_and_a_campaign_can_target_givers() -> None:
    assert isinstance(choose([spec()], PAGE, replace(READER, audience=Audience.LAPSED), NOW), Ask)
    upgrade = spec(audiences=(Audience.ONE_TIME_GIVERS,))
    giver = replace(READER, audience=Audience.ONE_TIME_GIVERS)
    assert isinstance(choose([upgrade], PAGE, giver, NOW), Ask)
    assert reason(upgrade) == "audience:non_supporters"


# 5. country
def test_country_list() -> None:
    assert reason(spec(countries=("GB", "IE"))) == "country"
    assert isinstance(choose([spec(countries=("US",))], PAGE, READER, NOW), Ask)


# 6. frequency cap
def test_default_cap_is_four_asks_in_thirty_days() -> None:
    three = tuple(NOW - timedelta(days=d) for d in (1, 5, 29))
    assert isinstance(choose([spec()], PAGE, replace(READER, asks_seen=three), NOW), Ask)
    four = (*three, NOW - timedelta(hours=1))
    assert reason(spec(), reader=replace(READER, asks_seen=four)) == "frequency_cap"
    old = (*three, NOW - timedelta(days=31))
    assert isinstance(choose([spec()], PAGE, replace(READER, asks_seen=old), NOW), Ask)


def test_always_ask_ignores_the_cap() -> None:
    many = tuple(NOW - timedelta(minutes=m) for m in range(20))
    assert isinstance(
        choose([spec(always_ask=True)], PAGE, replace(READER, asks_seen=many), NOW), Ask
    )


# 7. article count opt-out
def test_opted_out_readers_get_no_campaign_that_counts_their_articles() -> None:
    opted_out = replace(READER, article_count_opt_out=True)
    counting = replace(
        spec(), variants=(variant(heading="You've read %%ARTICLE_COUNT%% articles"),)
    )
    assert reason(counting, reader=opted_out) == "article_count_opt_out"
    assert reason(spec(min_articles=1), reader=opted_out) == "article_count_opt_out"
    assert isinstance(choose([spec()], PAGE, opted_out, NOW), Ask)


# 8. articles read in the window
def test_min_and_max_articles_in_the_window() -> None:
    weeks = tuple(WeeklyCount(NOW.date() - timedelta(weeks=w), 3) for w in range(8))
    reader = replace(READER, weekly_counts=weeks)  # 3 a week: 12 in the last 4 weeks
    assert reason(spec(min_articles=13), reader=reader) == "too_few_articles"
    assert reason(spec(max_articles=11), reader=reader) == "too_many_articles"
    assert isinstance(choose([spec(min_articles=12, max_articles=12)], PAGE, reader, NOW), Ask)
    assert isinstance(choose([spec(min_articles=24, window_weeks=8)], PAGE, reader, NOW), Ask)


def test_the_article_count_shown_covers_the_last_year() -> None:
    weeks = (WeeklyCount(date(2026, 6, 8), 5), WeeklyCount(date(2025, 1, 5), 100))
    choice = choose([spec()], PAGE, replace(READER, weekly_counts=weeks), NOW)
    assert isinstance(choice, Ask) and choice.article_count == 5


# 9. device and signed-in state
def test_device_and_signed_in() -> None:
    assert reason(spec(devices=("desktop",))) == "device"
    assert reason(spec(signed_in=True)) == "signed_in"
    assert reason(spec(signed_in=False), reader=replace(READER, signed_in=True)) == "signed_out"
    assert isinstance(choose([spec(devices=("mobile",), signed_in=False)], PAGE, READER, NOW), Ask)


# 10. holdback
def test_holdback_readers_never_see_an_ask_not_even_a_lower_campaign() -> None:
    everyone_held = spec("held", priority=9, holdback_bp=10_000)
    campaigns = in_priority_order([everyone_held, spec("lower", priority=1)])
    choice = choose(campaigns, PAGE, READER, NOW)
    assert choice == NoAsk("holdback", choice.rejections)
    assert [r.reason for r in choice.rejections] == ["holdback"]


def test_no_campaign_at_all_is_an_explicit_no_ask() -> None:
    assert choose([], PAGE, READER, NOW) == NoAsk("no_live_campaign")
    assert isinstance(choose([spec(countries=("GB",))], PAGE, READER, NOW), NoAsk)


def test_preview_forces_a_campaign_and_variant_whatever_the_filters() -> None:
    paused = replace(spec("spring", countries=("GB",)), status=CampaignStatus.PAUSED)
    forced = preview([paused], "spring:urgent", READER, NOW)
    assert isinstance(forced, Ask) and forced.variant.name == "urgent"
    assert isinstance(preview([paused], "spring:nope", READER, NOW), NoAsk)
    assert isinstance(preview([paused], "autumn:control", READER, NOW), NoAsk)


# Variant assignment
@settings(max_examples=40, deadline=None)
@given(reader_id=st.text(min_size=1, max_size=40))
def test_assignment_is_stable_for_a_reader(reader_id: str) -> None:
    campaign = spec(holdback_bp=1000, control_bp=3000)
    first = assign_variant(campaign, reader_id)
    assert all(assign_variant(campaign, reader_id) == first for _ in range(3))


@pytest.mark.parametrize(("holdback", "control"), [(0, 0), (1000, 5000), (500, 2000)])
def test_assignment_matches_the_configured_shares(holdback: int, control: int) -> None:
    variants = (variant("control"), variant("b"), variant("c"))
    campaign = replace(spec(holdback_bp=holdback, control_bp=control), variants=variants)
    readers = 20_000
    counts = Counter(
        (v.name if v else "holdback")
        for v in (assign_variant(campaign, f"reader-{i}") for i in range(readers))
    )
    rest = 10_000 - holdback - control
    expected = {"holdback": holdback, "control": control + (0 if control else rest / 3)}
    expected |= {"b": rest / (2 if control else 3), "c": rest / (2 if control else 3)}
    for name, share_bp in expected.items():
        observed_bp = counts[name] * 10_000 / readers
        assert abs(observed_bp - share_bp) < 150, (name, observed_bp, share_bp)


def test_assignment_differs_between_campaigns() -> None:
    a = replace(spec("a"), targeting=Targeting())
    b = replace(spec("b"), targeting=Targeting())
    names_a = [assign_variant(a, f"r{i}") for i in range(200)]
    names_b = [assign_variant(b, f"r{i}") for i in range(200)]
    assert names_a != names_b


# Epsilon-greedy allocation
def greedy(**targeting: Any) -> CampaignSpec:
    settings = {"epsilon_bp": 2000, "min_views": 100, **targeting}
    return spec(allocation=Allocation.EPSILON_GREEDY, **settings)


def test_epsilon_greedy_uses_the_hash_split_until_every_variant_has_enough_views() -> None:
    campaign = greedy()
    scores = {"control": VariantScore(500, 100), "urgent": VariantScore(99, 9_000)}
    for i in range(50):
        reader = f"r{i}"
        assert assign_variant(campaign, reader, scores) == assign_variant(campaign, reader)


def test_epsilon_greedy_shows_the_best_revenue_per_view_to_all_but_the_explorers() -> None:
    campaign = greedy()
    scores = {"control": VariantScore(1000, 5_000), "urgent": VariantScore(200, 2_000)}
    readers = 10_000
    counts = Counter(assign_variant(campaign, f"r{i}", scores).name for i in range(readers))  # type: ignore[union-attr]
    # urgent earns 10 per view against 5: 80% exploit it, the 20% explorers split evenly.
    assert abs(counts["urgent"] / readers - 0.9) < 0.02
    assert abs(counts["control"] / readers - 0.1) < 0.02


def test_epsilon_greedy_respects_the_holdback_and_passes_through_choose() -> None:
    campaign = greedy(holdback_bp=10_000)
    scores = {"greedy": {"control": VariantScore(1000, 1), "urgent": VariantScore(1000, 0)}}
    assert choose([campaign], PAGE, READER, NOW, scores) == NoAsk(
        "holdback", (Rejection("spring", "holdback"),)
    )
    open_campaign = greedy(epsilon_bp=0)
    chosen = choose([open_campaign], PAGE, READER, NOW, {"spring": scores["greedy"]})
    assert isinstance(chosen, Ask) and chosen.variant.name == "control"


SECTIONS = ("politics", "climate", "sport")


@st.composite
def catalogues(draw: st.DrawFn) -> tuple[CampaignSpec, ...]:
    """Campaigns limited to some sections or none, in every status, with holdbacks."""
    campaigns = []
    for n in range(draw(st.integers(0, 8))):
        campaign = spec(
            f"c{n}",
            priority=draw(st.integers(0, 3)),
            include_sections=tuple(draw(st.sets(st.sampled_from(SECTIONS), max_size=2))),
            exclude_sections=tuple(draw(st.sets(st.sampled_from(SECTIONS), max_size=1))),
            holdback_bp=draw(st.sampled_from((0, 0, 5_000))),
        )
        campaigns.append(replace(campaign, status=draw(st.sampled_from(CampaignStatus))))
    return in_priority_order(campaigns)


@given(
    catalogues(),
    st.sampled_from(("", "Politics", *SECTIONS, "weather")),
    st.sampled_from(Audience),
    st.integers(0, 50),
)
@settings(max_examples=300, deadline=None)
def test_a_pages_shortlist_gives_the_same_choice_as_every_campaign(
    ordered: tuple[CampaignSpec, ...], section: str, audience: Audience, reader: int
) -> None:
    page = PageContext(article_id="a1", section=section, tags=("news",))
    who = replace(READER, reader_id=f"r{reader}", audience=audience)
    every = choose(ordered, page, who, NOW)
    shortlisted = choose(Shortlists.of(ordered).for_page(page), page, who, NOW)
    assert type(shortlisted) is type(every)
    if isinstance(every, Ask):
        assert isinstance(shortlisted, Ask)
        assert (shortlisted.campaign, shortlisted.variant) == (every.campaign, every.variant)
    if isinstance(every, NoAsk) and every.reason == "holdback":
        assert shortlisted == NoAsk("holdback", shortlisted.rejections)


def test_a_shortlist_holds_the_live_campaigns_a_section_can_show() -> None:
    anywhere = spec("anywhere", priority=2)
    politics = spec("politics", include_sections=("politics",))
    paused = replace(spec("paused", priority=9), status=CampaignStatus.PAUSED)
    lists = Shortlists.of(in_priority_order([politics, paused, anywhere]))
    assert lists.for_page(PAGE) == (anywhere, politics)
    assert lists.for_page(replace(PAGE, section="Climate")) == (anywhere,)
    assert [s.code for s in lists.ordered] == ["paused", "anywhere", "politics"]
