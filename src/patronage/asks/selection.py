"""Which ask, if any, a reader sees at the end of an article: a pure function.

Campaigns are tried in priority order; the first that passes every filter wins. The filters
run in the order newsrooms found useful (see docs/asks.md), and each rejection is kept with
its reason so that debug mode can say why a campaign was not shown.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction
from functools import lru_cache

from patronage.domain.campaign import (
    BASIS_POINTS,
    Allocation,
    Audience,
    CampaignSpec,
    CampaignStatus,
    Variant,
)

_SUPPORTERS = {Audience.CURRENT_MEMBERS, Audience.ONE_TIME_GIVERS}
ARTICLE_COUNT_WEEKS = 52  # "you've read N articles this year"


@dataclass(frozen=True, slots=True)
class PageContext:
    """The article the reader is on, as the page describes it, for the page filters."""

    article_id: str
    url: str = ""
    section: str = ""
    tags: tuple[str, ...] = ()
    paid: bool = False
    sensitive: bool = False
    hidden: bool = False  # the newsroom switched asks off on this page
    # The tags and the section as the filters compare them, worked out once per page rather
    # than once per campaign tried.
    tag_keys: frozenset[str] = field(init=False, repr=False, compare=False)
    section_key: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tag_keys", frozenset(map(str.lower, self.tags)))
        object.__setattr__(self, "section_key", self.section.lower())


@dataclass(frozen=True, slots=True)
class WeeklyCount:
    """How many articles the reader read in the week from `week_start`, as their browser
    counted them: for article-count targeting and copy that names the count."""

    week_start: date
    count: int


@dataclass(frozen=True, slots=True)
class ReaderContext:
    """The reader as their browser reports them; the audience comes from their supporter
    token (Asks.answer), never from the page's word."""

    reader_id: str
    country: str = ""
    weekly_counts: tuple[WeeklyCount, ...] = ()
    asks_seen: tuple[datetime, ...] = ()
    audience: Audience = Audience.NON_SUPPORTERS
    device: str = ""
    signed_in: bool = False
    article_count_opt_out: bool = False


@dataclass(frozen=True, slots=True)
class Rejection:
    """A campaign passed over for this reader: its code, and the reason of the first filter
    that rejected it (or "holdback"); debug mode lists them."""

    campaign: str
    reason: str


@dataclass(frozen=True, slots=True)
class Ask:
    """The campaign and variant to show, with the articles read this year for its copy."""

    campaign: CampaignSpec
    variant: Variant
    article_count: int
    rejections: tuple[Rejection, ...] = ()


@dataclass(frozen=True, slots=True)
class Thanks:
    """A current supporter whom no campaign targets: thank them instead of asking."""

    rejections: tuple[Rejection, ...] = ()


@dataclass(frozen=True, slots=True)
class NoAsk:
    """No ask on this page, and why ("page_hidden", "holdback", "no_campaign", ...)."""

    reason: str
    rejections: tuple[Rejection, ...] = ()


Choice = Ask | Thanks | NoAsk


@dataclass(frozen=True, slots=True)
class VariantScore:
    """A variant's record so far, for epsilon-greedy allocation."""

    views: int
    revenue_minor: int  # in the one currency scores are kept in


Scores = Mapping[str, Mapping[str, VariantScore]]  # campaign code -> variant name -> score


# Made once per length: building a timedelta from keywords cost as much as the rest of the
# filter that needed it, on every ask.
@lru_cache(maxsize=128)
def _weeks(weeks: int) -> timedelta:
    return timedelta(weeks=weeks)


@lru_cache(maxsize=128)
def _days(days: int) -> timedelta:
    return timedelta(days=days)


def articles_read(counts: Iterable[WeeklyCount], today: date, weeks: int) -> int:
    """Articles read in the `weeks` weeks up to today (weeks starting after the cut-off)."""
    cutoff = today - _weeks(weeks)
    return sum(max(c.count, 0) for c in counts if cutoff < c.week_start <= today)


def bucket(campaign_code: str, reader_id: str) -> int:
    """A stable number in [0, 10000) for this reader in this campaign."""
    digest = hashlib.sha256(f"{campaign_code}\x00{reader_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BASIS_POINTS


def best_variant(spec: CampaignSpec, scores: Mapping[str, VariantScore]) -> Variant | None:
    """The variant with the highest revenue per view, once every variant has enough views."""
    minimum = spec.targeting.min_views
    records = [(v, scores.get(v.name, VariantScore(0, 0))) for v in spec.variants]
    if not records or any(score.views < minimum for _, score in records):
        return None
    # Exact fractions, and the earlier variant on a tie, so the choice is reproducible.
    return max(records, key=lambda r: Fraction(r[1].revenue_minor, r[1].views))[0]


def assign_variant(
    spec: CampaignSpec, reader_id: str, scores: Mapping[str, VariantScore] | None = None
) -> Variant | None:
    """The reader's variant, or None when the reader is in the holdback group.

    With a control share, the first variant gets that share and the others split the rest
    evenly; without one, every variant gets an equal share of those not held back. An
    epsilon-greedy campaign with enough views shows its best variant to all but an
    `epsilon` share of readers, who keep exploring with that split.
    """
    targeting = spec.targeting
    position = bucket(spec.code, reader_id) - targeting.holdback_bp
    if position < 0 or not spec.variants:
        return None
    if targeting.allocation == Allocation.EPSILON_GREEDY and scores is not None:
        best = best_variant(spec, scores)
        explores = bucket(f"{spec.code}\x00explore", reader_id) < targeting.epsilon_bp
        if best is not None and not explores:
            return best
    control, others = spec.variants[0], spec.variants[1:]
    if targeting.control_bp:
        if position < targeting.control_bp or not others:
            return control
        position -= targeting.control_bp
        pool = others
    else:
        pool = spec.variants
    span = BASIS_POINTS - targeting.holdback_bp - targeting.control_bp
    return pool[position * len(pool) // span]


# Each check returns a rejection reason, or None when the campaign passes it.
Check = Callable[[CampaignSpec, PageContext, ReaderContext, datetime], str | None]


def _page(spec: CampaignSpec, page: PageContext, _r: ReaderContext, _n: datetime) -> str | None:
    if page.paid and not spec.targeting.paid_pages:
        return "paid_page"
    if page.sensitive and not spec.targeting.sensitive_pages:
        return "sensitive_page"
    return None


def _live(spec: CampaignSpec, _p: PageContext, _r: ReaderContext, now: datetime) -> str | None:
    if spec.status != CampaignStatus.LIVE:
        return f"not_live:{spec.status.value}"
    if spec.starts_at is not None and now < spec.starts_at:
        return "not_started"
    if spec.ends_at is not None and now >= spec.ends_at:
        return "schedule_ended"
    return None


def _tags(spec: CampaignSpec, page: PageContext, _r: ReaderContext, _n: datetime) -> str | None:
    targeting = spec.targeting
    tags, section = page.tag_keys, page.section_key
    if tags.intersection(targeting.exclude_tags):
        return "excluded_tag"
    if section and section in targeting.exclude_sections:
        return "excluded_section"
    if targeting.include_tags and not tags.intersection(targeting.include_tags):
        return "tag_not_included"
    if targeting.include_sections and section not in targeting.include_sections:
        return "section_not_included"
    return None


def _audience(
    spec: CampaignSpec, _p: PageContext, reader: ReaderContext, _n: datetime
) -> str | None:
    return None if reader.audience in spec.targeting.audiences else f"audience:{reader.audience}"


def _country(
    spec: CampaignSpec, _p: PageContext, reader: ReaderContext, _n: datetime
) -> str | None:
    countries = spec.targeting.countries
    return "country" if countries and reader.country.upper() not in countries else None


def _frequency(
    spec: CampaignSpec, _p: PageContext, reader: ReaderContext, now: datetime
) -> str | None:
    targeting = spec.targeting
    if targeting.always_ask:
        return None
    since = now - _days(targeting.per_days)
    recent = sum(1 for seen in reader.asks_seen if since < seen <= now)
    return "frequency_cap" if recent >= targeting.max_asks else None


def _opt_out(
    spec: CampaignSpec, _p: PageContext, reader: ReaderContext, _n: datetime
) -> str | None:
    if not reader.article_count_opt_out:
        return None
    uses_count = spec.targeting.targets_article_count or any(
        v.uses_article_count for v in spec.variants
    )
    return "article_count_opt_out" if uses_count else None


def _reading(
    spec: CampaignSpec, _p: PageContext, reader: ReaderContext, now: datetime
) -> str | None:
    targeting = spec.targeting
    if not targeting.targets_article_count:
        return None
    read = articles_read(reader.weekly_counts, now.date(), targeting.window_weeks)
    if targeting.min_articles is not None and read < targeting.min_articles:
        return "too_few_articles"
    if targeting.max_articles is not None and read > targeting.max_articles:
        return "too_many_articles"
    return None


def _device(spec: CampaignSpec, _p: PageContext, reader: ReaderContext, _n: datetime) -> str | None:
    targeting = spec.targeting
    if targeting.devices and reader.device.lower() not in targeting.devices:
        return "device"
    if targeting.signed_in is not None and reader.signed_in != targeting.signed_in:
        return "signed_in" if targeting.signed_in else "signed_out"
    return None


FILTERS: tuple[Check, ...] = (
    _page, _live, _tags, _audience, _country, _frequency, _opt_out, _reading, _device
)  # fmt: skip


def rejection(
    spec: CampaignSpec, page: PageContext, reader: ReaderContext, now: datetime
) -> str | None:
    """The first filter that rejects this campaign for this page and reader, if any."""
    for check in FILTERS:
        reason = check(spec, page, reader, now)
        if reason is not None:
            return reason
    return None


def in_priority_order(campaigns: Iterable[CampaignSpec]) -> tuple[CampaignSpec, ...]:
    """Highest priority first; ties by code, so the order is stable."""
    return tuple(sorted(campaigns, key=lambda s: (-s.priority, s.code)))


@dataclass(frozen=True)
class Shortlists:
    """The campaigns in priority order (`in_priority_order`), and for each section the only
    ones that can pass on its pages: live, and not limited to other sections. A campaign
    left off a page's shortlist is one the filters would reject; trying only the shortlist
    leaves the choice as it was, without trying (on a large newsroom) some two hundred."""

    ordered: tuple[CampaignSpec, ...]
    by_section: Mapping[str, tuple[CampaignSpec, ...]]
    anywhere: tuple[CampaignSpec, ...]  # for a section no campaign names

    @classmethod
    def of(cls, ordered: tuple[CampaignSpec, ...]) -> Shortlists:
        live = [s for s in ordered if s.status == CampaignStatus.LIVE]
        named = {section for s in live for section in s.targeting.include_sections}
        by_section = {
            section: tuple(
                s
                for s in live
                if not s.targeting.include_sections or section in s.targeting.include_sections
            )
            for section in named
        }
        return cls(ordered, by_section, tuple(s for s in live if not s.targeting.include_sections))

    def for_page(self, page: PageContext) -> tuple[CampaignSpec, ...]:
        return self.by_section.get(page.section_key, self.anywhere)


def choose(
    campaigns: Iterable[CampaignSpec],
    page: PageContext,
    reader: ReaderContext,
    now: datetime,
    scores: Scores | None = None,
) -> Choice:
    """The ask for this page and reader, thanks for a supporter, or no ask with a reason.

    `campaigns` in priority order (`in_priority_order`): the catalogue keeps them so at each
    refresh, where sorting them on every ask took a sixth of its time."""
    if page.hidden:
        return NoAsk("page_hidden")
    rejections: list[Rejection] = []
    for spec in campaigns:
        reason = rejection(spec, page, reader, now)
        if reason is None:
            variant = assign_variant(spec, reader.reader_id, (scores or {}).get(spec.code))
            if variant is None:
                # The holdback never sees an ask, from this campaign or a lower one.
                rejections.append(Rejection(spec.code, "holdback"))
                return NoAsk("holdback", tuple(rejections))
            count = articles_read(reader.weekly_counts, now.date(), ARTICLE_COUNT_WEEKS)
            return Ask(spec, variant, count, tuple(rejections))
        rejections.append(Rejection(spec.code, reason))
    if reader.audience in _SUPPORTERS:
        return Thanks(tuple(rejections))
    return NoAsk("no_campaign" if rejections else "no_live_campaign", tuple(rejections))


def preview(
    campaigns: Iterable[CampaignSpec], force: str, reader: ReaderContext, now: datetime
) -> Ask | NoAsk:
    """`campaign:variant` exactly as asked, whatever its filters say (editors' preview)."""
    code, _, variant_name = force.partition(":")
    spec = next((s for s in campaigns if s.code == code), None)
    if spec is None:
        return NoAsk(f"force: no campaign {code!r}")
    variant = (
        spec.variant(variant_name) if variant_name else spec.variants[0] if spec.variants else None
    )
    if variant is None:
        return NoAsk(f"force: campaign {code!r} has no variant {variant_name!r}")
    return Ask(spec, variant, articles_read(reader.weekly_counts, now.date(), ARTICLE_COUNT_WEEKS))
