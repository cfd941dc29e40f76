"""Rendering the supporter pages: their own templates and stylesheet, the form token."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from patronage.api.console.pages import money
from patronage.api.headers import PAGE_POLICY
from patronage.api.my.session import SESSION_COOKIE, keys
from patronage.api.page_templates import page_templates

# The card form goes on to Stripe's hosted customer portal: allow that one more form target.
POLICY = PAGE_POLICY.replace("form-action 'self'", "form-action 'self' https://billing.stripe.com")

_env = page_templates("my")
_env.filters["money"] = money


def _day(value: object, zone: tzinfo) -> str:
    """A moment or an ISO text as the date the organisation's calendar showed: "3 May 2026"."""
    if isinstance(value, str):
        value = (
            datetime.fromisoformat(value)
            if len(value) > 10
            else datetime.fromisoformat(value + "T12:00:00+00:00")
        )
    if not isinstance(value, datetime):
        return "—"
    local = value.astimezone(zone)
    return f"{local.day} {local:%b %Y}"


def render(
    request: Request, template: str, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    patronage = request.app.state.patronage
    zone = patronage.settings.zone
    page = _env.get_template(template).render(
        form_token=keys(request).form_token(request.cookies.get(SESSION_COOKIE, "")),
        organisation=patronage.settings.org_name,
        day=lambda value: _day(value, zone),
        **context,
    )
    response = HTMLResponse(page, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = POLICY
    return response
