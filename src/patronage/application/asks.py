"""The ask service: what one reader sees at the end of one article.

Everything comes from memory: campaigns from the in-process catalogue, the reader's status
from their signed token, bandit scores from the last sample, the ticker's money raised from
the last refresh. The only write is a view count, in memory, flushed in batches.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from patronage.application.allocation import BanditScores
from patronage.application.campaigns import CampaignCatalogue
from patronage.application.impressions import ImpressionCounter
from patronage.application.performance import GiftsPerVariant, RaisedForCampaign
from patronage.asks.currency import currency_for
from patronage.asks.selection import (
    Ask,
    Choice,
    NoAsk,
    PageContext,
    ReaderContext,
    Rejection,
    Thanks,
    WeeklyCount,
    choose,
    preview,
)
from patronage.asks.token import SupporterTokens
from patronage.domain.campaign import (
    ARTICLE_COUNT_PLACEHOLDER,
    Action,
    CampaignSpec,
    Frequency,
    Variant,
)
from patronage.domain.money import Money
from patronage.payments.amounts import AmountRules


@dataclass(frozen=True, slots=True)
class ReaderInput:
    """What the article page says about its reader, before the token is read."""

    reader_id: str
    country: str = ""
    weekly_counts: tuple[WeeklyCount, ...] = ()
    asks_seen: tuple[datetime, ...] = ()
    supporter_token: str = ""
    device: str = ""
    signed_in: bool = False
    article_count_opt_out: bool = False


@dataclass(frozen=True, slots=True)
class Choices:
    currency: str
    one_time: tuple[Money, ...]
    monthly: tuple[Money, ...]
    default_one_time: Money
    default_monthly: Money
    default_frequency: Frequency
    minimum: Money
    maximum: Money


@dataclass(frozen=True, slots=True)
class TickerLine:
    goal: Money
    raised: Money


@dataclass(frozen=True, slots=True)
class AskCopy:
    """The ask as the reader sees it: copy filled in, amounts in their currency."""

    heading: str
    paragraphs: tuple[str, ...]
    highlighted: str
    cta: Action
    secondary: Action | None
    choices: Choices
    ticker: TickerLine | None
    article_count: int | None  # None when the reader opted out of seeing it


@dataclass(frozen=True, slots=True)
class AskOutcome:
    kind: Literal["ask", "thanks", "none"]
    reason: str  # why no ask, or the kind
    rejections: tuple[Rejection, ...]
    copy: AskCopy | None = None
    campaign: str = ""
    variant: str = ""


class Asks:
    def __init__(
        self,
        catalogue: CampaignCatalogue,
        tokens: SupporterTokens,
        bandit: BanditScores,
        gifts: GiftsPerVariant,
        raised: RaisedForCampaign,
        impressions: ImpressionCounter,
        rules: AmountRules,
        default_currency: str,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._catalogue = catalogue
        self._tokens = tokens
        self._bandit = bandit
        self._gifts = gifts
        self._raised = raised
        self._impressions = impressions
        self._rules = rules
        self._default_currency = default_currency
        self._now = now

    def answer(self, page: PageContext, given: ReaderInput, force: str | None = None) -> AskOutcome:
        """The ask for this page and reader; `force` (`campaign:variant`) is an editor's
        preview, which skips the filters and is not counted as a view."""
        now = self._now()
        reader = self._reader(given, now)
        specs = self._catalogue.specs()
        choice: Choice
        if force:
            choice = preview(specs, force, reader, now)
        else:
            choice = choose(specs, page, reader, now, self._bandit.scores(specs, self._gifts))
            if isinstance(choice, Ask):
                self._impressions.record(choice.campaign.code, choice.variant.name)
        return self._outcome(choice, reader)

    def _reader(self, given: ReaderInput, now: datetime) -> ReaderContext:
        return ReaderContext(
            reader_id=given.reader_id,
            country=given.country.upper()[:2],
            weekly_counts=given.weekly_counts,
            asks_seen=tuple(t if t.tzinfo else t.replace(tzinfo=UTC) for t in given.asks_seen),
            audience=self._tokens.audience(given.supporter_token, now),
            device=given.device,
            signed_in=given.signed_in,
            article_count_opt_out=given.article_count_opt_out,
        )

    def _outcome(self, choice: Choice, reader: ReaderContext) -> AskOutcome:
        if isinstance(choice, Ask):
            return AskOutcome(
                kind="ask",
                reason="ask",
                rejections=choice.rejections,
                copy=self._copy(choice, reader),
                campaign=choice.campaign.code,
                variant=choice.variant.name,
            )
        if isinstance(choice, Thanks):
            return AskOutcome(kind="thanks", reason="thanks", rejections=choice.rejections)
        assert isinstance(choice, NoAsk)
        return AskOutcome(kind="none", reason=choice.reason, rejections=choice.rejections)

    def _copy(self, ask: Ask, reader: ReaderContext) -> AskCopy:
        count = None if reader.article_count_opt_out else ask.article_count
        shown = str(count or 0)

        def fill(text: str) -> str:
            return text.replace(ARTICLE_COUNT_PLACEHOLDER, shown)

        variant = ask.variant
        return AskCopy(
            heading=fill(variant.heading),
            paragraphs=tuple(fill(p) for p in variant.paragraphs),
            highlighted=fill(variant.highlighted),
            cta=variant.cta,
            secondary=variant.secondary,
            choices=self._choices(variant, reader.country),
            ticker=self._ticker(ask.campaign),
            article_count=count,
        )

    def _choices(self, variant: Variant, country: str) -> Choices:
        """The variant's amounts in the reader's currency, else the default, else its first."""
        wanted = currency_for(country, self._default_currency)
        amounts = variant.amounts_for(wanted) or variant.amounts[0]
        currency = amounts.currency

        def money(minor: int) -> Money:
            return Money(minor, currency)

        return Choices(
            currency=currency,
            one_time=tuple(money(m) for m in amounts.one_time),
            monthly=tuple(money(m) for m in amounts.monthly),
            default_one_time=money(amounts.default_one_time),
            default_monthly=money(amounts.default_monthly),
            default_frequency=variant.default_frequency,
            minimum=self._rules.minimum(currency),
            maximum=self._rules.maximum(currency),
        )

    def _ticker(self, spec: CampaignSpec) -> TickerLine | None:
        if spec.goal is None:
            return None
        return TickerLine(spec.goal, self._raised.raised(spec.code, spec.goal.currency))
