"""`POST /asks`: the article page's question "what should this reader see at the end?".

HTTP in and out only; the answer is the ask service's (application/asks.py).
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field, TypeAdapter
from pydantic_core import to_json
from starlette.datastructures import Headers, State

from patronage.api.amounts import MoneyOut
from patronage.api.inputs import NoControlCharacters
from patronage.api.metrics import Metrics
from patronage.application.asks import AskCopy, AskOutcome, TickerLine
from patronage.asks.selection import PageContext, ReaderContext, WeeklyCount
from patronage.bootstrap import Patronage
from patronage.config import Settings
from patronage.domain.campaign import Action, Frequency

router = APIRouter(tags=["asks"])

Short = Annotated[str, Field(max_length=200), NoControlCharacters]


class PageIn(BaseModel):
    article_id: Short
    url: Annotated[str, Field(max_length=2000), NoControlCharacters] = ""
    section: Short = ""
    tags: Annotated[tuple[Short, ...], Field(max_length=50)] = ()
    paid: bool = False
    sensitive: bool = False
    hidden: bool = False


class WeekIn(BaseModel):
    week_start: date
    count: Annotated[int, Field(ge=0, le=10_000)]


class ReaderIn(BaseModel):
    reader_id: Annotated[str, Field(max_length=64), NoControlCharacters] = ""
    country: Annotated[str, Field(max_length=2), NoControlCharacters] = ""
    weekly_counts: Annotated[tuple[WeekIn, ...], Field(max_length=60)] = ()
    asks_seen: Annotated[tuple[datetime, ...], Field(max_length=100)] = ()
    supporter_token: Annotated[str, Field(max_length=1024), NoControlCharacters] = ""
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
    one_time: list[MoneyOut]
    monthly: list[MoneyOut]
    default_one_time: MoneyOut
    default_monthly: MoneyOut
    default_frequency: Frequency
    minimum: MoneyOut
    maximum: MoneyOut
    fee_rate_bp: int = Field(description="Card fee rate, basis points (220 = 2.2%)")
    fee_fixed_minor: int = Field(
        description="Fixed card fee, minor units; the fee to cover an amount is "
        "ceil((amount + fixed) * 10000 / (10000 - rate)) - amount, as POST /checkout/quote"
    )


class TickerOut(BaseModel):
    goal: MoneyOut
    raised: MoneyOut


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


class StripeOut(BaseModel):
    """What the ask's second step needs to take the card in a Stripe element."""

    publishable_key: str
    js_url: str = Field(description="Stripe.js, loaded only when the reader reaches the card")


class AskAnswer(BaseModel):
    kind: Literal["ask", "thanks", "none"]
    ask: AskContent | None = None
    tracking: Tracking | None = None
    preview: bool = Field(default=False, description="An editor's forced preview (?force=)")
    stripe: StripeOut | None = Field(default=None, description="None without a publishable key")
    captcha_required: bool = Field(
        default=False,
        description="With an ask: POST /checkout needs a `captcha_token` "
        "(PATRONAGE_CAPTCHA_VERIFY_URL is set); the embed asks the page's "
        "window.patronageCaptcha() for it",
    )
    reason: str | None = Field(default=None, description="Only with ?debug=true")
    rejections: list[Rejected] | None = Field(default=None, description="Only with ?debug=true")


def _action(action: Action | None) -> ActionOut | None:
    return None if action is None else ActionOut(text=action.text, url=action.url)


def _ticker(ticker: TickerLine | None) -> TickerOut | None:
    if ticker is None:
        return None
    return TickerOut(goal=MoneyOut.of(ticker.goal), raised=MoneyOut.of(ticker.raised))


@lru_cache(maxsize=4)
def _stripe(key: str, js_url: str) -> StripeOut | None:
    return StripeOut(publishable_key=key, js_url=js_url) if key else None


# One copy object serves many readers (application/asks.py hands out the same object for
# the same variant, currency, ticker reading and article count): its answer is built once,
# keyed by the object itself. The answers are only serialised, never changed.
@lru_cache(maxsize=4096)
def _content(copy: AskCopy) -> AskContent:
    choices, amounts = copy.choices, copy.choices.amounts

    def money(minor: int) -> MoneyOut:
        return MoneyOut.of(minor, amounts.currency)

    return AskContent(
        heading=copy.heading,
        paragraphs=list(copy.paragraphs),
        highlighted=copy.highlighted,
        cta=ActionOut(text=copy.cta.text, url=copy.cta.url),
        secondary=_action(copy.secondary),
        choices=ChoicesOut(
            currency=amounts.currency,
            one_time=[money(m) for m in amounts.one_time],
            monthly=[money(m) for m in amounts.monthly],
            default_one_time=money(amounts.default_one_time),
            default_monthly=money(amounts.default_monthly),
            default_frequency=choices.default_frequency,
            minimum=MoneyOut.of(choices.minimum),
            maximum=MoneyOut.of(choices.maximum),
            fee_rate_bp=choices.fee_rate_bp,
            fee_fixed_minor=choices.fee_fixed_minor,
        ),
        ticker=_ticker(copy.ticker),
        article_count=copy.article_count,
    )


@router.post("/asks")
async def ask(
    body: AskRequest,
    request: Request,
    force: Annotated[
        str | None,
        Query(max_length=200, description="campaign:variant, for an editor's preview"),
    ] = None,
    debug: Annotated[bool, Query(description="Say why each campaign was not chosen")] = False,
) -> AskAnswer:
    return answer_of(body, request.app.state, request.headers, force, debug)


def answer_of(
    body: AskRequest, state: State, headers: Headers, force: str | None, debug: bool
) -> AskAnswer:
    """The answer to one ask, as the documented route gives it (the quick route in
    api/ask_route.py writes the same answer with `answer_json`)."""
    outcome = _outcome_of(body, state, headers, force, debug)
    return _answer(outcome, body.page.article_id, state.patronage.settings, debug)


def answer_json(body: AskRequest, state: State, headers: Headers) -> bytes:
    """`answer_of(body, state, headers, None, False)` as JSON, byte for byte, for the quick
    route: an ask's answer is its copy's framing (made once per copy) around the one part
    that is the reader's own, the article id in its tracking; neither the answer's models
    nor most of its serialisation are made again for every reader of a copy."""
    outcome = _outcome_of(body, state, headers, None, False)
    settings, article_id = state.patronage.settings, body.page.article_id
    if outcome.copy is None:
        return ANSWER.dump_json(_answer(outcome, article_id, settings, False))
    head, tail = _framing(
        outcome.copy,
        outcome.campaign,
        outcome.variant,
        settings.stripe_publishable_key,
        settings.stripe_js_url,
        settings.captcha_verify_url is not None,
    )
    return head + to_json(article_id) + tail


def _outcome_of(
    body: AskRequest, state: State, headers: Headers, force: str | None, debug: bool
) -> AskOutcome:
    # The wiring straight from the app's state: the hottest route skips dependency solving.
    patronage: Patronage = state.patronage
    metrics: Metrics = state.metrics
    header = patronage.settings.asks_country_header
    page, reader = body.page, body.reader
    outcome = patronage.asks.answer(
        PageContext(
            article_id=page.article_id,
            url=page.url,
            section=page.section,
            tags=page.tags,
            paid=page.paid,
            sensitive=page.sensitive,
            hidden=page.hidden,
        ),
        ReaderContext(
            reader_id=reader.reader_id,
            country=reader.country or (headers.get(header, "") if header else ""),
            weekly_counts=tuple(WeeklyCount(w.week_start, w.count) for w in reader.weekly_counts),
            asks_seen=reader.asks_seen,
            device=reader.device,
            signed_in=reader.signed_in,
            article_count_opt_out=reader.article_count_opt_out,
        ),
        reader.supporter_token,
        force,
        explain=debug,
    )
    if outcome.kind == "ask" and not force:  # previews are not views
        metrics.ask_served(outcome.campaign, outcome.variant)
    return outcome


def _answer(outcome: AskOutcome, article_id: str, settings: Settings, debug: bool) -> AskAnswer:
    copy = outcome.copy
    return AskAnswer(
        kind=outcome.kind,
        preview=outcome.preview,
        ask=None if copy is None else _content(copy),
        tracking=None if copy is None else _tracking(outcome, article_id),
        stripe=None
        if copy is None
        else _stripe(settings.stripe_publishable_key, settings.stripe_js_url),
        captcha_required=copy is not None and settings.captcha_verify_url is not None,
        reason=outcome.reason if debug else None,
        rejections=[Rejected(campaign=r.campaign, reason=r.reason) for r in outcome.rejections]
        if debug
        else None,
    )


def _tracking(outcome: AskOutcome, article_id: str) -> Tracking:
    return Tracking(campaign=outcome.campaign, variant=outcome.variant, article_id=article_id)


ANSWER = TypeAdapter(AskAnswer)
_TRACKING = TypeAdapter(Tracking)


@lru_cache(maxsize=4096)
def _framing(
    copy: AskCopy, campaign: str, variant: str, publishable_key: str, js_url: str, captcha: bool
) -> tuple[bytes, bytes]:
    """An ask's answer for `copy` (shown as `campaign`'s `variant`) as JSON before and after
    its article id (keyed by the copy object, as `_content`)."""
    tracking = Tracking(campaign=campaign, variant=variant, article_id="")
    answer = AskAnswer(
        kind="ask",
        ask=_content(copy),
        tracking=tracking,
        stripe=_stripe(publishable_key, js_url),
        captcha_required=captcha,
    )
    # The tracking's JSON, an object with its keys, appears once in the answer: within the
    # copy's strings every quote is escaped, and no other object of an answer has these
    # keys. It ends with the article id, the last key's value: "" here.
    mark = _TRACKING.dump_json(tracking)
    head, tail = ANSWER.dump_json(answer).split(mark)
    return head + mark.removesuffix(b'""}'), b"}" + tail
