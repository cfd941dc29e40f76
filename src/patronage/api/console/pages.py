"""Rendering console pages: one Jinja environment, the signed-in user, the CSRF token."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, ParamSpec, TypeVar
from urllib.parse import urlencode

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from patronage.api.console.charts import bar_chart
from patronage.api.console.session import (
    CSRF_COOKIE,
    AdminUser,
    ConsoleRefusedError,
    ConsoleUser,
    EditorUser,
    FinanceUser,
    csrf_cookie_value,
    set_cookie,
    signer,
)
from patronage.api.page_templates import page_templates
from patronage.domain.errors import DomainError
from patronage.domain.money import Money

P = ParamSpec("P")
T = TypeVar("T")
CSRF_COOKIE_SECONDS = 7 * 24 * 3600
# What a form's action may refuse with; the page shows the reason. ValueError covers pydantic's
# ValidationError and LookupError an unknown id.
REFUSED = (HTTPException, DomainError, ValueError, LookupError)


def money(minor: int | None, currency: str | None) -> str:
    """Minor units as the console shows them: "1,234.50 USD"."""
    if minor is None or not currency:
        return "—"
    text = Money(int(minor), currency).decimal_text()
    units, _, fraction = text.partition(".")
    sign = "-" if units.startswith("-") else ""
    grouped = f"{int(units.lstrip('-')):,}"
    return f"{sign}{grouped}{'.' + fraction if fraction else ''} {currency}"


def when(value: object) -> str:
    """An ISO timestamp as "2026-05-01 14:03 UTC" (dates stay dates)."""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value or "")
    if len(text) <= 10:
        return text or "—"
    return f"{text[:10]} {text[11:16]} UTC"


def age(seconds: int) -> str:
    """How long something has waited, in its two largest units: "3 d 4 h", "12 min 5 s"."""
    parts: list[str] = []
    left = max(int(seconds), 0)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        if left >= size or (unit == "s" and not parts):
            parts.append(f"{left // size} {unit}")
            left %= size
    return " ".join(parts[:2])


_env = page_templates("console")
_env.filters["money"] = money
_env.filters["when"] = when
_env.filters["age"] = age
_env.filters["major"] = lambda minor, currency: Money(int(minor), currency).decimal_text()
_env.globals["bar_chart"] = bar_chart


@dataclass(frozen=True)
class NavItem:
    href: str
    label: str
    role: str


# The console's sections by the role they need, in the menu's order.
_SECTIONS = {
    "finance": (
        ("/console/supporters", "Supporters"),
        ("/console/gifts", "Gifts"),
        ("/console/totals", "Totals"),
        ("/console/receipts", "Receipts"),
        ("/console/inbox", "Stripe inbox"),
        ("/console/reviews", "Held for review"),
        ("/console/exports", "Exports"),
    ),
    "editor": (("/console/campaigns", "Campaigns"),),
    "admin": (
        ("/console/staff", "Staff"),
        ("/console/tokens", "API tokens"),
        ("/console/audit", "Audit"),
        ("/console/settings", "Settings"),
    ),
}
NAV = tuple(
    NavItem(href, label, role) for role, sections in _SECTIONS.items() for href, label in sections
)


def render(
    request: Request,
    template: str,
    user: ConsoleUser | None,
    *,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A page, with the CSRF token its forms need (and the cookie it derives from)."""
    cookie, is_new = csrf_cookie_value(request)
    page = _env.get_template(template).render(
        user=user,
        nav=[item for item in NAV if user is not None and user.may(item.role)],
        path=request.url.path,
        csrf_token=signer(request).csrf_token(cookie),
        **context,
    )
    response = HTMLResponse(page, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    if is_new:
        set_cookie(request, response, CSRF_COOKIE, cookie, CSRF_COOKIE_SECONDS)
    return response


@dataclass(frozen=True)
class Page:
    """A console page asked for: by whom, and what the form that led here did (`back_to`)."""

    request: Request
    user: ConsoleUser
    notice: str = ""
    error: str = ""

    def render(self, template: str, **context: Any) -> HTMLResponse:
        return render(
            self.request, template, self.user, notice=self.notice, error=self.error, **context
        )


def _finance_page(request: Request, user: FinanceUser, notice: str = "", error: str = "") -> Page:
    return Page(request, user, notice, error)


def _editor_page(request: Request, user: EditorUser, notice: str = "", error: str = "") -> Page:
    return Page(request, user, notice, error)


def _admin_page(request: Request, user: AdminUser, notice: str = "", error: str = "") -> Page:
    return Page(request, user, notice, error)


FinancePage = Annotated[Page, Depends(_finance_page)]
EditorPage = Annotated[Page, Depends(_editor_page)]
AdminPage = Annotated[Page, Depends(_admin_page)]


def _before(before: int | None = None) -> int | None:
    return before if before and before > 0 else None


# A list page's cursor: the entries before this position (none, or one below 1: the newest).
Before = Annotated[int | None, Depends(_before)]


def reason(error: Exception) -> str:
    """Why a change was refused, in one line for the page."""
    if isinstance(error, HTTPException):
        return str(error.detail)
    if isinstance(error, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'form'}: {e['msg']}" for e in error.errors()
        )
    return str(error) or type(error).__name__


def found_or_404(lookup: Callable[[], T], message: str) -> T:
    """What `lookup` finds, or the console's 404 page saying `message`."""
    try:
        return lookup()
    except LookupError:
        raise ConsoleRefusedError(404, message) from None


def back_to(page: str, *, notice: str = "", error: str = "") -> RedirectResponse:
    """After a form (post, redirect, get): back to the page, with what happened for it to show."""
    query = urlencode({"notice": notice} if notice else {"error": error})
    return RedirectResponse(f"{page}?{query}", status_code=303)


def after_form(page: str, act: Callable[[], str]) -> RedirectResponse:
    """Do what a form asks: back to the page saying what was done, or why it was refused."""
    try:
        notice = act()
    except REFUSED as refused:
        return back_to(page, error=reason(refused))
    return back_to(page, notice=notice)


def form_action(page: str) -> Callable[[Callable[P, str]], Callable[P, RedirectResponse]]:
    """A form's route from a function that does what the form asks and returns what it did:
    back to the page with that notice, or with why it was refused (as `after_form`)."""

    def route(act: Callable[P, str]) -> Callable[P, RedirectResponse]:
        # `wraps` lets FastAPI read the route's parameters (user, form, path ids) from `act`.
        @functools.wraps(act)
        def handler(*args: P.args, **kwargs: P.kwargs) -> RedirectResponse:
            return after_form(page, lambda: act(*args, **kwargs))

        return handler

    return route
