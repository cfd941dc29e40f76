"""Console for editors: campaigns, their copy, variants, targeting and schedule, running
them, previewing a variant, and each variant's results."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from patronage.api.campaigns import (
    CampaignIn,
    NewCampaignIn,
    VariantIn,
    run,
    variant_results,
)
from patronage.api.console.charts import bar_chart
from patronage.api.console.pages import REFUSED, EditorPage, after_form, back_to, reason
from patronage.api.console.session import (
    ConsoleRefusedError,
    EditorForm,
    text,
)
from patronage.api.deps import PatronageDep
from patronage.bootstrap import Patronage
from patronage.domain.campaign import ARTICLE_COUNT_FROM, CampaignSpec
from patronage.domain.money import Money, normalise_currency

router = APIRouter(prefix="/console/campaigns", include_in_schema=False)


def _spec(patronage: Patronage, code: str) -> CampaignSpec:
    spec = patronage.campaigns.catalogue.get(code)
    if spec is None:
        raise ConsoleRefusedError(404, f"No campaign {code!r}.")
    return spec


def _page(code: str) -> str:
    return f"/console/campaigns/{quote(code)}"


def _attempt(code: str, done: str, command: Callable[[], object]) -> RedirectResponse:
    """Run a change; back to the campaign page saying it was done, or why not."""

    def act() -> str:
        command()
        return done

    return after_form(_page(code), act)


def _amounts(form: FormData, name: str, currency: str) -> list[int]:
    """Amounts typed as decimals ("5, 10, 25.50") in minor units, parsed strictly."""
    return [Money.parse(part.strip(), currency).minor for part in text(form, name).split(",")
            if part.strip()]  # fmt: skip


def _default(form: FormData, name: str, currency: str, amounts: list[int]) -> int:
    typed = text(form, name)
    if typed:
        return Money.parse(typed, currency).minor
    if not amounts:
        raise ValueError(f"{name.replace('_', ' ')}: give the suggested amounts first")
    return amounts[0]


def variant_from(form: FormData) -> VariantIn:
    """A variant from the copy form: paragraphs are separated by blank lines; amounts are
    typed in major units and kept in minor units."""
    paragraphs = [p.strip() for p in text(form, "paragraphs", 4000).split("\n\n") if p.strip()]
    currency = normalise_currency(text(form, "currency", 3) or "USD")
    one_time, monthly = _amounts(form, "one_time", currency), _amounts(form, "monthly", currency)
    return VariantIn.model_validate(
        {
            "name": text(form, "name", 60),
            "heading": text(form, "heading", 200),
            "paragraphs": paragraphs,
            "highlighted": text(form, "highlighted", 300),
            "cta": {"text": text(form, "cta_text", 80), "url": text(form, "cta_url", 300)},
            "amounts": [
                {
                    "currency": currency,
                    "one_time": one_time,
                    "monthly": monthly,
                    "default_one_time": _default(form, "default_one_time", currency, one_time),
                    "default_monthly": _default(form, "default_monthly", currency, monthly),
                }
            ],
            "default_frequency": text(form, "default_frequency", 20) or "monthly",
            "article_count_from": text(form, "article_count_from", 4) or ARTICLE_COUNT_FROM,
        }
    )


def _targeting(form: FormData) -> dict[str, Any]:
    raw = text(form, "targeting", 4000) or "{}"
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError("targeting must be a JSON object")
    return value


def settings_from(form: FormData, code: str) -> CampaignIn:
    goal_amount = text(form, "goal_amount", 20)
    return CampaignIn.model_validate(
        {
            "code": code,
            "name": text(form, "campaign_name", 200),
            "priority": int(text(form, "priority") or 0),
            "targeting": _targeting(form),
            "goal": {"amount": goal_amount, "currency": text(form, "goal_currency", 3).upper()}
            if goal_amount
            else None,
        }
    )


@router.get("", response_class=HTMLResponse)
def campaigns(page: EditorPage, patronage: PatronageDep) -> Response:
    return page.render("campaigns.html", specs=patronage.campaigns.catalogue.specs())


@router.post("")
def create(posted: EditorForm, patronage: PatronageDep) -> Response:
    code = posted.text("code", 60)
    try:
        body = NewCampaignIn.model_validate(
            {
                **settings_from(posted.form, code).model_dump(),
                "variants": [variant_from(posted.form)],
            }
        )
        with patronage.audit.action(posted.actor, "campaign.created", code):
            run(
                lambda: patronage.campaigns.create(
                    body.to_settings(), [v.to_domain() for v in body.variants], by=posted.actor
                )
            )
    except REFUSED as refused:
        return back_to("/console/campaigns", error=reason(refused))
    return back_to(_page(code), notice="Campaign created as a draft.")


@router.get("/{code}", response_class=HTMLResponse)
def campaign(page: EditorPage, patronage: PatronageDep, code: str) -> Response:
    spec = _spec(patronage, code)
    results = variant_results(patronage, spec)
    if any(r.views for r in results):
        chart = bar_chart(
            "Conversion by variant (gifts per 10,000 views)",
            [(r.variant, r.conversion_bp or 0, f"{r.conversion_bp or 0}") for r in results],
        )
    else:  # before the first counted view, the gifts alone
        chart = bar_chart("Gifts by variant", [(r.variant, r.gifts, str(r.gifts)) for r in results])
    return page.render(
        "campaign.html", spec=spec, results=results, results_chart=chart,
        history=run(lambda: patronage.campaigns.history(code)),
        targeting=json.dumps(spec.targeting.as_dict(), indent=2),
    )  # fmt: skip


@router.post("/{code}/settings")
def change_settings(posted: EditorForm, patronage: PatronageDep, code: str) -> Response:
    _spec(patronage, code)

    def command() -> None:
        body = settings_from(posted.form, code)
        with patronage.audit.action(posted.actor, "campaign.retargeted", code):
            run(lambda: patronage.campaigns.retarget(body.to_settings(), by=posted.actor))

    return _attempt(code, "Settings saved.", command)


@router.post("/{code}/variants")
def save_variant(posted: EditorForm, patronage: PatronageDep, code: str) -> Response:
    """Add a variant, or edit the copy of one with the same name."""
    spec = _spec(patronage, code)

    def command() -> None:
        variant = variant_from(posted.form).to_domain()
        exists = any(v.name == variant.name for v in spec.variants)
        action = "campaign.copy_edited" if exists else "campaign.variant_added"
        with patronage.audit.action(posted.actor, action, code, {"variant": variant.name}):
            if exists:
                run(lambda: patronage.campaigns.edit_copy(code, variant, by=posted.actor))
            else:
                run(lambda: patronage.campaigns.add_variant(code, variant, by=posted.actor))

    return _attempt(code, "Variant saved.", command)


@router.post("/{code}/variants/{name}/retire")
def retire(posted: EditorForm, patronage: PatronageDep, code: str, name: str) -> Response:
    _spec(patronage, code)

    def command() -> None:
        retired = {"variant": name}
        with patronage.audit.action(posted.actor, "campaign.variant_retired", code, retired):
            run(lambda: patronage.campaigns.retire_variant(code, name, by=posted.actor))

    return _attempt(code, f"Variant {name} retired.", command)


def _moment(form: FormData, name: str) -> datetime | None:
    value = text(form, name, 40)
    return datetime.fromisoformat(value).replace(tzinfo=UTC) if value else None


@router.post("/{code}/schedule")
def schedule(posted: EditorForm, patronage: PatronageDep, code: str) -> Response:
    _spec(patronage, code)

    def command() -> None:
        starts, ends = _moment(posted.form, "starts_at"), _moment(posted.form, "ends_at")
        with patronage.audit.action(posted.actor, "campaign.scheduled", code):
            run(lambda: patronage.campaigns.schedule(code, starts, ends, by=posted.actor))

    return _attempt(code, "Schedule saved.", command)


STEPS = {
    "start": ("campaign.started", "Campaign started."),
    "pause": ("campaign.paused", "Campaign paused."),
    "end": ("campaign.ended", "Campaign ended."),
}


@router.post("/{code}/{step}")
def lifecycle(posted: EditorForm, patronage: PatronageDep, code: str, step: str) -> Response:
    """Start, pause or end the campaign."""
    _spec(patronage, code)
    if step not in STEPS:
        raise ConsoleRefusedError(404, f"No such step {step!r}.")

    def command() -> None:
        with patronage.audit.action(posted.actor, STEPS[step][0], code):
            run(lambda: getattr(patronage.campaigns, step)(code, by=posted.actor))

    return _attempt(code, STEPS[step][1], command)
