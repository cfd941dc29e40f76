"""The ask service: what one reader sees at the end of one article.

Everything comes from memory: campaigns from the in-process catalogue, the reader's status
from their signed token, bandit scores from the last sample, the ticker's money raised from
the last refresh. The only write is a view count, in memory, flushed in batches.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Literal

from patronage.application.ask_memory import AskMemory
from patronage.application.clock import Clock, utc_now
from patronage.asks.currency import currency_for
from patronage.asks.selection import (
    Ask,
    Choice,
    NoAsk,
    PageContext,
    ReaderContext,
    Rejection,
    Shortlists,
    Thanks,
    choose,
    preview,
)
from patronage.asks.token import SupporterTokens
from patronage.domain.campaign import (
    ARTICLE_COUNT_PLACEHOLDER,
    BASIS_POINTS,
    Action,
    CampaignSpec,
    Frequency,
    SuggestedAmounts,
    Variant,
)
from patronage.domain.money import Money
from patronage.payments.amounts import AmountRules


@dataclass(frozen=True, slots=True)
class Choices:
    """The variant's suggested amounts in the reader's currency, and the limits of a gift."""

    amounts: SuggestedAmounts
    default_frequency: Frequency
    minimum: Money
    maximum: Money
    fee_rate_bp: int  # so the page shows the cover-the-fee line without asking again
    fee_fixed_minor: int


@dataclass(frozen=True, slots=True)
class TickerLine:
    """The campaign's goal and the money raised towards it, in the goal's currency."""

    goal: Money
    raised: Money

    def reaches(self, share_bp: int) -> bool:
        """Whether the money raised is at least `share_bp` basis points of the goal."""
        return self.raised.minor * BASIS_POINTS >= self.goal.minor * share_bp


# Compared by identity: `Asks` hands out one object per copy, which the API's cache of
# answers keys on without hashing the whole copy on every ask.
@dataclass(frozen=True, slots=True, eq=False)
class AskCopy:
    """The ask as the reader sees it: copy filled in, amounts in their currency."""

    heading: str
    paragraphs: tuple[str, ...]
    highlighted: str
    cta: Action
    secondary: Action | None
    choices: Choices
    ticker: TickerLine | None  # None without a goal, or until enough is raised to show
    article_count: int | None  # None below the variant's threshold or when opted out


# Campaign code, variant name, article count shown (or None), currency, ticker.
CopyKey = tuple[str, str, int | None, str, TickerLine | None]
MAX_COPIES = 10_000  # past which the copies start afresh: counts and tickers vary widely


@dataclass(frozen=True, slots=True)
class AskOutcome:
    """What `/asks` answers: an ask with its copy, thanks, or none; `reason` and
    `rejections` are shown in debug mode."""

    kind: Literal["ask", "thanks", "none"]
    reason: str  # why no ask, or the kind
    rejections: tuple[Rejection, ...]
    copy: AskCopy | None = None
    campaign: str = ""
    variant: str = ""
    preview: bool = False  # an editor's forced preview: not counted, marked on the page


@dataclass(eq=False)
class Asks:
    memory: AskMemory  # campaigns, bandit scores, tickers and view counts
    tokens: SupporterTokens
    rules: AmountRules
    default_currency: str
    ticker_from_bp: int = 0
    now: Clock = utc_now
    # The copies made for the campaigns as they are now (one object per copy, see AskCopy):
    # a new catalogue starts afresh.
    _copies: tuple[Shortlists | None, dict[CopyKey, AskCopy]] = field(
        default_factory=lambda: (None, {}), init=False, repr=False
    )

    def answer(
        self,
        page: PageContext,
        given: ReaderContext,
        supporter_token: str = "",
        force: str | None = None,
        explain: bool = False,
    ) -> AskOutcome:
        """The ask for this page and reader (as the page describes them; their audience comes
        from their token); `force` (`campaign:variant`) is an editor's preview, which skips
        the filters and is not counted as a view. Only the page's shortlist is tried, unless
        `explain` (debug mode) asks for every campaign's reason."""
        now = self.now()
        reader = self._reader(given, supporter_token, now)
        memory = self.memory
        campaigns = memory.catalogue.shortlists()
        specs = campaigns.ordered
        choice: Choice
        if force:
            choice = preview(specs, force, reader, now)
        else:
            tried = specs if explain else campaigns.for_page(page)
            choice = choose(tried, page, reader, now, memory.bandit.scores(specs, memory.gifts))
            if isinstance(choice, Ask):
                memory.impressions.record(choice.campaign.code, choice.variant.name)
        return self._outcome(choice, reader, self._copies_for(campaigns), preview=bool(force))

    def _reader(self, given: ReaderContext, supporter_token: str, now: datetime) -> ReaderContext:
        """The reader as the filters compare them: the country as a code, every time seen
        aware of its zone (UTC if the page gave none), the audience from their token. Most
        readers are that already and keep their context, which is not made again."""
        country = given.country.upper()[:2]
        audience = self.tokens.audience(supporter_token, now)
        naive = any(t.tzinfo is None for t in given.asks_seen)
        if country == given.country and audience == given.audience and not naive:
            return given
        return replace(
            given,
            country=country,
            asks_seen=tuple(t if t.tzinfo else t.replace(tzinfo=UTC) for t in given.asks_seen),
            audience=audience,
        )

    def _copies_for(self, campaigns: Shortlists) -> dict[CopyKey, AskCopy]:
        made_for, copies = self._copies
        if made_for is not campaigns or len(copies) >= MAX_COPIES:
            copies = {}
            self._copies = (campaigns, copies)
        return copies

    def _outcome(
        self,
        choice: Choice,
        reader: ReaderContext,
        copies: dict[CopyKey, AskCopy],
        preview: bool,
    ) -> AskOutcome:
        if isinstance(choice, Ask):
            return AskOutcome(
                kind="ask",
                reason="ask",
                rejections=choice.rejections,
                copy=self._copy(choice, reader, copies),
                campaign=choice.campaign.code,
                variant=choice.variant.name,
                preview=preview,
            )
        if isinstance(choice, Thanks):
            return AskOutcome(kind="thanks", reason="thanks", rejections=choice.rejections)
        assert isinstance(choice, NoAsk)
        return AskOutcome(kind="none", reason=choice.reason, rejections=choice.rejections)

    def _copy(self, ask: Ask, reader: ReaderContext, copies: dict[CopyKey, AskCopy]) -> AskCopy:
        """The variant's copy for this reader. Below the variant's `article_count_from`, copy
        that names the count is left out (a heading that names it gives way to the button's
        words): a count is an argument only once it is large."""
        variant = ask.variant
        shown = not reader.article_count_opt_out and (
            ask.article_count >= variant.article_count_from
        )
        count = ask.article_count if shown else None
        currency = currency_for(reader.country, self.default_currency)
        ticker = self._ticker(ask.campaign)
        key = (ask.campaign.code, variant.name, count, currency, ticker)
        copy = copies.get(key)
        if copy is None:
            copy = copies[key] = self._filled(variant, count, currency, ticker)
        return copy

    def _filled(
        self, variant: Variant, count: int | None, currency: str, ticker: TickerLine | None
    ) -> AskCopy:
        """The copy made once for every reader with the same key (`CopyKey`)."""
        shown = count is not None

        def fill(text: str) -> str:
            if ARTICLE_COUNT_PLACEHOLDER not in text:
                return text
            return text.replace(ARTICLE_COUNT_PLACEHOLDER, str(count)) if shown else ""

        return AskCopy(
            heading=fill(variant.heading) or variant.cta.text,
            paragraphs=tuple(p for p in map(fill, variant.paragraphs) if p),
            highlighted=fill(variant.highlighted),
            cta=variant.cta,
            secondary=variant.secondary,
            choices=self._choices(variant, currency),
            ticker=ticker,
            article_count=count,
        )

    def _choices(self, variant: Variant, wanted: str) -> Choices:
        """The variant's amounts in the reader's currency, else the default, else its first."""
        amounts = variant.amounts_for(wanted) or variant.amounts[0]
        return Choices(
            amounts=amounts,
            default_frequency=variant.default_frequency,
            minimum=self.rules.minimum(amounts.currency),
            maximum=self.rules.maximum(amounts.currency),
            fee_rate_bp=self.rules.fee_rate_bp,
            fee_fixed_minor=self.rules.fixed_fee(amounts.currency),
        )

    def _ticker(self, spec: CampaignSpec) -> TickerLine | None:
        """The money raised against the goal, once it is past `ticker_from_bp` of it: "$0 of
        $25,000 raised" tells a reader that nobody gives."""
        if spec.goal is None:
            return None
        ticker = TickerLine(spec.goal, self.memory.raised.raised(spec.code, spec.goal.currency))
        return ticker if ticker.reaches(self.ticker_from_bp) else None
