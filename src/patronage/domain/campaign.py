"""A campaign: the asks a newsroom shows at the end of its articles, who sees them, and when.

Every change records who made it (`by`), so the history answers "who changed this copy?".
Settings are stored in events as plain JSON dicts and read back into frozen value types, so a
stored event never depends on a Python class layout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from patronage.domain.errors import DomainError
from patronage.domain.identity import natural_id
from patronage.domain.money import Money, normalise_currency
from patronage.domain.records import from_attributes

# Copy may show the reader's article count; readers who opted out never get such copy.
ARTICLE_COUNT_PLACEHOLDER = "%%ARTICLE_COUNT%%"
ARTICLE_COUNT_FROM = 5  # the default threshold for showing a reader their article count
BASIS_POINTS = 10_000  # shares are integers out of 10,000: no floats in bucketing


class CampaignRuleError(DomainError):
    """A campaign setting or lifecycle step that breaks a rule; the message says which."""


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    LIVE = "live"
    PAUSED = "paused"
    ENDED = "ended"


class Audience(StrEnum):
    NON_SUPPORTERS = "non_supporters"
    LAPSED = "lapsed"
    CURRENT_MEMBERS = "current_members"
    ONE_TIME_GIVERS = "one_time_givers"


class Allocation(StrEnum):
    HASH = "hash"  # a stable split by reader id
    EPSILON_GREEDY = "epsilon_greedy"  # mostly the best revenue per view, some exploration


class Frequency(StrEnum):
    ONE_TIME = "one_time"
    MONTHLY = "monthly"


def campaign_id_for(code: str) -> UUID:
    return natural_id("campaign", code)


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise CampaignRuleError(message)


@dataclass(frozen=True, slots=True)
class SuggestedAmounts:
    """Suggested amounts in minor units for one currency, one-time and monthly, with defaults."""

    currency: str
    one_time: tuple[int, ...]
    monthly: tuple[int, ...]
    default_one_time: int
    default_monthly: int

    def __post_init__(self) -> None:
        _require(self.currency == normalise_currency(self.currency), "currency must be upper case")
        for label, amounts, default in (
            ("one-time", self.one_time, self.default_one_time),
            ("monthly", self.monthly, self.default_monthly),
        ):
            _require(
                bool(amounts) and all(type(a) is int and a > 0 for a in amounts),
                f"{self.currency} {label} amounts must be positive integers of minor units",
            )
            _require(default in amounts, f"{self.currency} {label} default must be a suggestion")

    def as_dict(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "one_time": list(self.one_time),
            "monthly": list(self.monthly),
            "default_one_time": self.default_one_time,
            "default_monthly": self.default_monthly,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SuggestedAmounts:
        return cls(
            currency=normalise_currency(data["currency"]),
            one_time=tuple(data["one_time"]),
            monthly=tuple(data["monthly"]),
            default_one_time=data["default_one_time"],
            default_monthly=data["default_monthly"],
        )


@dataclass(frozen=True, slots=True)
class Action:
    text: str
    url: str = ""


@dataclass(frozen=True, slots=True)
class Variant:
    """One version of the ask's copy and choices."""

    name: str
    heading: str
    paragraphs: tuple[str, ...]
    cta: Action
    amounts: tuple[SuggestedAmounts, ...]
    highlighted: str = ""
    secondary: Action | None = None
    default_frequency: Frequency = Frequency.MONTHLY
    # Copy with %%ARTICLE_COUNT%% shows from this many articles read: "you've read 1" is
    # no argument for giving.
    article_count_from: int = ARTICLE_COUNT_FROM

    def __post_init__(self) -> None:
        _require(
            bool(self.name.strip()) and ":" not in self.name, "a variant needs a name (no ':')"
        )
        _require(bool(self.heading.strip()), f"variant {self.name!r} needs a heading")
        _require(bool(self.cta.text.strip()), f"variant {self.name!r} needs a call to action")
        currencies = [a.currency for a in self.amounts]
        _require(bool(currencies), f"variant {self.name!r} needs suggested amounts")
        _require(len(set(currencies)) == len(currencies), "one set of amounts per currency")
        _require(
            1 <= self.article_count_from <= 1000,
            f"variant {self.name!r}: article_count_from is between 1 and 1000",
        )

    @property
    def uses_article_count(self) -> bool:
        texts = (self.heading, self.highlighted, *self.paragraphs)
        return any(ARTICLE_COUNT_PLACEHOLDER in text for text in texts)

    def amounts_for(self, currency: str) -> SuggestedAmounts | None:
        return next((a for a in self.amounts if a.currency == currency), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "heading": self.heading,
            "paragraphs": list(self.paragraphs),
            "highlighted": self.highlighted,
            "cta": {"text": self.cta.text, "url": self.cta.url},
            "secondary": None
            if self.secondary is None
            else {"text": self.secondary.text, "url": self.secondary.url},
            "amounts": [a.as_dict() for a in self.amounts],
            "default_frequency": self.default_frequency.value,
            "article_count_from": self.article_count_from,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Variant:
        secondary = data.get("secondary")
        return cls(
            name=data["name"],
            heading=data["heading"],
            paragraphs=tuple(data.get("paragraphs", ())),
            highlighted=data.get("highlighted", ""),
            cta=Action(**data["cta"]),
            secondary=Action(**secondary) if secondary else None,
            amounts=tuple(SuggestedAmounts.from_dict(a) for a in data["amounts"]),
            default_frequency=Frequency(data.get("default_frequency", Frequency.MONTHLY)),
            article_count_from=int(data.get("article_count_from", ARTICLE_COUNT_FROM)),
        )


def _strings(values: Any) -> tuple[str, ...]:
    return tuple(str(v).strip().lower() for v in values or () if str(v).strip())


@dataclass(frozen=True, slots=True)
class Targeting:
    """Which pages and readers a campaign is for. Empty include lists mean "any"."""

    include_tags: tuple[str, ...] = ()
    exclude_tags: tuple[str, ...] = ()
    include_sections: tuple[str, ...] = ()
    exclude_sections: tuple[str, ...] = ()
    paid_pages: bool = False  # may ask on paid (subscriber-only) pages
    sensitive_pages: bool = False  # meant for pages marked sensitive
    audiences: tuple[Audience, ...] = (Audience.NON_SUPPORTERS, Audience.LAPSED)
    countries: tuple[str, ...] = ()  # ISO 3166 alpha-2, upper case; empty: everywhere
    min_articles: int | None = None
    max_articles: int | None = None
    window_weeks: int = 4
    devices: tuple[str, ...] = ()  # "mobile" | "tablet" | "desktop"; empty: any
    signed_in: bool | None = None  # None: either
    max_asks: int = 4
    per_days: int = 30
    always_ask: bool = False
    holdback_bp: int = 0  # share of readers who never see this campaign's asks
    control_bp: int = 0  # share of readers shown the first (control) variant
    allocation: Allocation = Allocation.HASH
    epsilon_bp: int = 1000  # epsilon-greedy: share of readers who keep exploring
    min_views: int = 1000  # epsilon-greedy: views every variant needs before exploiting

    def __post_init__(self) -> None:
        _require(bool(self.audiences), "a campaign needs at least one audience")
        _require(1 <= self.window_weeks <= 52, "window_weeks must be 1..52")
        _require(self.max_asks >= 1 and self.per_days >= 1, "frequency cap must be positive")
        for bound in (self.min_articles, self.max_articles):
            _require(bound is None or bound >= 0, "article bounds cannot be negative")
        if self.min_articles is not None and self.max_articles is not None:
            _require(self.min_articles <= self.max_articles, "min_articles > max_articles")
        _require(0 <= self.holdback_bp <= BASIS_POINTS, "holdback share must be 0..10000")
        _require(0 <= self.control_bp <= BASIS_POINTS, "control share must be 0..10000")
        _require(
            self.holdback_bp + self.control_bp <= BASIS_POINTS,
            "holdback and control shares add up to more than everyone",
        )
        _require(all(len(c) == 2 for c in self.countries), "countries are two-letter codes")
        _require(0 <= self.epsilon_bp <= BASIS_POINTS, "epsilon share must be 0..10000")
        _require(self.min_views >= 1, "min_views must be at least 1")

    @property
    def targets_article_count(self) -> bool:
        return self.min_articles is not None or self.max_articles is not None

    def as_dict(self) -> dict[str, Any]:
        return {
            name: [str(v) for v in value]
            if isinstance(value, tuple)
            else str(value)
            if isinstance(value, StrEnum)
            else value
            for name, value in ((f, getattr(self, f)) for f in self.__slots__)
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Targeting:
        known = set(cls.__slots__)
        unknown = set(data) - known
        _require(not unknown, f"unknown targeting settings: {', '.join(sorted(unknown))}")
        values: dict[str, Any] = dict(data)
        for name in ("include_tags", "exclude_tags", "include_sections", "exclude_sections"):
            values[name] = _strings(values.get(name))
        values["devices"] = _strings(values.get("devices"))
        values["countries"] = tuple(str(c).strip().upper() for c in values.get("countries") or ())
        if "audiences" in values:
            values["audiences"] = tuple(Audience(a) for a in values["audiences"])
        if "allocation" in values:
            values["allocation"] = Allocation(values["allocation"])
        return cls(**values)


@dataclass(frozen=True, slots=True)
class CampaignSpec:
    """An immutable snapshot of a campaign, as the pure selection function reads it."""

    code: str
    name: str
    priority: int
    status: CampaignStatus
    targeting: Targeting
    variants: tuple[Variant, ...]  # active ones, the first is the control
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    goal: Money | None = None
    created_on: datetime | None = None
    version: int = field(default=0, compare=False)

    def variant(self, name: str) -> Variant | None:
        return next((v for v in self.variants if v.name == name), None)


class Campaign(Aggregate):
    @staticmethod
    def create_id(code: str) -> UUID:
        return campaign_id_for(code)

    @event("Created")
    def __init__(
        self,
        code: str,
        name: str,
        priority: int,
        targeting: dict[str, Any],
        goal: Money | None,
        by: str,
    ) -> None:
        self.code = code
        self.name = name
        self.priority = priority
        self.targeting = Targeting.from_dict(targeting)
        self.goal = goal
        self.status = CampaignStatus.DRAFT
        self.variants: dict[str, Variant] = {}
        self.retired: set[str] = set()
        self.starts_at: datetime | None = None
        self.ends_at: datetime | None = None
        self.created_by = by

    @classmethod
    def create(
        cls,
        code: str,
        name: str,
        priority: int,
        targeting: Targeting,
        goal: Money | None,
        by: str,
    ) -> Campaign:
        """A new draft campaign, after checking what the event itself would store."""
        _require(
            bool(code) and code.replace("-", "").replace("_", "").isalnum() and code.islower(),
            "a campaign code is lower-case letters, digits, '-' and '_'",
        )
        _require(bool(name.strip()), "a campaign needs a name")
        _require(goal is None or goal.is_positive(), "a goal must be positive")
        return cls(code, name.strip(), priority, targeting.as_dict(), goal, by)

    # Copy ----------------------------------------------------------------------------------

    def add_variant(self, variant: Variant, by: str) -> None:
        self._refuse_if_ended()
        _require(
            variant.name not in self.variants and variant.name not in self.retired,
            f"variant {variant.name!r} already exists (retired names are not reused)",
        )
        self._variant_added(variant=variant.as_dict(), by=by)

    @event("VariantAdded")
    def _variant_added(self, variant: dict[str, Any], by: str) -> None:
        self.variants[variant["name"]] = Variant.from_dict(variant)

    def edit_copy(self, variant: Variant, by: str) -> None:
        self._refuse_if_ended()
        _require(variant.name in self.variants, f"no active variant {variant.name!r}")
        if self.variants[variant.name] != variant:
            self._copy_edited(variant=variant.as_dict(), by=by)

    @event("CopyEdited")
    def _copy_edited(self, variant: dict[str, Any], by: str) -> None:
        self.variants[variant["name"]] = Variant.from_dict(variant)

    def retire_variant(self, name: str, by: str) -> None:
        _require(name in self.variants, f"no active variant {name!r}")
        _require(
            self.status != CampaignStatus.LIVE or len(self.variants) > 1,
            "a live campaign keeps at least one variant; pause it first",
        )
        self._variant_retired(name=name, by=by)

    @event("VariantRetired")
    def _variant_retired(self, name: str, by: str) -> None:
        del self.variants[name]
        self.retired.add(name)

    # Settings and lifecycle ----------------------------------------------------------------

    def retarget(
        self, name: str, priority: int, targeting: Targeting, goal: Money | None, by: str
    ) -> None:
        self._refuse_if_ended()
        _require(goal is None or goal.is_positive(), "a goal must be positive")
        if (name, priority, targeting, goal) != (
            self.name,
            self.priority,
            self.targeting,
            self.goal,
        ):
            self._retargeted(
                name=name, priority=priority, targeting=targeting.as_dict(), goal=goal, by=by
            )

    @event("Retargeted")
    def _retargeted(
        self, name: str, priority: int, targeting: dict[str, Any], goal: Money | None, by: str
    ) -> None:
        self.name = name
        self.priority = priority
        self.targeting = Targeting.from_dict(targeting)
        self.goal = goal

    def schedule(self, starts_at: datetime | None, ends_at: datetime | None, by: str) -> None:
        self._refuse_if_ended()
        for moment in (starts_at, ends_at):
            _require(moment is None or moment.tzinfo is not None, "times need a time zone")
        if starts_at is not None and ends_at is not None:
            _require(starts_at < ends_at, "a schedule must end after it starts")
        self._scheduled(starts_at=starts_at, ends_at=ends_at, by=by)

    @event("Scheduled")
    def _scheduled(self, starts_at: datetime | None, ends_at: datetime | None, by: str) -> None:
        self.starts_at = starts_at
        self.ends_at = ends_at

    def start(self, by: str) -> None:
        self._refuse_if_ended()
        _require(bool(self.variants), "a campaign needs a variant before it starts")
        if self.status != CampaignStatus.LIVE:
            self._started(by=by)

    @event("Started")
    def _started(self, by: str) -> None:
        self.status = CampaignStatus.LIVE

    def pause(self, by: str) -> None:
        _require(self.status == CampaignStatus.LIVE, f"a {self.status} campaign cannot pause")
        self._paused(by=by)

    @event("Paused")
    def _paused(self, by: str) -> None:
        self.status = CampaignStatus.PAUSED

    def end(self, by: str) -> None:
        self._refuse_if_ended()
        self._ended(by=by)

    @event("Ended")
    def _ended(self, by: str) -> None:
        self.status = CampaignStatus.ENDED

    def _refuse_if_ended(self) -> None:
        _require(self.status != CampaignStatus.ENDED, f"campaign {self.code!r} has ended")

    def spec(self) -> CampaignSpec:
        return from_attributes(CampaignSpec, self, variants=tuple(self.variants.values()))


@dataclass(frozen=True, slots=True)
class VariantGifts:
    """What one variant of a campaign has won: gifts and their net amount per currency."""

    count: int
    amounts: tuple[Money, ...]  # one total per currency, net of refunds
