"""`POST /asks`: the article page's question "what should this reader see at the end?".

Answered from memory: campaigns from the in-process catalogue, supporter status from the
signed token. The only writes are batched view counts.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from patronage.api.amounts import AmountOut
from patronage.api.deps import PatronageDep
from patronage.api.metrics import MetricsDep
from patronage.asks.currency import currency_for
from patronage.asks.selection import (
    Ask,
    Choice,
    NoAsk,
    PageContext,
    ReaderContext,
    Thanks,
    WeeklyCount,
    choose,
    preview,
)
from patronage.bootstrap import Patronage
from patronage.domain.campaign import ARTICLE_COUNT_PLACEHOLDER, CampaignSpec, Frequency, Variant
from patronage.domain.money import Money

router = APIRouter(tags=["asks"])

Short = Annotated[str, Field(max_length=200)]


class PageIn(BaseModel):
    article_id: Short
    url: Annotated[str, Field(max_length=2000)] = ""
    section: Short = ""
    tags: Annotated[list[Short], Field(max_length=50)] = []
    paid: bool = False
    sensitive: bool = False
    hidden: bool = False


class WeekIn(BaseModel):
    week_start: date
    count: Annotated[int, Field(ge=0, le=10_000)]


class ReaderIn(BaseModel):
    reader_id: Annotated[str, Field(max_length=64)] = ""
    country: Annotated[str, Field(max_length=2)] = ""
    weekly_counts: Annotated[list[WeekIn], Field(max_length=60)] = []
    asks_seen: Annotated[list[datetime], Field(max_length=100)] = []
    supporter_token: Annotated[str, Field(max_length=1024)] = ""
    device: Literal["mobile", "tablet", "desktop", ""] = ""
    signed_in: bool = False
    article_count_opt_out: bool = False


class AskRequest(BaseModel):
    page: PageIn
    reader: ReaderIn


class ActionOut(BaseModel):
    text: str
    url: str


class ChoicesOut(BaseModel):
    currency: str
    one_time: list[AmountOut]
    monthly: list[AmountOut]
    default_one_time: AmountOut
    default_monthly: AmountOut
    default_frequency: Frequency
    minimum: AmountOut
    maximum: AmountOut


class TickerOut(BaseModel):
    goal: AmountOut
    raised: AmountOut


class AskContent(BaseModel):
    heading: str
    paragraphs: list[str]
    highlighted: str
    cta: ActionOut
    secondary: ActionOut | None
    choices: ChoicesOut
    ticker: TickerOut | None
    article_count: int | None


class Tracking(BaseModel):
    campaign: str
    variant: str
    article_id: str


class Rejected(BaseModel):
    campaign: str
    reason: str


class AskAnswer(BaseModel):
    kind: Literal["ask", "thanks", "none"]
    ask: AskContent | None = None
    tracking: Tracking | None = None
    reason: str | None = Field(default=None, description="Only with ?debug=true")
    rejections: list[Rejected] | None = Field(default=None, description="Only with ?debug=true")


def reader_context(
    body: ReaderIn, country: str, patronage: Patronage, now: datetime
) -> ReaderContext:
    return ReaderContext(
        reader_id=body.reader_id,
        country=country.upper()[:2],
        weekly_counts=tuple(WeeklyCount(w.week_start, w.count) for w in body.weekly_counts),
        asks_seen=tuple(
            t if t.tzinfo is not None else t.replace(tzinfo=UTC) for t in body.asks_seen
        ),
        audience=patronage.tokens.audience(body.supporter_token, now),
        device=body.device,
        signed_in=body.signed_in,
        article_count_opt_out=body.article_count_opt_out,
    )


def _choices(variant: Variant, country: str, patronage: Patronage) -> ChoicesOut:
    settings, rules = patronage.settings, patronage.checkout.rules
    wanted = currency_for(country, settings.default_currency)
    amounts = variant.amounts_for(wanted) or variant.amounts[0]
    currency = amounts.currency

    def money(minor: int) -> AmountOut:
        return AmountOut.of(Money(minor, currency))

    return ChoicesOut(
        currency=currency,
        one_time=[money(m) for m in amounts.one_time],
        monthly=[money(m) for m in amounts.monthly],
        default_one_time=money(amounts.default_one_time),
        default_monthly=money(amounts.default_monthly),
        default_frequency=variant.default_frequency,
        minimum=AmountOut.of(rules.minimum(currency)),
        maximum=AmountOut.of(rules.maximum(currency)),
    )


def _ticker(spec: CampaignSpec, patronage: Patronage) -> TickerOut | None:
    if spec.goal is None:
        return None
    raised = patronage.campaign_results.raised(spec.code, spec.goal.currency)
    return TickerOut(goal=AmountOut.of(spec.goal), raised=AmountOut.of(raised))


def render(ask: Ask, reader: ReaderContext, patronage: Patronage) -> AskContent:
    count = None if reader.article_count_opt_out else ask.article_count
    shown = str(count or 0)

    def fill(text: str) -> str:
        return text.replace(ARTICLE_COUNT_PLACEHOLDER, shown)

    variant = ask.variant
    return AskContent(
        heading=fill(variant.heading),
        paragraphs=[fill(p) for p in variant.paragraphs],
        highlighted=fill(variant.highlighted),
        cta=ActionOut(text=variant.cta.text, url=variant.cta.url),
        secondary=None
        if variant.secondary is None
        else ActionOut(text=variant.secondary.text, url=variant.secondary.url),
        choices=_choices(variant, reader.country, patronage),
        ticker=_ticker(ask.campaign, patronage),
        article_count=count,
    )


def answer(choice: Choice, page: PageIn, reader: ReaderContext, patronage: Patronage) -> AskAnswer:
    if isinstance(choice, Ask):
        return AskAnswer(
            kind="ask",
            ask=render(choice, reader, patronage),
            tracking=Tracking(
                campaign=choice.campaign.code,
                variant=choice.variant.name,
                article_id=page.article_id,
            ),
        )
    return AskAnswer(kind="thanks" if isinstance(choice, Thanks) else "none")


@router.post("/asks")
def ask(
    body: AskRequest,
    request: Request,
    patronage: PatronageDep,
    metrics: MetricsDep,
    force: Annotated[
        str | None,
        Query(max_length=200, description="campaign:variant, for an editor's preview"),
    ] = None,
    debug: Annotated[bool, Query(description="Say why each campaign was not chosen")] = False,
) -> AskAnswer:
    now = datetime.now(UTC)
    header = patronage.settings.asks_country_header
    country = body.reader.country or (request.headers.get(header, "") if header else "")
    reader = reader_context(body.reader, country, patronage, now)
    specs = patronage.campaigns.catalogue.specs()
    choice: Choice
    if force:
        choice = preview(specs, force, reader, now)
    else:
        page = body.page
        choice = choose(
            specs,
            PageContext(
                article_id=page.article_id,
                url=page.url,
                section=page.section,
                tags=tuple(page.tags),
                paid=page.paid,
                sensitive=page.sensitive,
                hidden=page.hidden,
            ),
            reader,
            now,
            patronage.bandit.scores(specs, patronage.campaign_results),
        )
        if isinstance(choice, Ask):
            # Previews are not views: only count what readers were served.
            patronage.impressions.record(choice.campaign.code, choice.variant.name)
            metrics.asks_served.labels(choice.campaign.code, choice.variant.name).inc()
    result = answer(choice, body.page, reader, patronage)
    if debug:
        result.reason = choice.reason if isinstance(choice, NoAsk) else result.kind
        result.rejections = [
            Rejected(campaign=r.campaign, reason=r.reason) for r in choice.rejections
        ]
    return result
